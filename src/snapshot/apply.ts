/**
 * The layer applier: decompress a layer, hash the uncompressed tar (its
 * diffID) in the same pass, and extract it into a directory under the
 * extraction rules of the design brief. A bad entry rejects the whole layer
 * with an error naming it; nothing is ever written outside the target.
 *
 * The work runs on a pool of worker threads (apply-pool.ts, apply-worker.ts;
 * as many as cores), so layers unpack in parallel, the daemon's event loop
 * stays free, and the writer can use synchronous filesystem calls.
 * `startLayerApply` takes the bytes chunk by chunk, which lets a pull
 * extract a layer while it downloads.
 */
import { realpath, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { internal, invalidArgument, isRuntimeError, RuntimeError } from '../errors.js';
import { defaultExtractorPool, type ExtractorPool, type PooledWorker } from './apply-pool.js';
import type { ApplyJob, FromWorker, ToWorker } from './apply-protocol.js';
import type { Digest } from './digest.js';
import { DEFAULT_ENTRY_LIMITS, type EntryLimits } from './layer-entry.js';

/** The identity of what was applied: diffID and byte count of the uncompressed tar. */
export interface ApplyResult {
  diffId: Digest;
  size: number;
}

/** Tunables; the defaults suit image layers. */
export interface ApplyOptions {
  limits?: EntryLimits;
  /** The threads to extract on (default: the process-wide pool). */
  pool?: ExtractorPool;
  /** A thread already taken from `pool` (tryAcquire) for this apply; it goes back to the pool whatever happens. */
  thread?: PooledWorker;
}

/** A layer being applied from bytes fed in order (a blob, or a download as it arrives). */
export interface LayerApply {
  /** Hands over the next bytes (copied); waits while the extraction is behind; rejects with the extraction's error. One write at a time. */
  write(chunk: Uint8Array): Promise<void>;
  /** Ends the input; resolves once every entry is written. */
  finish(): Promise<ApplyResult>;
  /** Stops the extraction; resolves once nothing writes into the target any more. What was written stays. */
  abort(): Promise<void>;
}

/**
 * Extracts `stream` (a layer blob of `mediaType`) into `targetDir`, which
 * must exist. gzip and plain tar are accepted; zstd is Unimplemented.
 */
export async function applyLayer(stream: Readable, mediaType: string, targetDir: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  let apply: LayerApply;
  try {
    apply = await startLayerApply(mediaType, targetDir, options);
  } catch (err) {
    stream.destroy();
    throw err;
  }
  try {
    for await (const chunk of stream) await apply.write(chunk as Uint8Array);
  } catch (err) {
    stream.destroy();
    await apply.abort();
    if (isRuntimeError(err)) throw err;
    throw internal(`layer: read failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return apply.finish();
}

/**
 * Starts applying a layer of `mediaType` into `targetDir` (an existing
 * directory); feed it with `write`. Runs on `options.thread` when given,
 * else waits for a pool thread while all are busy.
 */
export async function startLayerApply(mediaType: string, targetDir: string, options: ApplyOptions = {}): Promise<LayerApply> {
  const pool = options.pool ?? defaultExtractorPool();
  let root: string;
  try {
    root = await realDirectory(targetDir);
  } catch (err) {
    if (options.thread !== undefined) pool.release(options.thread);
    throw err;
  }
  return new WorkerApply(pool, options.thread ?? (await pool.acquire()), job(mediaType, root, options));
}

function job(mediaType: string, root: string, options: ApplyOptions): ApplyJob {
  return { mediaType, root, privileged: process.getuid?.() === 0, limits: options.limits ?? DEFAULT_ENTRY_LIMITS };
}

/** The main-thread side of one layer on a pool thread: flow control, result and error. */
class WorkerApply implements LayerApply {
  private readonly worker: Worker;
  private readonly ring: Uint8Array;
  private readonly result: Promise<ApplyResult>;
  private resolveResult!: (r: ApplyResult) => void;
  private rejectResult!: (e: unknown) => void;
  private writeAt = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private wakeUp: (() => void) | undefined;
  private settled = false;
  /** Settles once the thread went back to the pool (clean finish) or ended (anything else). */
  private returned: Promise<void> = Promise.resolve();
  private readonly onMessage = (m: FromWorker) => {
    if (m.type === 'ack') {
      this.inFlight -= m.bytes;
      this.wake();
    } else if (m.type === 'done') {
      this.settle(undefined, { diffId: m.diffId as Digest, size: m.size });
    } else {
      this.settle(new RuntimeError(m.kind, m.message, { fields: m.fields }));
    }
  };
  private readonly onError = (err: Error) => this.settle(internal(`layer applier failed: ${err.message}`, { cause: err }));
  private readonly onExit = (code: number) => this.settle(internal(`layer applier exited (code ${code}) before finishing`));

  constructor(
    private readonly pool: ExtractorPool,
    private readonly pooled: PooledWorker,
    job: ApplyJob,
  ) {
    this.worker = pooled.worker;
    this.ring = pooled.ring;
    this.result = new Promise<ApplyResult>((resolve, reject) => ((this.resolveResult = resolve), (this.rejectResult = reject)));
    this.result.catch(() => undefined);
    this.worker.on('message', this.onMessage).on('error', this.onError).on('exit', this.onExit);
    this.post({ type: 'start', job });
  }

  async write(chunk: Uint8Array): Promise<void> {
    for (let at = 0; at < chunk.byteLength; ) {
      if (this.failure !== undefined) throw this.failure;
      const room = this.ring.length - this.inFlight;
      if (room === 0) {
        await new Promise<void>((r) => (this.wakeUp = r));
        continue;
      }
      const n = Math.min(room, chunk.byteLength - at);
      this.putInRing(chunk.subarray(at, at + n));
      this.inFlight += n;
      this.post({ type: 'data', bytes: n });
      at += n;
    }
    if (this.failure !== undefined) throw this.failure;
  }

  async finish(): Promise<ApplyResult> {
    if (this.failure === undefined) this.post({ type: 'end' });
    return this.result;
  }

  async abort(): Promise<void> {
    this.settle(this.failure ?? invalidArgument('layer apply aborted'));
    await this.returned;
  }

  /**
   * The layer's outcome, once. A clean finish hands the thread back to the
   * pool; anything else (an error, an abort) ends it, and only then rejects,
   * so nothing writes into the target after a failure is reported.
   */
  private settle(err: Error | undefined, value?: ApplyResult): void {
    if (this.settled) return;
    this.settled = true;
    this.worker.off('message', this.onMessage).off('error', this.onError).off('exit', this.onExit);
    if (err !== undefined) this.failure ??= err; // an abort keeps its own reason
    this.wake();
    if (this.failure === undefined) {
      this.pool.release(this.pooled);
      this.resolveResult(value as ApplyResult);
      return;
    }
    const failure = this.failure;
    this.returned = this.pool.discard(this.pooled);
    void this.returned.then(() => this.rejectResult(failure));
  }

  /** Copies bytes into the ring after the previous ones, wrapping at its end. */
  private putInRing(bytes: Uint8Array): void {
    const first = Math.min(bytes.byteLength, this.ring.length - this.writeAt);
    this.ring.set(bytes.subarray(0, first), this.writeAt);
    if (first < bytes.byteLength) this.ring.set(bytes.subarray(first), 0);
    this.writeAt = (this.writeAt + bytes.byteLength) % this.ring.length;
  }

  private post(m: ToWorker): void {
    if (!this.settled) this.worker.postMessage(m);
  }

  private wake(): void {
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }
}

async function realDirectory(dir: string): Promise<string> {
  try {
    const real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (err) {
    throw invalidArgument(`apply target ${dir} is not an existing directory`, { cause: err });
  }
}
