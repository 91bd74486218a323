/**
 * One namespace's content store (containerd's metadata contentStore seen
 * through a namespaced context): the ContentStore interface over the
 * namespace's records and the shared backend. A digest the namespace has no
 * record of is NotFound here, even when another namespace holds it; ingest
 * refs are the namespace's own (prefixed in the backend).
 */
import type { Readable } from 'node:stream';
import { alreadyExists, invalidArgument, isRuntimeError, notFound, unavailable } from '../../errors.js';
import type { ContentStore, Expected, Info, Status, Writer, WriterOptions } from '../../snapshot/content.js';
import { DEFAULT_READ_ALL_LIMIT, validateContentLabels, validateExpectedSize } from '../../snapshot/content-fs.js';
import { validateDigest, type Digest } from '../../snapshot/digest.js';
import type { BlobCache } from './blob-cache.js';
import type { ContentRecord } from './db.js';
import { NamespacedWriter, SharedWriter, type WriterHost } from './content-writers.js';

/** What a view needs of the namespaced store (metadata/content.ts). */
export interface ViewHost {
  readonly backend: ContentStore;
  /** Small blobs read whole lately (see BlobCache). */
  readonly smallBlobs: BlobCache;
  record(namespace: string, digest: Digest): ContentRecord | undefined;
  records(namespace: string): Array<{ digest: Digest; record: ContentRecord }>;
  commitGate<T>(fn: () => Promise<T>): Promise<T>;
  addRecord(namespace: string, digest: Digest, size: number, labels: Record<string, string>): Info;
  updateRecord(namespace: string, digest: Digest, labels: Record<string, string>): Info;
  deleteRecord(namespace: string, digest: Digest): boolean;
  /** Marks a backend ref as held by a writer; false if one holds it already. */
  lockRef(backendRef: string): boolean;
  unlockRef(backendRef: string): void;
  /** Keeps a backend blob from the sweep while a shared writer may still commit it. */
  pin(digest: Digest): void;
  unpin(digest: Digest): void;
}

/** The backend ref of a namespace's ingest: namespaces are identifiers (no '/'), so the first '/' splits them. */
export function backendRef(namespace: string, ref: string): string {
  return `${namespace}/${ref}`;
}

/** A record as Info. */
export function recordInfo(digest: Digest, record: ContentRecord): Info {
  return { digest, size: record.size, createdAt: new Date(record.createdAt), updatedAt: new Date(record.updatedAt), labels: { ...record.labels } };
}

export class NamespaceContentView implements ContentStore {
  constructor(
    readonly namespace: string,
    private readonly host: ViewHost,
  ) {}

  async info(digest: Digest): Promise<Info> {
    const d = validateDigest(digest);
    return recordInfo(d, this.need(d));
  }

  async reader(digest: Digest, options: { offset?: number } = {}): Promise<Readable> {
    this.need(validateDigest(digest));
    return this.host.backend.reader(digest, options);
  }

  async readAll(digest: Digest, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const max = options.maxBytes ?? DEFAULT_READ_ALL_LIMIT;
    const record = this.need(validateDigest(digest));
    if (record.size > max) {
      throw invalidArgument(`content ${digest} is ${record.size} bytes, over the ${max} byte limit for in-memory reads`, {
        fields: { digest, size: record.size, limit: max },
      });
    }
    const cached = this.host.smallBlobs.get(digest);
    if (cached !== undefined && cached.length === record.size) return cached;
    const data = await this.host.backend.readAll(digest, { maxBytes: max });
    if (data.length === record.size) this.host.smallBlobs.set(digest, data);
    return data;
  }

  async writer(options: WriterOptions): Promise<Writer> {
    const ref = options.ref;
    if (typeof ref !== 'string' || ref.length === 0) throw invalidArgument('content writer needs a non-empty ref');
    const expected: Expected = {
      ...(options.expected?.digest !== undefined ? { digest: validateDigest(options.expected.digest) } : {}),
      ...(options.expected?.size !== undefined ? { size: validateExpectedSize(options.expected.size) } : {}),
    };
    const bref = backendRef(this.namespace, ref);
    if (!this.host.lockRef(bref)) throw unavailable(`ref ${ref} is locked by another writer`, { fields: { ref } });
    try {
      return await this.open(ref, bref, expected);
    } catch (err) {
      this.host.unlockRef(bref);
      throw err;
    }
  }

  async status(ref: string): Promise<Status> {
    const status = await this.host.backend.status(backendRef(this.namespace, ref)).catch((err: unknown) => {
      if (isRuntimeError(err, 'NotFound')) throw notFound(`ingest ${ref} not found`, { fields: { ref } });
      throw err;
    });
    return { ...status, ref };
  }

  async listStatuses(): Promise<Status[]> {
    const prefix = backendRef(this.namespace, '');
    return (await this.host.backend.listStatuses()).filter((s) => s.ref.startsWith(prefix)).map((s) => ({ ...s, ref: s.ref.slice(prefix.length) }));
  }

  async abort(ref: string): Promise<void> {
    const bref = backendRef(this.namespace, ref);
    if (!this.host.lockRef(bref)) throw unavailable(`ref ${ref} is locked by an active writer`, { fields: { ref } });
    try {
      await this.host.backend.abort(bref).catch((err: unknown) => {
        if (isRuntimeError(err, 'NotFound')) throw notFound(`ingest ${ref} not found`, { fields: { ref } });
        throw err;
      });
    } finally {
      this.host.unlockRef(bref);
    }
  }

  async list(): Promise<Info[]> {
    return this.host.records(this.namespace).map(({ digest, record }) => recordInfo(digest, record));
  }

  async update(digest: Digest, labels: Record<string, string>): Promise<Info> {
    validateContentLabels(labels);
    return this.host.updateRecord(this.namespace, validateDigest(digest), labels);
  }

  /** Removes this namespace's record; the blob stays for other namespaces (the garbage collector removes it when none has it). */
  async delete(digest: Digest): Promise<void> {
    if (!this.host.deleteRecord(this.namespace, validateDigest(digest))) throw notFound(`content ${digest} not found`, { fields: { digest } });
  }

  private need(digest: Digest): ContentRecord {
    const record = this.host.record(this.namespace, digest);
    if (record === undefined) throw notFound(`content ${digest} not found`, { fields: { digest } });
    return record;
  }

  /** The writer for a locked ref: AlreadyExists if this namespace has the digest, shared if the backend has it, else a backend ingest. */
  private async open(ref: string, bref: string, expected: Expected): Promise<Writer> {
    const digest = expected.digest;
    if (digest !== undefined && this.host.record(this.namespace, digest) !== undefined) {
      throw alreadyExists(`content ${digest} already exists`, { fields: { digest } });
    }
    const release = () => this.host.unlockRef(bref);
    const host: WriterHost = {
      commitGate: (fn) => this.host.commitGate(fn),
      addRecord: (d, size, labels) => this.host.addRecord(this.namespace, d, size, labels),
      backendInfo: (d) => this.host.backend.info(d),
      release,
    };
    // Twice at most: the backend may commit the digest between the look and the open.
    for (let attempt = 0; ; attempt++) {
      const held = digest === undefined ? undefined : await this.host.backend.info(digest).catch(ignoreNotFound);
      if (digest !== undefined && held !== undefined && (expected.size === undefined || expected.size === held.size)) {
        this.host.pin(digest);
        return new SharedWriter(ref, digest, held.size, {
          ...host,
          release: () => {
            this.host.unpin(digest);
            release();
          },
        });
      }
      // A backend blob of another size: a full ingest (as containerd's), the digest checked at commit, where it must fail.
      const backendExpected: Expected = held !== undefined ? { ...(expected.size !== undefined ? { size: expected.size } : {}) } : expected;
      try {
        return new NamespacedWriter(ref, await this.host.backend.writer({ ref: bref, expected: backendExpected }), host, held !== undefined ? digest : undefined);
      } catch (err) {
        if (attempt === 0 && isRuntimeError(err, 'AlreadyExists')) continue;
        throw err;
      }
    }
  }
}

function ignoreNotFound(err: unknown): undefined {
  if (isRuntimeError(err, 'NotFound')) return undefined;
  throw err;
}
