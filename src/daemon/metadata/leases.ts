import { randomBytes } from 'node:crypto';
import { alreadyExists, invalidArgument, notFound } from '../../errors.js';
import { validateDigest } from '../../snapshot/digest.js';
import { nsKey, nsRange, type LeaseRecord, type LeaseResourceRecord, type MetadataDb } from './db.js';

/** containerd's label: the lease stops protecting anything after this RFC 3339 time and is deleted by GC. */
export const LEASE_EXPIRE_LABEL = 'containerd.io/gc.expire';

/** Resource types a lease can hold (containerd's leases.Resource types). */
export const LeaseResourceType = {
  content: 'content',
  ingests: 'ingests',
  snapshotsPrefix: 'snapshots/',
} as const;

/**
 * Leases (containerd's leases.Manager on bolt): named, labelled records in
 * LMDB that keep content, ingests and snapshots alive while a client works
 * with them (a pull between its first blob and its image record). Resources
 * are stored inside the lease record so adding one is a single transaction.
 */
export class LeaseStore {
  constructor(private readonly db: MetadataDb) {}

  get(namespace: string, id: string): LeaseRecord {
    const rec = this.db.leases.get(nsKey(namespace, id));
    if (!rec) throw notFound(`lease "${id}" not found`, { fields: { lease: id } });
    return rec;
  }

  /** Creates a lease; a random id when none is given; AlreadyExists if taken. */
  create(namespace: string, id: string | undefined, labels: Record<string, string> = {}): LeaseRecord {
    const leaseId = id || randomBytes(16).toString('hex');
    validateLeaseId(leaseId);
    const expire = labels[LEASE_EXPIRE_LABEL];
    if (expire !== undefined && Number.isNaN(Date.parse(expire))) {
      throw invalidArgument(`lease label ${LEASE_EXPIRE_LABEL}="${expire}" is not an RFC 3339 time`);
    }
    return this.db.transaction(() => {
      const key = nsKey(namespace, leaseId);
      if (this.db.leases.get(key)) throw alreadyExists(`lease "${leaseId}" already exists`, { fields: { lease: leaseId } });
      const rec: LeaseRecord = { id: leaseId, labels: { ...labels }, createdAt: new Date().toISOString(), resources: [] };
      this.db.leases.put(key, rec);
      return rec;
    });
  }

  delete(namespace: string, id: string): void {
    this.db.transaction(() => {
      this.get(namespace, id);
      this.db.leases.remove(nsKey(namespace, id));
    });
  }

  /** The leases of a namespace matching any of `filters` (containerd's syntax: `id==X`, `labels."k"==v`, `labels.k`; commas AND). */
  list(namespace: string, filters: string[] = []): LeaseRecord[] {
    const all = [...this.db.leases.getRange(nsRange(namespace))].map((e) => e.value);
    const parsed = filters.filter((f) => f.trim() !== '').map(parseLeaseFilter);
    if (parsed.length === 0) return all;
    return all.filter((l) => parsed.some((clauses) => clauses.every((c) => c(l))));
  }

  /** Every lease of every namespace (the garbage collector's roots). */
  all(): Array<{ namespace: string; record: LeaseRecord }> {
    return [...this.db.leases.getRange()].map((e) => ({ namespace: e.key.slice(0, e.key.indexOf('/')), record: e.value }));
  }

  /** Attaches a resource (idempotent); NotFound if the lease is gone. */
  addResource(namespace: string, id: string, resource: LeaseResourceRecord): void {
    validateResource(resource);
    this.db.transaction(() => {
      const rec = this.get(namespace, id);
      if (rec.resources.some((r) => r.type === resource.type && r.id === resource.id)) return;
      this.db.leases.put(nsKey(namespace, id), { ...rec, resources: [...rec.resources, { type: resource.type, id: resource.id }] });
    });
  }

  /** Detaches a resource (no error if it was not attached); NotFound if the lease is gone. */
  deleteResource(namespace: string, id: string, resource: LeaseResourceRecord): void {
    validateResource(resource);
    this.db.transaction(() => {
      const rec = this.get(namespace, id);
      const resources = rec.resources.filter((r) => !(r.type === resource.type && r.id === resource.id));
      this.db.leases.put(nsKey(namespace, id), { ...rec, resources });
    });
  }

  listResources(namespace: string, id: string): LeaseResourceRecord[] {
    return this.get(namespace, id).resources;
  }
}

/** Whether a lease's gc.expire time has passed (a lease without one never expires). */
export function leaseExpired(lease: LeaseRecord, now: Date): boolean {
  const expire = lease.labels[LEASE_EXPIRE_LABEL];
  if (expire === undefined) return false;
  const t = Date.parse(expire);
  return !Number.isNaN(t) && t <= now.getTime();
}

/**
 * Lease ids are not containerd identifiers: ctr makes them as
 * `<nanoseconds>-<base64url>`, which may end in '-' or '_'. Any printable
 * string up to 256 bytes is accepted, as containerd does.
 */
function validateLeaseId(id: string): void {
  if (Buffer.byteLength(id) > 256 || /[\x00-\x20\x7f]/.test(id)) {
    throw invalidArgument(`lease id ${JSON.stringify(id.slice(0, 64))} must be 1 to 256 printable characters without spaces`);
  }
}

function validateResource(resource: LeaseResourceRecord): void {
  if (!resource || typeof resource.id !== 'string' || resource.id.length === 0) throw invalidArgument('lease resource needs an id');
  if (resource.type === LeaseResourceType.content) validateDigest(resource.id);
  else if (resource.type === LeaseResourceType.ingests) return;
  else if (resource.type.startsWith(LeaseResourceType.snapshotsPrefix) && resource.type.length > LeaseResourceType.snapshotsPrefix.length) return;
  else throw invalidArgument(`unsupported lease resource type "${resource.type}" (content, ingests or snapshots/<snapshotter>)`);
}

type Clause = (l: LeaseRecord) => boolean;

/** One filter string: comma-separated clauses that must all hold. */
function parseLeaseFilter(filter: string): Clause[] {
  return filter.split(',').map((raw) => {
    const clause = raw.trim();
    const m = /^(id|labels\.(?:"[^"]*"|[^=!~]+))\s*(==|!=)?\s*(.*)$/.exec(clause);
    if (!m) throw invalidArgument(`unsupported lease filter "${clause}" (id==X, labels."key"==value, labels.key)`);
    const field = m[1] as string;
    const op = m[2];
    const value = (m[3] ?? '').replace(/^"|"$/g, '');
    const read = (l: LeaseRecord): string | undefined => (field === 'id' ? l.id : l.labels[field.slice('labels.'.length).replace(/^"|"$/g, '')]);
    if (op === undefined) return (l: LeaseRecord) => read(l) !== undefined;
    return op === '==' ? (l: LeaseRecord) => read(l) === value : (l: LeaseRecord) => read(l) !== value;
  });
}
