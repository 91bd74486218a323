/**
 * KillUnit as the last resort for a container that runc cannot kill: runc
 * signals through its own state (runc kill), which can be broken or gone
 * while the processes live on in the container's scope. systemd knows the
 * scope's processes by cgroup and SIGKILLs all of them (KillUnit, whom=all).
 * Used when a SIGKILL through the shim fails, and when the task has not
 * exited a grace period after one.
 */
import type { Systemd } from '../../systemd/systemd.js';
import type { Logger } from '../logger.js';
import type { Task } from './task.js';

export const SIGKILL = 9;
/** How long a SIGKILLed init may take to be reaped before systemd is asked to kill its scope. */
export const KILL_GRACE_MS = 10_000;

export interface ScopeKillDeps {
  systemd: Systemd;
  log: Logger;
  /** Whether the task is still the daemon's and has not exited. */
  isLive(task: Task): boolean;
}

/**
 * SIGKILLs every process of the task's scope through systemd when the scope
 * still runs something. false = nothing to kill (the task exited, or its
 * scope is gone), so the caller's own error stands.
 */
export async function killScopeAsLastResort(d: ScopeKillDeps, task: Task, why: string): Promise<boolean> {
  if (!d.isLive(task)) return false;
  const state = await d.systemd.unitState(task.scope).catch(() => null);
  if (state === null || state.activeState === 'inactive' || state.activeState === 'failed') return false;
  d.log.warn('runc could not kill the container; killing its scope through systemd (KillUnit)', { namespace: task.namespace, id: task.id, unit: task.scope, reason: why });
  await d.systemd.killUnit(task.scope, 'all', 'SIGKILL');
  return true;
}

/** After a SIGKILL that runc accepted: if the task is still live after the grace period, KillUnit. */
export function followKill(d: ScopeKillDeps, task: Task, graceMs = KILL_GRACE_MS): void {
  const timer = setTimeout(() => {
    if (!d.isLive(task)) return;
    killScopeAsLastResort(d, task, `no exit ${graceMs} ms after SIGKILL`).catch((err: unknown) =>
      d.log.warn('KillUnit of a stuck container failed', { namespace: task.namespace, id: task.id, error: (err as Error).message }));
  }, graceMs);
  timer.unref();
}
