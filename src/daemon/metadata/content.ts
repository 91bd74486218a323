/**
 * Namespaced content (containerd's metadata/content.go with its default
 * "shared" policy, by behaviour): one backend blob store (content-fs) shared
 * by every namespace, and in LMDB each namespace's own records of the blobs
 * it has (size, times, labels). `forNamespace(ns)` is the ContentStore a
 * request of that namespace works with (content-view.ts); a namespace sees
 * and changes only its own records and ingests. Deleting a record leaves the
 * blob: the garbage collector removes records nothing in their namespace
 * refers to, then blobs no namespace has a record of (`sweepBlobs`).
 */
import { alreadyExists, isRuntimeError, notFound } from '../../errors.js';
import type { ContentStore, Info, Status } from '../../snapshot/content.js';
import type { Digest } from '../../snapshot/digest.js';
import { Holds } from '../gc/holds.js';
import { BlobCache } from './blob-cache.js';
import { nsKey, nsRange, type ContentRecord, type MetadataDb } from './db.js';
import type { NamespaceStore } from './namespaces.js';
import { NamespaceContentView, recordInfo, type ViewHost } from './content-view.js';

export { backendRef } from './content-view.js';

/** The schema key of the content records and the version this code writes. */
const SCHEMA_KEY = 'content';
const SCHEMA_VERSION = 1;

/** What request handlers take: the ContentStore of one namespace. */
export interface ContentNamespaces {
  forNamespace(namespace: string): ContentStore;
}

/** One namespace's record of a blob, as the garbage collector walks them. */
export interface NamespacedRecord {
  namespace: string;
  info: Info;
}

/** The namespaced content store; open it with `NamespacedContentStore.open`. */
export class NamespacedContentStore implements ContentNamespaces, ViewHost {
  private readonly lockedRefs = new Set<string>();
  private readonly pinned = new Map<Digest, number>();
  private readonly commits = new Holds();
  private sweeping: Promise<unknown> | undefined;
  readonly smallBlobs = new BlobCache();

  private constructor(
    private readonly db: MetadataDb,
    readonly backend: ContentStore,
    private readonly namespaces: Pick<NamespaceStore, 'ensure' | 'list'>,
  ) {}

  /** The store over `backend`, migrating a store that predates namespaced records first (see `adoptBackend`). */
  static async open(
    db: MetadataDb,
    backend: ContentStore,
    namespaces: Pick<NamespaceStore, 'ensure' | 'list'>,
    log?: { info(msg: string, fields?: object): void },
  ): Promise<NamespacedContentStore> {
    const store = new NamespacedContentStore(db, backend, namespaces);
    const adopted = await store.adoptBackend();
    if (adopted !== undefined && adopted.blobs > 0) log?.info('content adopted into every namespace (first start with namespaced content)', adopted);
    return store;
  }

  forNamespace(namespace: string): ContentStore {
    return new NamespaceContentView(namespace, this);
  }

  // --- for the garbage collector ---

  /** Every record of every namespace. */
  allRecords(): NamespacedRecord[] {
    return [...this.db.content.getRange()].map(({ key, value }) => {
      const slash = key.indexOf('/');
      return { namespace: key.slice(0, slash), info: recordInfo(key.slice(slash + 1) as Digest, value) };
    });
  }

  /** Removes a namespace's record without an event (containerd's collector publishes none); false if it was gone. */
  removeRecord(namespace: string, digest: Digest): boolean {
    return this.deleteRecord(namespace, digest);
  }

  /**
   * Removes the backend blobs no namespace has a record of (and no shared
   * writer is about to commit). Runs alone: commits wait for it and it waits
   * for commits, so a blob is never swept between its commit and its record.
   */
  async sweepBlobs(): Promise<Digest[]> {
    while (this.sweeping !== undefined) await this.sweeping.catch(() => undefined);
    const run = (async () => {
      await this.commits.drain();
      const held = new Set<string>(this.pinned.keys());
      for (const key of this.db.content.getKeys()) held.add(key.slice(key.indexOf('/') + 1));
      const removed: Digest[] = [];
      for (const info of await this.backend.list()) {
        if (held.has(info.digest)) continue;
        this.smallBlobs.delete(info.digest);
        await this.backend.delete(info.digest).then(
          () => removed.push(info.digest),
          (err: unknown) => {
            if (!isRuntimeError(err, 'NotFound')) throw err;
          },
        );
      }
      return removed;
    })();
    this.sweeping = run;
    try {
      return await run;
    } finally {
      if (this.sweeping === run) this.sweeping = undefined;
    }
  }

  /** Every ingest in the backend with its namespace ('' for a ref written before namespaced ingests, which no lease can hold). */
  async allIngests(): Promise<Array<{ namespace: string; status: Status }>> {
    return (await this.backend.listStatuses()).map((status) => {
      const slash = status.ref.indexOf('/');
      if (slash <= 0) return { namespace: '', status };
      return { namespace: status.ref.slice(0, slash), status: { ...status, ref: status.ref.slice(slash + 1) } };
    });
  }

  /** Aborts one ingest; Unavailable while a writer holds it. */
  abortIngest(namespace: string, ref: string): Promise<void> {
    return namespace === '' ? this.backend.abort(ref) : this.forNamespace(namespace).abort(ref);
  }

  // --- for the namespace views (ViewHost) ---

  record(namespace: string, digest: Digest): ContentRecord | undefined {
    return this.db.content.get(nsKey(namespace, digest));
  }

  records(namespace: string): Array<{ digest: Digest; record: ContentRecord }> {
    return [...this.db.content.getRange(nsRange(namespace))].map(({ key, value }) => ({ digest: key.slice(namespace.length + 1) as Digest, record: value }));
  }

  commitGate<T>(fn: () => Promise<T>): Promise<T> {
    return this.commits.run(fn, () => this.sweeping);
  }

  addRecord(namespace: string, digest: Digest, size: number, labels: Record<string, string>): Info {
    // A namespace exists once something is in it, as in containerd.
    this.namespaces.ensure(namespace);
    return this.db.transaction(() => {
      const key = nsKey(namespace, digest);
      if (this.db.content.get(key) !== undefined) throw alreadyExists(`content ${digest} already exists`, { fields: { digest } });
      const now = new Date().toISOString();
      const record: ContentRecord = { size, createdAt: now, updatedAt: now, labels: { ...labels } };
      this.db.content.put(key, record);
      return recordInfo(digest, record);
    });
  }

  updateRecord(namespace: string, digest: Digest, labels: Record<string, string>): Info {
    return this.db.transaction(() => {
      const key = nsKey(namespace, digest);
      const current = this.db.content.get(key);
      if (current === undefined) throw notFound(`content ${digest} not found`, { fields: { digest } });
      const record: ContentRecord = { ...current, labels: { ...labels }, updatedAt: new Date().toISOString() };
      this.db.content.put(key, record);
      return recordInfo(digest, record);
    });
  }

  deleteRecord(namespace: string, digest: Digest): boolean {
    return this.db.transaction(() => {
      const key = nsKey(namespace, digest);
      if (this.db.content.get(key) === undefined) return false;
      this.db.content.remove(key);
      return true;
    });
  }

  lockRef(ref: string): boolean {
    if (this.lockedRefs.has(ref)) return false;
    this.lockedRefs.add(ref);
    return true;
  }

  unlockRef(ref: string): void {
    this.lockedRefs.delete(ref);
  }

  pin(digest: Digest): void {
    this.pinned.set(digest, (this.pinned.get(digest) ?? 0) + 1);
  }

  unpin(digest: Digest): void {
    const n = (this.pinned.get(digest) ?? 1) - 1;
    if (n > 0) this.pinned.set(digest, n);
    else this.pinned.delete(digest);
  }

  /**
   * The migration of a store made before namespaced records (no schema
   * version yet): every backend blob becomes a record in every existing
   * namespace (in 'default' if there is none), with the labels its label
   * file had; the next collection then drops what each namespace does not
   * refer to. From then on the records are the truth (the label files are
   * no longer read). Ingests of the old layout, whose refs carry no
   * namespace, are left for the collector's stale-ingest rule.
   */
  private async adoptBackend(): Promise<{ blobs: number; namespaces: string[] } | undefined> {
    if (this.db.schema.get(SCHEMA_KEY) !== undefined) return undefined;
    const blobs = await this.backend.list();
    let names = this.namespaces.list().map((n) => n.name);
    if (names.length === 0 && blobs.length > 0) {
      this.namespaces.ensure('default');
      names = ['default'];
    }
    this.db.transaction(() => {
      if (this.db.schema.get(SCHEMA_KEY) !== undefined) return;
      for (const namespace of names) {
        for (const blob of blobs) {
          const key = nsKey(namespace, blob.digest);
          if (this.db.content.get(key) !== undefined) continue;
          this.db.content.put(key, { size: blob.size, createdAt: blob.createdAt.toISOString(), updatedAt: blob.updatedAt.toISOString(), labels: { ...blob.labels } });
        }
      }
      this.db.schema.put(SCHEMA_KEY, SCHEMA_VERSION);
    });
    return { blobs: blobs.length, namespaces: names };
  }
}
