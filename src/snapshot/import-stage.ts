/**
 * Staging for an archive import: each blob is streamed into its own ingest
 * and verified against the digest in its file name, but not committed. Only
 * when the whole archive has been read and its references check out are the
 * ingests committed; otherwise all are aborted. So a failed import commits
 * nothing and leaves no partial ingest. Small JSON-looking blobs are kept in
 * memory so manifests can be read before they are committed.
 */
import { randomUUID } from 'node:crypto';
import { invalidArgument, isRuntimeError } from '../errors.js';
import { MAX_JSON_BLOB_BYTES, type Descriptor } from '../oci/image-types.js';
import type { ContentStore, Writer } from './content.js';
import { digestFromHash, newDigester, validateDigest, type Digest } from './digest.js';

/** Verified blobs of one import, awaiting commit. */
export class BlobStager {
  private readonly importId = randomUUID();
  private readonly staged = new Map<Digest, Writer>();
  private readonly sizes = new Map<Digest, number>();
  private readonly json = new Map<Digest, Buffer>();

  constructor(private readonly content: ContentStore) {}

  /** True once `digest` was seen in this archive. */
  has(digest: Digest): boolean {
    return this.sizes.has(digest);
  }

  /**
   * Streams one blob, verifying it is exactly `size` bytes hashing to
   * `digest`. A blob already in the store is only hashed, not rewritten.
   */
  async stage(digest: Digest, size: number, body: AsyncIterable<Buffer>): Promise<void> {
    const present = await this.content.info(digest).then(
      () => true,
      (err: unknown) => {
        if (isRuntimeError(err, 'NotFound')) return false;
        throw err;
      },
    );
    const writer = present ? undefined : await this.openWriter(digest, size);
    const hash = newDigester();
    const keep: Buffer[] | undefined = size <= MAX_JSON_BLOB_BYTES ? [] : undefined;
    let looksJson: boolean | undefined;
    let seen = 0;
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        seen += chunk.length;
        if (writer !== undefined) await writer.write(chunk);
        if (keep !== undefined && looksJson !== false) {
          if (looksJson === undefined) looksJson = startsLikeJson(chunk);
          if (looksJson !== false) keep.push(chunk);
        }
      }
      const actual = digestFromHash(hash);
      if (seen !== size || actual !== digest) {
        throw invalidArgument(`blob ${digest} in the archive does not match its name: expected ${digest} (${size} bytes), got ${actual} (${seen} bytes)`, {
          fields: { expected: digest, actual },
        });
      }
    } catch (err) {
      await writer?.abort();
      throw err;
    }
    if (writer !== undefined) this.staged.set(digest, writer);
    this.sizes.set(digest, size);
    if (keep !== undefined && looksJson === true) this.json.set(digest, Buffer.concat(keep));
  }

  /** A writer for a new blob, or undefined if the blob was committed meanwhile (then it is only hashed). */
  private async openWriter(digest: Digest, size: number): Promise<Writer | undefined> {
    try {
      return await this.content.writer({ ref: `import-${this.importId}-${digest}`, expected: { digest, size } });
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
    for (const [digest, writer] of this.staged) {
      try {
        await writer.commit();
      } catch (err) {
        if (!isRuntimeError(err, 'AlreadyExists')) throw err;
      }
      this.staged.delete(digest);
    }
  }

  /** Removes every uncommitted ingest of this import. */
  async abortAll(): Promise<void> {
    for (const writer of this.staged.values()) await writer.abort().catch(() => undefined);
    this.staged.clear();
  }
}

function startsLikeJson(chunk: Buffer): boolean | undefined {
  for (const b of chunk) {
    if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
    return b === 0x7b; // '{'
  }
  return undefined; // only whitespace so far
}
