/**
 * Scopes left behind without a task: at start-up the daemon lists
 * `containerd-*.scope` (container scopes, runc's naming) and
 * `containerd-ts-shim-*.scope` / `containerd-ts-shimgroup-*.scope` (its shims' scopes) and compares them with
 * the tasks it recovered. What is provably its own is stopped, the rest is
 * only reported: `containerd-<id>.scope` is also the name containerd itself
 * gives containers run with the systemd cgroup driver, and a runtime must not
 * kill another runtime's containers because the names look alike.
 *
 * Provably ours: a shim scope (the `containerd-ts-shim` prefix is ours
 * alone: containerd-ts refuses container ids starting `ts-shim`, whose
 * scope would carry it; another containerd's container with such an id
 * would still look like ours), or a container scope whose machine machined lists as registered by
 * containerd-ts for that unit, or whose container runc still knows under our
 * runc root.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Machined } from '../../systemd/machined.js';
import type { Systemd } from '../../systemd/systemd.js';
import type { Logger } from '../logger.js';

/** The machined service name our containers are registered under. */
export const MACHINE_SERVICE = 'containerd-ts';
export const CONTAINER_SCOPE_PATTERN = 'containerd-*.scope';
/** Shim scopes (`containerd-ts-shim-<ns>-<id>`) and shim group scopes (`containerd-ts-shimgroup-<ns>-<group>`). */
export const SHIM_SCOPE_PREFIX = 'containerd-ts-shim';

export interface StrayUnitDeps {
  systemd: Systemd;
  machined: Machined;
  log: Logger;
  /** The daemon's state dir (`<state>/runc/<namespace>/<id>` is runc's state of our containers). */
  stateDir: string;
  /** Kills and removes a container runc knows in `namespace` (runc delete --force). */
  runcDelete(namespace: string, id: string): Promise<void>;
}

/** What start-up found: units stopped (ours) and units left alone (not provably ours). */
export interface StrayUnits {
  stopped: string[];
  reported: string[];
}

/**
 * Stops the scopes no task owns that are provably ours and reports the
 * others. `owned` holds every unit name the recovered tasks use (container
 * and shim scopes). Never throws: a failure is logged and the unit reported.
 */
export async function cleanStrayUnits(d: StrayUnitDeps, owned: ReadonlySet<string>): Promise<StrayUnits> {
  const result: StrayUnits = { stopped: [], reported: [] };
  const units = await d.systemd.listUnitsByPattern([CONTAINER_SCOPE_PATTERN]).catch((err: unknown) => {
    d.log.warn('cannot list container scopes; stray units not checked', { error: (err as Error).message });
    return [];
  });
  const strays = units.filter((u) => !owned.has(u.name) && u.activeState !== 'inactive' && u.activeState !== 'failed');
  // Containers first (runc kills them), then the shims that supervised them.
  const shims = strays.filter((u) => u.name.startsWith(SHIM_SCOPE_PREFIX));
  const containers = strays.filter((u) => !u.name.startsWith(SHIM_SCOPE_PREFIX));
  for (const u of containers) {
    const id = u.name.slice('containerd-'.length, -'.scope'.length);
    const evidence = await ownership(d, u.name, id);
    if (evidence.length === 0) {
      d.log.warn('scope without a task, not created by containerd-ts: left alone (systemctl stop it if it is debris)', { unit: u.name, state: u.activeState });
      result.reported.push(u.name);
      continue;
    }
    try {
      d.log.warn('stopping a container scope no task owns', { unit: u.name, evidence: evidence.map((e) => e.why).join(', ') });
      for (const e of evidence) if (e.namespace !== undefined) await d.runcDelete(e.namespace, id).catch(() => undefined);
      if (evidence.some((e) => e.machine)) await d.machined.terminateMachine(id).catch(() => false);
      await d.systemd.stopUnit(u.name);
      result.stopped.push(u.name);
    } catch (err) {
      d.log.warn('could not stop a stray container scope', { unit: u.name, error: (err as Error).message });
      result.reported.push(u.name);
    }
  }
  for (const u of shims) {
    try {
      d.log.warn('stopping a shim scope no task owns', { unit: u.name });
      // A shim without its task has nothing to finish: SIGKILL, rather than wait out its SIGTERM handling.
      await d.systemd.killUnit(u.name, 'all', 'SIGKILL').catch(() => undefined);
      await d.systemd.stopUnit(u.name);
      result.stopped.push(u.name);
    } catch (err) {
      d.log.warn('could not stop a stray shim scope', { unit: u.name, error: (err as Error).message });
      result.reported.push(u.name);
    }
  }
  return result;
}

interface Evidence {
  why: string;
  /** Set when runc's state of the container is under our root in this namespace. */
  namespace?: string;
  machine?: boolean;
}

async function ownership(d: StrayUnitDeps, unit: string, id: string): Promise<Evidence[]> {
  const out: Evidence[] = [];
  const machine = await d.machined.getMachine(id).catch(() => null);
  if (machine && machine.unit === unit && machine.service === MACHINE_SERVICE) out.push({ why: `machine ${id} registered by ${MACHINE_SERVICE}`, machine: true });
  const runcRoot = path.join(d.stateDir, 'runc');
  for (const ns of listDirs(runcRoot)) {
    if (existsSync(path.join(runcRoot, ns, id))) out.push({ why: `runc state in ${path.join(runcRoot, ns, id)}`, namespace: ns });
  }
  return out;
}

function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}
