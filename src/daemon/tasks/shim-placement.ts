/**
 * Which shim process serves a new task: the launcher's (a standby, fresh or
 * recycled, in the shared shims' scope out of the daemon's service; a
 * group's first shim moves on into the group's scope), or, for a task of a
 * shim group whose shim still serves, that shim adopting the task too.
 */
import path from 'node:path';
import { ShimClient, type ShimConnection } from '../../shim/client.js';
import type { ShimLauncher } from '../../shim/launcher.js';
import type { Systemd } from '../../systemd/systemd.js';
import type { DaemonConfig } from '../config.js';
import type { CleanupStack } from './cleanup.js';
import { groupDir, moveShimToScope, shimGroupScopeName } from './shim-scope.js';

export interface ShimRequest {
  namespace: string;
  id: string;
  bundle: string;
  runtime: string;
  group?: string;
}

export interface PlacedShim {
  shim: ShimClient;
  /** Settles once a new shim is in its scope (the caller overlaps it with runc's create). */
  placed: Promise<void>;
}

/**
 * Connects the task to a shim; `groupShim` is the live shim of the task's
 * group, if any. Registers stopping the shim on `cleanup`.
 */
export async function placeShim(
  d: { launcher: ShimLauncher; systemd: Systemd; config: DaemonConfig },
  req: ShimRequest,
  groupShim: ShimConnection | undefined,
  cleanup: CleanupStack,
): Promise<PlacedShim> {
  const { namespace, id, bundle, runtime, group } = req;
  const assignment = {
    namespace, id, bundle, runtime,
    runtimeRoot: path.join(d.config.state, 'runc', namespace),
    ...(group ? { group: { name: group, dir: groupDir(d.config.state, namespace, group) } } : {}),
  };
  let shim: ShimClient;
  let placed = Promise.resolve();
  if (groupShim) {
    await groupShim.call('adopt', { ...assignment, systemdCgroup: true });
    shim = await ShimClient.connect(bundle);
    shim.pid = groupShim instanceof ShimClient ? groupShim.pid : 0;
  } else {
    const started = await d.launcher.start(assignment);
    shim = started.shim;
    // A group's first shim then moves on from the shared scope into the group's own.
    placed = group
      ? started.placed.catch(() => undefined).then(() => moveShimToScope(d.systemd, shimGroupScopeName(namespace, group), shim.pid, d.config.slice, `containerd-ts shim for ${namespace}/group ${group}`))
      : started.placed;
  }
  cleanup.push('stop shim', () => retireShim(shim));
  return { shim, placed };
}

/** Deletes whatever runc container the shim holds and lets the shim go; each step tolerates "already gone". */
export async function retireShim(shim: ShimConnection): Promise<void> {
  await shim.call('delete', {}).catch(() => undefined);
  await shim.call('shutdown', {}).catch(() => undefined);
  shim.close();
}
