/**
 * Staging for an archive import: each blob is streamed into its own ingest
 * and verified against the digest in its file name, but not committed. Only
 * when the whole archive has been read and its references check out are the
 * ingests committed; otherwise all are aborted. So a failed import commits
 * nothing and leaves no partial ingest. Small JSON-looking blobs are kept in
 * memory so manifests can be read before they are committed.
 */
import { randomUUID } from 'node:crypto';
import { posix } from 'node:path';
import { invalidArgument, isRuntimeError } from '../errors.js';
import { MAX_JSON_BLOB_BYTES, type Descriptor } from '../oci/image-types.js';
import { isComplete, type ContentStore, type Writer, type WriterOptions } from './content.js';
import { detect, type Compression } from './decompress.js';
import { digestFromHash, newDigester, validateDigest, type Digest } from './digest.js';

/** containerd's GC reference label prefix: a blob keeps what these labels name alive. */
export const GC_REF_CONTENT = 'containerd.io/gc.ref.content';

/**
 * A path inside the archive, normalised (`./a//b` → `a/b`); InvalidArgument
 * for one that leaves it (`../x`, `/etc/passwd`), so no reference can reach
 * outside what the archive holds.
 */
export function archivePath(raw: string, what: string): string {
  const name = posix.normalize(raw.replace(/^(\.\/)+/, '')).replace(/\/+$/, '');
  if (raw.startsWith('/') || name === '..' || name.startsWith('../') || name === '.' || name === '') {
    throw invalidArgument(`${what} ${JSON.stringify(raw)} leaves the archive (absolute or ../ path)`, { fields: { path: raw } });
  }
  return name;
}

/** Verified blobs of one import, awaiting commit. */
export class BlobStager {
  private readonly importId = randomUUID();
  private readonly staged = new Map<Digest, Writer>();
  private readonly sizes = new Map<Digest, number>();
  private readonly json = new Map<Digest, Buffer>();
  /** Compression seen at the start of each blob (docker archives name layers without media types). */
  private readonly compression = new Map<Digest, Compression>();
  private unnamed = 0;

  constructor(private readonly content: ContentStore) {}

  /** True once `digest` was seen in this archive. */
  has(digest: Digest): boolean {
    return this.sizes.has(digest);
  }

  /**
   * Streams one blob, verifying it is exactly `size` bytes hashing to
   * `digest`. A blob already in the store is only hashed, not rewritten; so
   * is one whose writer is complete at open (another namespace holds it),
   * which is then committed like any staged blob.
   */
  async stage(digest: Digest, size: number, body: AsyncIterable<Buffer>): Promise<void> {
    const expected = { digest, size };
    const writer = (await this.isStored(digest)) ? undefined : await this.openWriter({ ref: `import-${this.importId}-${digest}`, expected });
    const copied = await this.copy(body, writer !== undefined && isComplete(writer, expected) ? undefined : writer);
    if (copied.size !== size || copied.digest !== digest) {
      await writer?.abort();
      throw invalidArgument(`blob ${digest} in the archive does not match its name: expected ${digest} (${size} bytes), got ${copied.digest} (${copied.size} bytes)`, {
        fields: { expected: digest, actual: copied.digest },
      });
    }
    this.keep(digest, writer, copied);
  }

  /**
   * Streams a file whose digest is not in its name (a docker save archive's
   * `<id>/layer.tar`, `<id>.json`): the digest is computed, and the file is
   * staged under it like any blob. Returns the digest.
   */
  async stageFile(size: number, body: AsyncIterable<Buffer>): Promise<Digest> {
    const writer = await this.openWriter({ ref: `import-${this.importId}-file-${this.unnamed++}`, expected: { size } });
    const copied = await this.copy(body, writer);
    if (copied.size !== size) {
      await writer?.abort();
      throw invalidArgument(`archive file is ${copied.size} bytes, its tar header says ${size}`);
    }
    if (this.has(copied.digest) || (await this.isStored(copied.digest))) {
      await writer?.abort();
      if (!this.has(copied.digest)) this.keep(copied.digest, undefined, copied);
    } else {
      this.keep(copied.digest, writer, copied);
    }
    return copied.digest;
  }

  /** Stages bytes made during the import (a manifest built for a docker archive). */
  async stageBuffer(data: Buffer): Promise<Descriptor> {
    const digest = digestFromHash(newDigester().update(data));
    if (!this.has(digest)) await this.stage(digest, data.length, (async function* () {
      yield data;
    })());
    return { mediaType: '', digest, size: data.length };
  }

  /** The size of a staged blob; undefined if it was not in the archive. */
  sizeOf(digest: Digest): number | undefined {
    return this.sizes.get(digest);
  }

  /** The compression a staged blob starts with. */
  compressionOf(digest: Digest): Compression {
    return this.compression.get(digest) ?? 'none';
  }

  private async isStored(digest: Digest): Promise<boolean> {
    return this.content.info(digest).then(
      () => true,
      (err: unknown) => {
        if (isRuntimeError(err, 'NotFound')) return false;
        throw err;
      },
    );
  }

  /** Copies a body into the writer (if any), hashing it and keeping small JSON in memory. */
  private async copy(body: AsyncIterable<Buffer>, writer: Writer | undefined): Promise<Copied> {
    const hash = newDigester();
    const json: Buffer[] = [];
    let looksJson: boolean | undefined;
    let head: Buffer | undefined;
    let size = 0;
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.length;
        if (head === undefined || head.length < 8) head = Buffer.concat([head ?? Buffer.alloc(0), chunk.subarray(0, 8)]);
        if (writer !== undefined) await writer.write(chunk);
        if (looksJson !== false) {
          if (looksJson === undefined) looksJson = startsLikeJson(chunk);
          if (looksJson !== false) json.push(chunk);
          if (size > MAX_JSON_BLOB_BYTES) looksJson = false;
        }
      }
    } catch (err) {
      await writer?.abort();
      throw err;
    }
    return { digest: digestFromHash(hash), size, json: looksJson === true ? Buffer.concat(json) : undefined, compression: detect(head ?? Buffer.alloc(0)) };
  }

  private keep(digest: Digest, writer: Writer | undefined, copied: Copied): void {
    if (writer !== undefined) this.staged.set(digest, writer);
    this.sizes.set(digest, copied.size);
    this.compression.set(digest, copied.compression);
    if (copied.json !== undefined) this.json.set(digest, copied.json);
  }

  /** A writer for a new blob, or undefined if the blob was committed meanwhile (then it is only hashed). */
  private async openWriter(options: WriterOptions): Promise<Writer | undefined> {
    try {
      return await this.content.writer(options);
    } catch (err) {
      if (isRuntimeError(err, 'AlreadyExists')) return undefined;
      throw err;
    }
  }

  /** The bytes of a staged or stored JSON blob, checked against the descriptor's size. */
  async read(desc: Descriptor): Promise<Buffer> {
    const digest = validateDigest(desc.digest);
    this.requirePresent(desc);
    const data = this.json.get(digest);
    if (data !== undefined) return data;
    if (this.staged.has(digest)) throw invalidArgument(`blob ${digest} is not a JSON document`, { fields: { digest } });
    return this.content.readAll(digest, { maxBytes: MAX_JSON_BLOB_BYTES });
  }

  /** InvalidArgument unless the descriptor's blob is in this archive (or already stored) with its size. */
  requirePresent(desc: Descriptor): void {
    const digest = validateDigest(desc.digest);
    const size = this.sizes.get(digest);
    if (size === undefined) throw invalidArgument(`blob ${digest} is referenced but missing from the archive`, { fields: { digest } });
    if (size !== desc.size) {
      throw invalidArgument(`blob ${digest} is ${size} bytes, its descriptor says ${desc.size}`, { fields: { digest } });
    }
  }

  /** Commits every staged blob; a blob that appeared meanwhile is fine. */
  async commitAll(): Promise<void> {
    await this.commitSelected(new Map([...this.staged.keys()].map((d) => [d, {}])));
  }

  /**
   * Commits the blobs in `selected` with their labels (containerd's GC
   * reference labels, merged into a blob that is already stored) and aborts
   * every other staged blob: what the archive holds but the images do not
   * reference (other platforms, docker's extra files) is not kept.
   */
  async commitSelected(selected: Map<Digest, Record<string, string>>): Promise<void> {
    for (const [digest, writer] of this.staged) {
      const labels = selected.get(digest);
      if (labels === undefined) continue;
      try {
        await writer.commit(undefined, { labels });
      } catch (err) {
        if (!isRuntimeError(err, 'AlreadyExists')) throw err;
        await this.mergeLabels(digest, labels);
      }
      this.staged.delete(digest);
    }
    for (const [digest, labels] of selected) if (!this.staged.has(digest)) await this.mergeLabels(digest, labels);
    await this.abortAll();
  }

  private async mergeLabels(digest: Digest, labels: Record<string, string>): Promise<void> {
    if (Object.keys(labels).length === 0) return;
    const info = await this.content.info(digest);
    if (Object.entries(labels).some(([k, v]) => info.labels[k] !== v)) await this.content.update(digest, { ...info.labels, ...labels });
  }

  /** Removes every uncommitted ingest of this import. */
  async abortAll(): Promise<void> {
    for (const writer of this.staged.values()) await writer.abort().catch(() => undefined);
    this.staged.clear();
  }
}

/** What copying one blob found. */
interface Copied {
  digest: Digest;
  size: number;
  /** The bytes, when small and starting like a JSON object. */
  json: Buffer | undefined;
  compression: Compression;
}

function startsLikeJson(chunk: Buffer): boolean | undefined {
  for (const b of chunk) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b; // '{'
  }
  return undefined; // only whitespace so far
}
