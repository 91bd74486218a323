/**
 * The two writers a namespace's content view hands out (containerd's
 * metadata namespacedWriter): one over a backend ingest, whose commit adds
 * the verified blob to the namespace; and one for a blob the shared backend
 * already holds, which starts complete and commits without any data.
 */
import { invalidArgument, isRuntimeError } from '../../errors.js';
import type { CommitOptions, Expected, Info, Writer } from '../../snapshot/content.js';
import { validateContentLabels } from '../../snapshot/content-fs.js';
import type { Digest } from '../../snapshot/digest.js';

/** What the writers need of the namespaced store. */
export interface WriterHost {
  /** Runs a commit so that no sweep of unrecorded backend blobs sees the blob between its commit and its record. */
  commitGate<T>(fn: () => Promise<T>): Promise<T>;
  /** Adds `digest` to the namespace (AlreadyExists if it is there). */
  addRecord(digest: Digest, size: number, labels: Record<string, string>): Info;
  /** Checks the backend still has the blob (NotFound otherwise). */
  backendInfo(digest: Digest): Promise<Info>;
  /** Called once when the writer is finished: frees its ref (and the pin of a shared blob). */
  release(): void;
}

/** Writes into a backend ingest; the commit verifies there, then records the blob in the namespace. */
export class NamespacedWriter implements Writer {
  private done = false;

  constructor(
    readonly ref: string,
    private readonly inner: Writer,
    private readonly host: WriterHost,
    /** The expected digest when the backend ingest was opened without it (the backend holds a blob of that digest but another size). */
    private readonly expectedDigest?: Digest,
  ) {}

  offset(): number {
    return this.inner.offset();
  }

  digest(): Digest {
    return this.inner.digest();
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.inner.write(chunk);
  }

  async commit(expected?: Expected, options: CommitOptions = {}): Promise<Info> {
    try {
      const labels = options.labels ?? {};
      validateContentLabels(labels);
      // Labels live in the namespace's record, not beside the shared blob.
      const verify: Expected = { ...expected, ...(expected?.digest === undefined && this.expectedDigest !== undefined ? { digest: this.expectedDigest } : {}) };
      return await this.host.commitGate(async () => {
        const committed = await this.inner.commit(verify).catch((err: unknown) => {
          // Verified bytes another namespace (or an earlier write) already stored: this namespace gets its record.
          if (isRuntimeError(err, 'AlreadyExists')) return undefined;
          throw err;
        });
        return this.host.addRecord(committed?.digest ?? this.inner.digest(), committed?.size ?? this.inner.offset(), labels);
      });
    } catch (err) {
      await this.inner.abort().catch(() => undefined);
      throw err;
    } finally {
      this.finish();
    }
  }

  async close(): Promise<void> {
    try {
      await this.inner.close();
    } finally {
      this.finish();
    }
  }

  async abort(): Promise<void> {
    try {
      await this.inner.abort();
    } finally {
      this.finish();
    }
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.host.release();
  }
}

/**
 * containerd's "shared" content policy: a writer opened with an expected
 * digest the backend holds for another namespace (and the same size, or
 * none given) is complete from the start. Its offset is the blob's size, so
 * a client (ctr's fetch, our pull) goes straight to commit, which records
 * the blob in this namespace: nothing is sent again.
 */
export class SharedWriter implements Writer {
  private done = false;

  constructor(
    readonly ref: string,
    private readonly blob: Digest,
    private readonly size: number,
    private readonly host: WriterHost,
  ) {}

  offset(): number {
    return this.size;
  }

  digest(): Digest {
    return this.blob;
  }

  /** Any data is past the blob's end, as for a full ingest (a client starting over at 0 reopens without the digest). */
  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen();
    if (chunk.length === 0) return;
    this.finish();
    throw invalidArgument(`content ${this.ref}: more data than the expected ${this.size} bytes`, { fields: { ref: this.ref, expectedSize: this.size } });
  }

  async commit(expected: Expected = {}, options: CommitOptions = {}): Promise<Info> {
    this.assertOpen();
    try {
      if (expected.size !== undefined && expected.size !== this.size) {
        throw invalidArgument(`content ${this.ref}: size mismatch: expected ${expected.size} bytes, got ${this.size} (truncated or oversized write)`, {
          fields: { ref: this.ref, expectedSize: expected.size, actualSize: this.size },
        });
      }
      if (expected.digest !== undefined && expected.digest !== this.blob) {
        throw invalidArgument(`content ${this.ref}: digest mismatch: expected ${expected.digest}, got ${this.blob}`, {
          fields: { ref: this.ref, expected: expected.digest, actual: this.blob },
        });
      }
      const labels = options.labels ?? {};
      validateContentLabels(labels);
      return await this.host.commitGate(async () => {
        await this.host.backendInfo(this.blob);
        return this.host.addRecord(this.blob, this.size, labels);
      });
    } finally {
      this.finish();
    }
  }

  async close(): Promise<void> {
    this.finish();
  }

  async abort(): Promise<void> {
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.host.release();
  }

  private assertOpen(): void {
    if (this.done) throw invalidArgument(`content writer ${this.ref} is closed`, { fields: { ref: this.ref } });
  }
}
