/**
 * Shims left in containerd-ts-shims.scope without a task: at start-up, after
 * the tasks were recovered, every process of that scope whose working
 * directory (a shim works in its bundle, a group's shim in the group's
 * directory) is not one a recovered task owns is killed. Such a shim serves
 * a container whose record is gone; nothing would ever talk to it again.
 * Standby shims work in `/` and are left alone: one a previous daemon
 * started exits by itself when that daemon's end of its pipe or socket
 * closes.
 */
import { readlinkSync } from 'node:fs';
import type { Systemd } from '../../systemd/systemd.js';
import type { Logger } from '../logger.js';
import { SHIMS_SCOPE } from './shim-scope.js';

export interface StrayShimDeps {
  systemd: Systemd;
  log: Logger;
  /** A process's working directory ('' when it is gone); /proc by default. */
  cwdOf?: (pid: number) => string;
  /** Sends SIGKILL; process.kill by default. */
  kill?: (pid: number) => void;
}

/** Kills the shims no recovered task owns; returns their pids. Never throws. */
export async function killStrayShims(d: StrayShimDeps, ownedHomes: ReadonlySet<string>): Promise<number[]> {
  const cwdOf = d.cwdOf ?? procCwd;
  const kill = d.kill ?? ((pid: number) => process.kill(pid, 'SIGKILL'));
  const processes = await d.systemd.unitProcesses(SHIMS_SCOPE).catch(() => []);
  const killed: number[] = [];
  for (const { pid, cmdline } of processes) {
    const cwd = cwdOf(pid);
    if (cwd === '' || cwd === '/' || ownedHomes.has(cwd)) continue;
    d.log.warn('killing a shim no task owns', { pid, cwd, cmdline });
    try {
      kill(pid);
      killed.push(pid);
    } catch (err) {
      d.log.warn('could not kill a stray shim', { pid, error: (err as Error).message });
    }
  }
  return killed;
}

function procCwd(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return '';
  }
}
