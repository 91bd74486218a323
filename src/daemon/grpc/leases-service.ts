import { randomBytes } from 'node:crypto';
import { alreadyExists, notFound } from '../../errors.js';
import { toTimestamp } from '../../proto.js';
import type { Init, Lease, LeasesHandlers } from '../../proto-types.js';
import { namespaceOf, unary } from './handlers.js';

/**
 * Leases as records only. Nothing is garbage-collected yet, so a lease has
 * nothing to protect; clients such as `ctr run` still create and delete
 * them around their calls, which this serves. Resources and expiry arrive
 * with the garbage collector (images issue).
 */
export function leasesService(): LeasesHandlers {
  const leases = new Map<string, Init<Lease>>();
  const key = (ns: string, id: string) => `${ns}/${id}`;
  return {
    Create: unary((req, call) => {
      const ns = namespaceOf(call);
      const id = req.id || randomBytes(16).toString('hex');
      if (leases.has(key(ns, id))) throw alreadyExists(`lease ${id} already exists`);
      const lease = { id, created_at: toTimestamp(), labels: req.labels };
      leases.set(key(ns, id), lease);
      return { lease };
    }),
    Delete: unary((req, call) => {
      if (!leases.delete(key(namespaceOf(call), req.id))) throw notFound(`lease ${req.id} not found`);
      return {};
    }),
    List: unary((_req, call) => {
      const prefix = `${namespaceOf(call)}/`;
      return { leases: [...leases.entries()].filter(([k]) => k.startsWith(prefix)).map(([, l]) => l) };
    }),
    AddResource: unary(() => ({})),
    DeleteResource: unary(() => ({})),
    ListResources: unary(() => ({ resources: [] })),
  };
}
