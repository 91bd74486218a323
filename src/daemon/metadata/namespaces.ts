import { alreadyExists, failedPrecondition, notFound } from '../../errors.js';
import { validateIdentifier } from '../../oci/identifiers.js';
import { snapshotRecordRange } from '../../snapshot/overlay-store.js';
import { nsRange, type MetadataDb, type NamespaceRecord } from './db.js';

/** Namespaces (containerd's multi-tenancy): created on first use, removable only when empty. */
export class NamespaceStore {
  constructor(private readonly db: MetadataDb) {}

  list(): NamespaceRecord[] {
    return [...this.db.namespaces.getRange()].map((e) => e.value);
  }

  find(name: string): NamespaceRecord | undefined {
    return this.db.namespaces.get(name);
  }

  get(name: string): NamespaceRecord {
    const rec = this.db.namespaces.get(name);
    if (!rec) throw notFound(`namespace ${name} not found`);
    return rec;
  }

  create(name: string, labels: Record<string, string> = {}): NamespaceRecord {
    validateIdentifier(name, 'namespace');
    return this.db.transaction(() => {
      if (this.db.namespaces.get(name)) throw alreadyExists(`namespace ${name} already exists`);
      const rec = { name, labels };
      this.db.namespaces.put(name, rec);
      return rec;
    });
  }

  /** Makes sure `name` exists; called for every namespaced request, as containerd does. */
  ensure(name: string): void {
    if (this.db.namespaces.get(name)) return;
    validateIdentifier(name, 'namespace');
    this.db.transaction(() => {
      if (!this.db.namespaces.get(name)) this.db.namespaces.put(name, { name, labels: {} });
    });
  }

  update(name: string, labels: Record<string, string>, replace: boolean): NamespaceRecord {
    return this.db.transaction(() => {
      const rec = this.get(name);
      const next = { name, labels: replace ? labels : { ...rec.labels, ...labels } };
      for (const [k, v] of Object.entries(next.labels)) if (v === '') delete next.labels[k];
      this.db.namespaces.put(name, next);
      return next;
    });
  }

  delete(name: string): void {
    this.db.transaction(() => {
      this.get(name);
      // containerd's list: a namespace with images, content records, containers or snapshots is not empty.
      const kinds: Array<[string, { getKeys(o: object): Iterable<unknown> }, { start: string; end: string }]> = [
        ['images', this.db.images, nsRange(name)],
        ['blobs', this.db.content, nsRange(name)],
        ['containers', this.db.containers, nsRange(name)],
        ['snapshots', this.db.snapshots, snapshotRecordRange(`${name}/`)],
      ];
      const left = kinds.filter(([, db, range]) => [...db.getKeys({ ...range, limit: 1 })].length > 0).map(([kind]) => kind);
      if (left.length > 0) throw failedPrecondition(`namespace ${name} must be empty, but it still has ${left.join(', ')}`);
      this.db.namespaces.remove(name);
    });
  }
}
