import { alreadyExists, invalidArgument, notFound } from '../../errors.js';
import { nsKey, nsRange, type ImageRecord, type MetadataDb } from './db.js';

/** Image records: a name pointing at a target descriptor (the index or manifest in the content store). */
export class ImageStore {
  constructor(private readonly db: MetadataDb) {}

  get(namespace: string, name: string): ImageRecord {
    const rec = this.db.images.get(nsKey(namespace, name));
    if (!rec) throw notFound(`image "${name}" not found`);
    return rec;
  }

  list(namespace: string): ImageRecord[] {
    return [...this.db.images.getRange(nsRange(namespace))].map((e) => e.value);
  }

  /** Every image of every namespace (the garbage collector's roots). */
  all(): Array<{ namespace: string; record: ImageRecord }> {
    return [...this.db.images.getRange()].map((e) => ({ namespace: e.key.slice(0, e.key.indexOf('/')), record: e.value }));
  }

  create(namespace: string, image: Omit<ImageRecord, 'createdAt' | 'updatedAt'>): ImageRecord {
    validateImage(image);
    return this.db.transaction(() => {
      const key = nsKey(namespace, image.name);
      if (this.db.images.get(key)) throw alreadyExists(`image "${image.name}" already exists`);
      const now = new Date().toISOString();
      const rec: ImageRecord = { ...image, createdAt: now, updatedAt: now };
      this.db.images.put(key, rec);
      return rec;
    });
  }

  /** Creates or replaces (keeping createdAt): what an import of an existing name does. */
  put(namespace: string, image: Omit<ImageRecord, 'createdAt' | 'updatedAt'>): ImageRecord {
    validateImage(image);
    return this.db.transaction(() => {
      const key = nsKey(namespace, image.name);
      const now = new Date().toISOString();
      const rec: ImageRecord = { ...image, createdAt: this.db.images.get(key)?.createdAt ?? now, updatedAt: now };
      this.db.images.put(key, rec);
      return rec;
    });
  }

  update(namespace: string, image: Omit<ImageRecord, 'createdAt' | 'updatedAt'>, fields: string[]): ImageRecord {
    return this.db.transaction(() => {
      const current = this.get(namespace, image.name);
      const next: ImageRecord = { ...current, updatedAt: new Date().toISOString() };
      const all = fields.length === 0;
      if (all || fields.includes('target')) next.target = image.target;
      if (all) next.labels = image.labels;
      for (const f of fields) {
        if (f === 'labels') next.labels = image.labels;
        else if (f.startsWith('labels.')) {
          const k = f.slice('labels.'.length);
          if (image.labels[k] === undefined || image.labels[k] === '') delete next.labels[k];
          else next.labels[k] = image.labels[k]!;
        } else if (f !== 'target') throw invalidArgument(`cannot update image field "${f}"`);
      }
      validateImage(next);
      this.db.images.put(nsKey(namespace, image.name), next);
      return next;
    });
  }

  delete(namespace: string, name: string): void {
    this.db.transaction(() => {
      this.get(namespace, name);
      this.db.images.remove(nsKey(namespace, name));
    });
  }
}

function validateImage(image: Pick<ImageRecord, 'name' | 'target'>): void {
  if (!image.name) throw invalidArgument('image name must not be empty');
  if (!image.target?.digest || !/^sha256:[a-f0-9]{64}$/.test(image.target.digest)) {
    throw invalidArgument(`image "${image.name}" needs a target with a sha256 digest`);
  }
  if (!image.target.mediaType) throw invalidArgument(`image "${image.name}" target needs a media type`);
}
