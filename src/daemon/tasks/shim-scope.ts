import path from 'node:path';
import { invalidArgument, isRuntimeError } from '../../errors.js';
import type { Systemd } from '../../systemd/systemd.js';
import { unitProperty } from '../../systemd/properties.js';

/** The scope a container's shim lives in: out of containerd-ts.service, so stopping or restarting the daemon leaves it alone. */
export function shimScopeName(namespace: string, id: string): string {
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

/**
 * Moves a freshly started shim into its own transient scope `name`
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
