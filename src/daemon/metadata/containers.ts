import { alreadyExists, invalidArgument, notFound } from '../../errors.js';
import { validateIdentifier } from '../../oci/identifiers.js';
import { RESERVED_ID_PREFIX } from '../../systemd/units.js';
import { nsKey, nsRange, type ContainerRecord, type MetadataDb } from './db.js';

/** Container records: metadata only (spec, image, snapshot key); the task is separate. */
export class ContainerStore {
  constructor(private readonly db: MetadataDb) {}

  get(namespace: string, id: string): ContainerRecord {
    const rec = this.db.containers.get(nsKey(namespace, id));
    if (!rec) throw notFound(`container "${id}" not found`);
    return rec;
  }

  list(namespace: string): ContainerRecord[] {
    return [...this.db.containers.getRange(nsRange(namespace))].map((e) => e.value);
  }

  /** Every container of every namespace (start-up recovery). */
  all(): Array<{ namespace: string; record: ContainerRecord }> {
    return [...this.db.containers.getRange()].map((e) => ({ namespace: e.key.slice(0, e.key.indexOf('/')), record: e.value }));
  }

  create(namespace: string, c: Omit<ContainerRecord, 'createdAt' | 'updatedAt'>): ContainerRecord {
    validateIdentifier(c.id, 'container id');
    if (c.id.startsWith(RESERVED_ID_PREFIX)) {
      throw invalidArgument(`container id "${c.id}" is reserved: ids starting "${RESERVED_ID_PREFIX}" would name the scope of a shim (containerd-${RESERVED_ID_PREFIX}-*.scope); pick another id`);
    }
    if (!c.runtime?.name) throw invalidArgument(`container "${c.id}": runtime name must be set`);
    if (!c.spec) throw invalidArgument(`container "${c.id}": spec must be set`);
    return this.db.transaction(() => {
      const key = nsKey(namespace, c.id);
      if (this.db.containers.get(key)) throw alreadyExists(`container "${c.id}" already exists`);
      const now = new Date().toISOString();
      const rec: ContainerRecord = { ...c, createdAt: now, updatedAt: now };
      this.db.containers.put(key, rec);
      return rec;
    });
  }

  update(namespace: string, c: ContainerRecord, fields: string[]): ContainerRecord {
    return this.db.transaction(() => {
      const current = this.get(namespace, c.id);
      const next: ContainerRecord = { ...current, updatedAt: new Date().toISOString() };
      const all = fields.length === 0;
      for (const f of all ? ['labels', 'spec', 'image', 'snapshotkey', 'extensions'] : fields) {
        if (f === 'labels') next.labels = c.labels;
        else if (f.startsWith('labels.')) {
          const k = f.slice('labels.'.length);
          if (!c.labels[k]) delete next.labels[k];
          else next.labels[k] = c.labels[k]!;
        } else if (f === 'spec') next.spec = c.spec;
        else if (f === 'image') next.image = c.image;
        else if (f === 'snapshotkey') next.snapshotKey = c.snapshotKey;
        else if (f === 'extensions') next.extensions = c.extensions;
        else if (f.startsWith('extensions.')) {
          const k = f.slice('extensions.'.length);
          if (c.extensions[k]) next.extensions[k] = c.extensions[k]!;
          else delete next.extensions[k];
        } else throw invalidArgument(`cannot update container field "${f}"`);
      }
      if (!next.spec) throw invalidArgument(`container "${c.id}": spec must be set`);
      if (!next.runtime?.name) throw invalidArgument(`container "${c.id}": runtime name must be set`);
      this.db.containers.put(nsKey(namespace, c.id), next);
      return next;
    });
  }

  delete(namespace: string, id: string): void {
    this.db.transaction(() => {
      this.get(namespace, id);
      this.db.containers.remove(nsKey(namespace, id));
    });
  }
}
