import { toTimestamp } from '../../proto.js';
import type { Init, Lease, LeasesHandlers } from '../../proto-types.js';
import { invalidArgument } from '../../errors.js';
import type { LeaseRecord } from '../metadata/db.js';
import type { LeaseStore } from '../metadata/leases.js';
import type { GarbageCollector } from '../gc/collector.js';
import { namespaceOf, unary } from './handlers.js';

/**
 * Leases: LMDB records that keep content, ingests and snapshots alive while
 * a client works (see docs/images.md, "Garbage collection and leases").
 * Deleting one runs the garbage collector: before returning when the client
 * asks for `sync` (ctr does after a pull), in the background otherwise.
 */
export function leasesService(leases: LeaseStore, gc: GarbageCollector): LeasesHandlers {
  return {
    Create: unary((req, call) => ({ lease: leaseToProto(leases.create(namespaceOf(call), req.id || undefined, req.labels)) })),
    Delete: unary(async (req, call) => {
      leases.delete(namespaceOf(call), req.id);
      if (req.sync) await gc.collect();
      else gc.schedule();
      return {};
    }),
    List: unary((req, call) => ({ leases: leases.list(namespaceOf(call), req.filters).map(leaseToProto) })),
    AddResource: unary((req, call) => {
      leases.addResource(namespaceOf(call), req.id, resourceOf(req.resource));
      return {};
    }),
    DeleteResource: unary((req, call) => {
      leases.deleteResource(namespaceOf(call), req.id, resourceOf(req.resource));
      return {};
    }),
    ListResources: unary((req, call) => ({ resources: leases.listResources(namespaceOf(call), req.id) })),
  };
}

function resourceOf(r: { id: string; type: string } | null): { id: string; type: string } {
  if (!r) throw invalidArgument('lease resource is required');
  return { id: r.id, type: r.type };
}

function leaseToProto(l: LeaseRecord): Init<Lease> {
  return { id: l.id, created_at: toTimestamp(new Date(l.createdAt)), labels: l.labels };
}
