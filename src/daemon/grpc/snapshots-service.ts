import { invalidArgument } from '../../errors.js';
import { toTimestamp } from '../../proto.js';
import type { Init, SnapshotInfo, SnapshotsHandlers } from '../../proto-types.js';
import type { Info, Snapshotter } from '../../snapshot/snapshotter.js';
import type { GarbageCollector } from '../gc/collector.js';
import { LeaseResourceType, type LeaseStore } from '../metadata/leases.js';
import { leaseOf, namespaceOf, notImplemented, serverStream, unary } from './handlers.js';

export const SNAPSHOTTER_NAME = 'overlayfs';

/**
 * Snapshots: the overlay snapshotter behind containerd's API. Keys are
 * namespaced here (`<ns>/<key>`) so two namespaces never see each other's
 * snapshots; the snapshotter itself treats keys as opaque.
 */
export function snapshotsService(snapshotter: Snapshotter, leases?: LeaseStore, gc?: GarbageCollector): SnapshotsHandlers {
  /** Runs a create under the call's lease (if any): checked first, the new key attached after, GC held off in between. */
  const leased = async <T>(call: Parameters<typeof namespaceOf>[0], key: string, create: () => Promise<T>): Promise<T> => {
    const lease = leaseOf(call);
    if (lease === undefined || leases === undefined || gc === undefined) return create();
    const ns = namespaceOf(call);
    leases.get(ns, lease);
    return gc.withHold(async () => {
      const out = await create();
      leases.addResource(ns, lease, { type: `${LeaseResourceType.snapshotsPrefix}${SNAPSHOTTER_NAME}`, id: key });
      return out;
    });
  };
  const scoped = (call: Parameters<typeof namespaceOf>[0], name: string, key: string) => {
    if (name && name !== SNAPSHOTTER_NAME) throw invalidArgument(`snapshotter "${name}" is not available; this daemon has "${SNAPSHOTTER_NAME}"`);
    if (!key) throw invalidArgument('snapshot key must not be empty');
    return `${namespaceOf(call)}/${key}`;
  };
  const parentOf = (call: Parameters<typeof namespaceOf>[0], parent: string) => (parent ? `${namespaceOf(call)}/${parent}` : undefined);
  return {
    Prepare: unary(async (req, call) => ({
      mounts: await leased(call, req.key, () => snapshotter.prepare(scoped(call, req.snapshotter, req.key), parentOf(call, req.parent), req.labels)),
    })),
    View: unary(async (req, call) => ({
      mounts: await leased(call, req.key, () => snapshotter.view(scoped(call, req.snapshotter, req.key), parentOf(call, req.parent), req.labels)),
    })),
    Mounts: unary(async (req, call) => ({ mounts: await snapshotter.mounts(scoped(call, req.snapshotter, req.key)) })),
    Commit: unary(async (req, call) => {
      await leased(call, req.name, () => snapshotter.commit(scoped(call, req.snapshotter, req.name), scoped(call, req.snapshotter, req.key), req.labels));
      return {};
    }),
    Remove: unary(async (req, call) => {
      await snapshotter.remove(scoped(call, req.snapshotter, req.key));
      // Its parents may now be unreferenced.
      gc?.schedule();
      return {};
    }),
    Stat: unary(async (req, call) => ({ info: infoToProto(await snapshotter.stat(scoped(call, req.snapshotter, req.key)), namespaceOf(call)) })),
    Update: unary(async (req, call) => ({
      info: infoToProto(await snapshotter.update(scoped(call, req.snapshotter, req.info?.name ?? ''), req.info?.labels ?? {}), namespaceOf(call)),
    })),
    List: serverStream(async (req, call) => {
      const ns = namespaceOf(call);
      const infos: Init<SnapshotInfo>[] = [];
      await snapshotter.walk((info) => {
        if (info.name.startsWith(`${ns}/`)) infos.push(infoToProto(info, ns));
      });
      for (let i = 0; i < infos.length; i += 100) call.write({ info: infos.slice(i, i + 100) });
      void req;
    }),
    Usage: unary(async (req, call) => {
      const u = await snapshotter.usage(scoped(call, req.snapshotter, req.key));
      return { size: String(u.size), inodes: String(u.inodes) };
    }),
    Cleanup: notImplemented('Snapshots', 'Cleanup'),
  };
}

function infoToProto(info: Info, ns: string): Init<SnapshotInfo> {
  const strip = (k: string | undefined) => (k?.startsWith(`${ns}/`) ? k.slice(ns.length + 1) : (k ?? ''));
  return {
    name: strip(info.name),
    parent: strip(info.parent),
    kind: info.kind === 'active' ? 'ACTIVE' : info.kind === 'view' ? 'VIEW' : 'COMMITTED',
    created_at: toTimestamp(info.created),
    updated_at: toTimestamp(info.updated),
    labels: info.labels,
  };
}
