/**
 * The content store on a local directory (containerd's plugins/content/local):
 * committed blobs are read-only files named by digest, ingests are partial
 * files that become blobs only through a verified atomic rename.
 */
import { mkdir, open, readdir, readFile, rm, stat, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { alreadyExists, invalidArgument, notFound, unavailable } from '../errors.js';
import { isDigest, validateDigest, type Digest } from './digest.js';
import type { ContentStore, Info, Status, Writer, WriterOptions } from './content.js';
import { ContentLayout, type IngestMeta } from './content-fs-layout.js';
import { openFsWriter, type WriterHost } from './content-fs-writer.js';

/** Default cap for `readAll`, matching the JSON blob limit of the image-spec parser. */
export const DEFAULT_READ_ALL_LIMIT = 4 * 1024 * 1024;
/** containerd's limit on one label (key + value), so labels stay small metadata. */
const MAX_LABEL_BYTES = 4096;

/** InvalidArgument for an empty key or a label over containerd's 4096 bytes; shared by every store that keeps content labels. */
export function validateContentLabels(labels: Record<string, string>): void {
  for (const [k, v] of Object.entries(labels)) {
    if (k.length === 0 || Buffer.byteLength(k) + Buffer.byteLength(v) > MAX_LABEL_BYTES) {
      throw invalidArgument(`label ${JSON.stringify(k.slice(0, 64))} is empty or longer than ${MAX_LABEL_BYTES} bytes`);
    }
  }
}

/** A ContentStore rooted at a directory; create it with `FsContentStore.open(root)`. */
export class FsContentStore implements ContentStore {
  private readonly layout: ContentLayout;
  private readonly locked = new Set<string>();

  private constructor(root: string) {
    this.layout = new ContentLayout(root);
  }

  /** Creates the directory layout if needed and returns the store. */
  static async open(root: string): Promise<FsContentStore> {
    const store = new FsContentStore(root);
    await mkdir(store.layout.blobsDir(), { recursive: true });
    await mkdir(store.layout.labelsDir(), { recursive: true });
    await mkdir(store.layout.ingestRoot(), { recursive: true });
    return store;
  }

  /** The root directory, for diagnostics. */
  get root(): string {
    return this.layout.root;
  }

  async info(digest: Digest): Promise<Info> {
    const info = await this.blobInfo(validateDigest(digest));
    if (info === undefined) throw notFound(`content ${digest} not found`, { fields: { digest } });
    return info;
  }

  async reader(digest: Digest, options: { offset?: number } = {}): Promise<Readable> {
    const path = this.layout.blobPath(validateDigest(digest));
    const offset = options.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw invalidArgument(`invalid read offset ${offset}`);
    const fh = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw notFound(`content ${digest} not found`, { fields: { digest } });
      throw err;
    });
    const { size } = await fh.stat();
    if (offset > size) {
      await fh.close();
      throw invalidArgument(`read offset ${offset} is past the end of ${digest} (${size} bytes)`, { fields: { digest } });
    }
    return fh.createReadStream({ start: offset, autoClose: true });
  }

  async readAll(digest: Digest, options: { maxBytes?: number } = {}): Promise<Buffer> {
    const max = options.maxBytes ?? DEFAULT_READ_ALL_LIMIT;
    const info = await this.info(digest);
    if (info.size > max) {
      throw invalidArgument(`content ${digest} is ${info.size} bytes, over the ${max} byte limit for in-memory reads`, {
        fields: { digest, size: info.size, limit: max },
      });
    }
    return readFile(this.layout.blobPath(digest));
  }

  async writer(options: WriterOptions): Promise<Writer> {
    const ref = options.ref;
    if (typeof ref !== 'string' || ref.length === 0) throw invalidArgument('content writer needs a non-empty ref');
    const expected = {
      ...(options.expected?.digest !== undefined ? { digest: validateDigest(options.expected.digest) } : {}),
      ...(options.expected?.size !== undefined ? { size: validateExpectedSize(options.expected.size) } : {}),
    };
    if (this.locked.has(ref)) throw unavailable(`ref ${ref} is locked by another writer`, { fields: { ref } });
    if (expected.digest !== undefined && (await this.blobInfo(expected.digest)) !== undefined) {
      throw alreadyExists(`content ${expected.digest} already exists`, { fields: { digest: expected.digest } });
    }
    this.locked.add(ref);
    try {
      return await openFsWriter(this.host(), ref, expected);
    } catch (err) {
      this.locked.delete(ref);
      throw err;
    }
  }

  async status(ref: string): Promise<Status> {
    const status = await this.readStatus(this.layout.ingestDir(ref));
    if (status === undefined || status.ref !== ref) throw notFound(`ingest ${ref} not found`, { fields: { ref } });
    return status;
  }

  async listStatuses(): Promise<Status[]> {
    const names = await readdir(this.layout.ingestRoot()).catch(() => [] as string[]);
    const out: Status[] = [];
    for (const name of names) {
      const status = await this.readStatus(join(this.layout.ingestRoot(), name));
      if (status !== undefined) out.push(status);
    }
    return out;
  }

  async abort(ref: string): Promise<void> {
    if (this.locked.has(ref)) throw unavailable(`ref ${ref} is locked by an active writer`, { fields: { ref } });
    const dir = this.layout.ingestDir(ref);
    const exists = await stat(dir).then(() => true, () => false);
    if (!exists) throw notFound(`ingest ${ref} not found`, { fields: { ref } });
    await rm(dir, { recursive: true, force: true });
  }

  async list(): Promise<Info[]> {
    const names = await readdir(this.layout.blobsDir());
    const out: Info[] = [];
    for (const name of names.sort()) {
      const digest = `sha256:${name}`;
      if (!isDigest(digest)) continue;
      const info = await this.blobInfo(digest);
      if (info !== undefined) out.push(info);
    }
    return out;
  }

  async update(digest: Digest, labels: Record<string, string>): Promise<Info> {
    await this.info(digest);
    await this.writeLabels(digest, labels);
    return this.info(digest);
  }

  async delete(digest: Digest): Promise<void> {
    const path = this.layout.blobPath(validateDigest(digest));
    await rm(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw notFound(`content ${digest} not found`, { fields: { digest } });
      throw err;
    });
    await rm(this.layout.labelsPath(digest), { force: true });
  }

  /** Info of a blob or undefined; the writer uses it to detect AlreadyExists. */
  private async blobInfo(digest: Digest): Promise<Info | undefined> {
    let st;
    try {
      st = await stat(this.layout.blobPath(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const { labels, updatedAt } = await this.readLabels(digest);
    return { digest, size: st.size, createdAt: st.mtime, updatedAt: updatedAt ?? st.mtime, labels };
  }

  private async readLabels(digest: Digest): Promise<{ labels: Record<string, string>; updatedAt?: Date }> {
    const path = this.layout.labelsPath(digest);
    try {
      const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      const parsed: unknown = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { labels: {} };
      const labels: Record<string, string> = {};
      for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') labels[k] = v;
      return { labels, updatedAt: st.mtime };
    } catch {
      return { labels: {} };
    }
  }

  private async writeLabels(digest: Digest, labels: Record<string, string>): Promise<void> {
    validateContentLabels(labels);
    const path = this.layout.labelsPath(digest);
    if (Object.keys(labels).length === 0) {
      await rm(path, { force: true });
      return;
    }
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, JSON.stringify(labels));
    await rename(tmp, path);
  }

  private async readStatus(dir: string): Promise<Status | undefined> {
    let meta: IngestMeta;
    try {
      meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as IngestMeta;
    } catch {
      return undefined;
    }
    if (typeof meta.ref !== 'string') return undefined;
    const st = await stat(join(dir, 'data')).catch(() => undefined);
    return {
      ref: meta.ref,
      offset: st?.size ?? 0,
      ...(meta.total !== undefined ? { total: meta.total } : {}),
      ...(meta.expected !== undefined ? { expected: meta.expected } : {}),
      startedAt: new Date(meta.startedAt),
      updatedAt: st?.mtime ?? new Date(meta.startedAt),
    };
  }

  private host(): WriterHost {
    return {
      layout: this.layout,
      release: (ref) => this.locked.delete(ref),
      blobInfo: (digest) => this.blobInfo(digest),
      writeLabels: (digest, labels) => this.writeLabels(digest, labels),
    };
  }
}

/** A writer's expected size, checked at the door. */
export function validateExpectedSize(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`invalid expected size ${size}`);
  return size;
}
