import path from 'node:path';
import { invalidArgument, isRuntimeError } from '../../errors.js';
import type { Systemd } from '../../systemd/systemd.js';
import { unitProperty } from '../../systemd/properties.js';

/**
 * The scope every shim that serves one container lives in: out of
 * containerd-ts.service, so stopping or restarting the daemon leaves the
 * shims alone. One scope for all: a shim is moved in once, while it waits
 * as a standby, with AttachProcessesToUnit (no job, no unit to create and
 * collect per container; systemd allows it on a delegated unit only, and
 * the scope's cgroup holds nothing but shims), and a shim recycled for the
 * next container is already there. Each shim names its container in its process title.
 * (A container id starting `ts-shim` is refused, so no container's scope
 * can take this name.)
 */
export const SHIMS_SCOPE = 'containerd-ts-shims.scope';

/**
 * The scope a container's shim had in builds before shims shared one: a
 * recovered task may still have its shim there (it is left alone), and one
 * no task owns is stopped at start-up like any stray shim scope.
 */
export function legacyShimScopeName(namespace: string, id: string): string {
  return `containerd-ts-shim-${namespace}-${id}.scope`;
}

/** containerd's runc v2 shim label: containers carrying the same value share one shim process. */
export const SHIM_GROUP_LABEL = 'io.containerd.runc.v2.group';

/** The shim group a container asks for, checked (it becomes part of a unit name and a path). */
export function shimGroupOf(labels: Record<string, string>): string | undefined {
  const group = labels[SHIM_GROUP_LABEL];
  if (group === undefined || group === '') return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(group)) {
    throw invalidArgument(`label ${SHIM_GROUP_LABEL}="${group}": a shim group is 1-64 letters, digits, '_', '.', '-'`);
  }
  return group;
}

/** The scope of a shim group's process (a distinct prefix: a group name never collides with a container id). */
export function shimGroupScopeName(namespace: string, group: string): string {
  return `containerd-ts-shimgroup-${namespace}-${group}.scope`;
}

/** A shim group's directory (the shim's working directory and log), outliving any one member's bundle. */
export function groupDir(stateDir: string, namespace: string, group: string): string {
  return path.join(stateDir, 'groups', namespace, group);
}

const SHIMS_SCOPE_ATTEMPTS = 4;

/**
 * Moves shims into SHIMS_SCOPE, creating the scope with the first one. One
 * placement at a time, so two first shims do not both try to create it.
 */
export class ShimsScope {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly systemd: Systemd,
    private readonly slice: string,
  ) {}

  place(pid: number): Promise<void> {
    const next = this.queue.then(() => this.placeNow(pid));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async placeNow(pid: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.systemd.attachProcesses(SHIMS_SCOPE, [pid]);
        return;
      } catch (err) {
        if (!isRuntimeError(err, 'NotFound') && !isRuntimeError(err, 'FailedPrecondition')) throw err;
      }
      // No such scope yet (or the last shim left and systemd is collecting it): start it with this shim.
      try {
        await this.systemd.startTransientScope(SHIMS_SCOPE, [pid], [
          unitProperty.slice(this.slice),
          unitProperty.description('containerd-ts shims (one process per container)'),
          unitProperty.collectMode('inactive-or-failed'),
          // systemd 252 attaches processes to a running unit only when it is delegated.
          unitProperty.delegate(true),
        ]);
        return;
      } catch (err) {
        // Still loaded while it stops: give systemd a moment to collect it.
        if (!isRuntimeError(err, 'AlreadyExists') || attempt >= SHIMS_SCOPE_ATTEMPTS) throw err;
      }
      await new Promise((r) => setTimeout(r, 25 * attempt));
    }
  }
}

/**
 * Moves a shim into its own transient scope `name` (a shim group's)
 * (collected when it exits). A scope of that name still running belongs to
 * a stale shim (the caller holds no task for it): it is stopped and the
 * move retried once.
 */
export async function moveShimToScope(systemd: Systemd, name: string, pid: number, slice: string, description: string): Promise<void> {
  const props = [
    unitProperty.slice(slice),
    unitProperty.description(description),
    unitProperty.collectMode('inactive-or-failed'),
  ];
  try {
    await systemd.startTransientScope(name, [pid], props);
  } catch (err) {
    if (!isRuntimeError(err, 'AlreadyExists')) throw err;
    await systemd.stopUnit(name);
    await systemd.startTransientScope(name, [pid], props);
  }
}
