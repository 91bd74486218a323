/**
 * The writer of the filesystem content store: appends to
 * `ingest/<h(ref)>/data` while hashing, then verifies and renames the data to
 * `blobs/sha256/<hex>` in one atomic step. A failed verification removes the
 * ingest, so a bad or truncated write leaves nothing behind.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat, writeFile, chmod, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hash } from 'node:crypto';
import { alreadyExists, invalidArgument } from '../errors.js';
import { digestFromHash, newDigester, type Digest } from './digest.js';
import type { CommitOptions, Expected, Info, Writer } from './content.js';
import type { ContentLayout, IngestMeta } from './content-fs-layout.js';

/** Hooks the store gives its writers, so locking and labels stay in the store. */
export interface WriterHost {
  layout: ContentLayout;
  release(ref: string): void;
  blobInfo(digest: Digest): Promise<Info | undefined>;
  writeLabels(digest: Digest, labels: Record<string, string>): Promise<void>;
}

/** Opens (or resumes) the ingest for `ref`; the caller already holds the ref lock. */
export async function openFsWriter(host: WriterHost, ref: string, expected: Expected): Promise<Writer> {
  const dir = host.layout.ingestDir(ref);
  await mkdir(dir, { recursive: true });
  const dataPath = join(dir, 'data');
  const metaPath = join(dir, 'meta.json');
  const previous = await readMeta(metaPath);
  const resumable =
    previous !== undefined &&
    previous.ref === ref &&
    (expected.digest === undefined || previous.expected === undefined || previous.expected === expected.digest);
  const meta: IngestMeta = {
    ref,
    startedAt: resumable ? previous.startedAt : new Date().toISOString(),
    ...(expected.size !== undefined ? { total: expected.size } : {}),
    ...(expected.digest !== undefined ? { expected: expected.digest } : {}),
  };
  await writeFile(metaPath, JSON.stringify(meta));
  let hash = newDigester();
  let offset = resumable ? await rehash(dataPath, hash) : 0;
  if (expected.size !== undefined && offset > expected.size) {
    hash = newDigester();
    offset = 0;
  }
  const fh = await open(dataPath, offset > 0 ? 'a' : 'w', 0o644);
  return new FsWriter(host, ref, expected, dir, dataPath, fh, hash, offset, meta);
}

async function readMeta(path: string): Promise<IngestMeta | undefined> {
  try {
    const parsed: unknown = JSON.parse(await readFile(path, 'utf8'));
    if (parsed !== null && typeof parsed === 'object' && typeof (parsed as IngestMeta).ref === 'string') return parsed as IngestMeta;
    return undefined;
  } catch {
    return undefined;
  }
}

/** Feeds existing partial data into `hash`, returning its length (0 if none). */
async function rehash(dataPath: string, hash: Hash): Promise<number> {
  let size = 0;
  try {
    for await (const chunk of createReadStream(dataPath)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  return size;
}

class FsWriter implements Writer {
  private done = false;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: WriterHost,
    readonly ref: string,
    private readonly expected: Expected,
    private readonly dir: string,
    private readonly dataPath: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash,
    private written: number,
    private readonly meta: IngestMeta,
  ) {}

  offset(): number {
    return this.written;
  }

  digest(): Digest {
    return digestFromHash(this.hash.copy());
  }

  write(chunk: Uint8Array): Promise<void> {
    const run = this.queue.then(() => this.doWrite(chunk));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async doWrite(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    const limit = this.expected.size;
    if (limit !== undefined && this.written + chunk.length > limit) {
      await this.abort();
      throw invalidArgument(`content ${this.ref}: more data than the expected ${limit} bytes`, {
        fields: { ref: this.ref, expectedSize: limit },
      });
    }
    let pos = 0;
    while (pos < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, pos, chunk.length - pos);
      pos += bytesWritten;
    }
    this.hash.update(chunk);
    this.written += chunk.length;
  }

  async commit(override: Expected = {}, options: CommitOptions = {}): Promise<Info> {
    await this.queue;
    this.assertOpen();
    const size = override.size ?? this.expected.size;
    const expectedDigest = override.digest ?? this.expected.digest;
    const actual = this.digest();
    try {
      await this.fh.sync();
      if (size !== undefined && this.written !== size) {
        throw invalidArgument(
          `content ${this.ref}: size mismatch: expected ${size} bytes, got ${this.written} (truncated or oversized write)`,
          { fields: { ref: this.ref, expectedSize: size, actualSize: this.written } },
        );
      }
      if (expectedDigest !== undefined && actual !== expectedDigest) {
        throw invalidArgument(`content ${this.ref}: digest mismatch: expected ${expectedDigest}, got ${actual}`, {
          fields: { ref: this.ref, expected: expectedDigest, actual },
        });
      }
      if ((await this.host.blobInfo(actual)) !== undefined) {
        throw alreadyExists(`content ${actual} already exists`, { fields: { digest: actual } });
      }
      const target = this.host.layout.blobPath(actual);
      await this.fh.close();
      await chmod(this.dataPath, 0o444);
      await rename(this.dataPath, target);
      if (options.labels !== undefined && Object.keys(options.labels).length > 0) {
        await this.host.writeLabels(actual, options.labels);
      }
      await this.finish(true);
      const st = await stat(target);
      return { digest: actual, size: st.size, createdAt: st.mtime, updatedAt: st.mtime, labels: options.labels ?? {} };
    } catch (err) {
      await this.finish(true);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.queue;
    if (this.done) return;
    await this.finish(false);
  }

  async abort(): Promise<void> {
    if (this.done) return;
    await this.finish(true);
  }

  /** Closes the file, optionally removes the ingest, and releases the ref lock. */
  private async finish(remove: boolean): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      await this.fh.close().catch(() => undefined);
      if (remove) await rm(this.dir, { recursive: true, force: true });
      else await writeFile(join(this.dir, 'meta.json'), JSON.stringify(this.meta)).catch(() => undefined);
    } finally {
      this.host.release(this.ref);
    }
  }

  private assertOpen(): void {
    if (this.done) throw invalidArgument(`content writer ${this.ref} is closed`, { fields: { ref: this.ref } });
  }
}
