import type { Systemd } from '../../systemd/systemd.js';
import { unitProperty } from '../../systemd/properties.js';

/** The scope a container's shim lives in: out of containerd-ts.service, so stopping or restarting the daemon leaves it alone. */
export function shimScopeName(namespace: string, id: string): string {
  return `containerd-ts-shim-${namespace}-${id}.scope`;
}

/** Moves a freshly started shim into its own transient scope (collected when it exits). */
export async function moveShimToScope(systemd: Systemd, namespace: string, id: string, pid: number, slice: string): Promise<void> {
  await systemd.startTransientScope(shimScopeName(namespace, id), [pid], [
    unitProperty.slice(slice),
    unitProperty.description(`containerd-ts shim for ${namespace}/${id}`),
    unitProperty.collectMode('inactive-or-failed'),
  ]);
}
