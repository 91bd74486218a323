import { isRuntimeError } from '../../errors.js';
import type { Systemd } from '../../systemd/systemd.js';
import { unitProperty } from '../../systemd/properties.js';

/** The scope a container's shim lives in: out of containerd-ts.service, so stopping or restarting the daemon leaves it alone. */
export function shimScopeName(namespace: string, id: string): string {
  return `containerd-ts-shim-${namespace}-${id}.scope`;
}

/**
 * Moves a freshly started shim into its own transient scope (collected when
 * it exits). A scope of that name still running belongs to a stale shim (the
 * caller holds no task for this id): it is stopped and the move retried once.
 */
export async function moveShimToScope(systemd: Systemd, namespace: string, id: string, pid: number, slice: string): Promise<void> {
  const name = shimScopeName(namespace, id);
  const props = [
    unitProperty.slice(slice),
    unitProperty.description(`containerd-ts shim for ${namespace}/${id}`),
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
