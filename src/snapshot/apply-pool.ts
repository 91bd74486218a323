/**
 * The applier's worker threads, pooled. Extraction is CPU- and
 * syscall-bound, so threads beyond the cores buy nothing but memory (each
 * costs ~10-15 MB while it works, ~45 MB before gzip input stopped being
 * copied). At most `size` threads exist (default: one more than the cores,
 * so a thread waiting on zlib or the disk leaves no core idle: on 2 cores,
 * 3 threads pulled a 3-layer image ~5% faster than 2, for ~8 MB), each
 * reused layer after layer and pull after pull; a thread idle for `idleMs`
 * ends. A thread is only reused after it finished a layer cleanly;
 * one that failed or was aborted is terminated (that is what guarantees
 * nothing writes into an aborted target) and replaced on demand.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './apply-protocol.js';
import { packageRoot } from '../package-root.js';

/** The thread's program, found from the package root: this module may run from the daemon's one-file bundle. */
const WORKER_SCRIPT = join(packageRoot(import.meta.url), 'dist', 'src', 'snapshot', 'apply-worker.js');

/**
 * Bytes a thread can have in flight (the size of the shared ring the layer
 * bytes travel through; no buffer is allocated or transferred per chunk).
 * Bigger windows bought no speed and cost RSS: applying one 180 MB layer
 * peaked at ~190 MB with 4 MiB in flight, ~125 MB with 1 MiB.
 */
export const RING_BYTES = 1 << 20;

/** The default size's ceiling: an image with many small layers on a big machine should not start dozens of threads. */
const MAX_DEFAULT_SIZE = 8;

/** A pool thread with its ring, lent to one layer at a time. */
export interface PooledWorker {
  readonly worker: Worker;
  /** The shared ring this thread reads layer bytes from (the lender writes it). */
  readonly ring: Uint8Array;
}

/** Pool settings; the defaults suit the daemon. */
export interface ExtractorPoolOptions {
  /** Most threads at once (default: the number of cores plus one, at most 8). */
  size?: number;
  /** An idle thread ends after this long (default 30 s). */
  idleMs?: number;
}

interface Idle {
  pooled: PooledWorker;
  timer: NodeJS.Timeout;
}

/** A bounded set of reusable extraction threads; see the file comment. */
export class ExtractorPool {
  readonly size: number;
  private readonly idleMs: number;
  private readonly idle: Idle[] = [];
  private readonly waiters: Array<(w: PooledWorker) => void> = [];
  /** Threads that exist (idle or lent). */
  private readonly live = new Set<Worker>();

  constructor(options: ExtractorPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? Math.min(availableParallelism() + 1, MAX_DEFAULT_SIZE)));
    this.idleMs = options.idleMs ?? 30_000;
  }

  /** Threads alive now, idle ones included (tests, diagnostics). */
  get threads(): number {
    return this.live.size;
  }

  /** A thread now, or undefined when all `size` are busy (the caller can do something else meanwhile). */
  tryAcquire(): PooledWorker | undefined {
    if (this.waiters.length > 0) return undefined; // first come, first served
    const idle = this.idle.pop();
    if (idle !== undefined) {
      clearTimeout(idle.timer);
      idle.pooled.worker.ref();
      return idle.pooled;
    }
    if (this.live.size < this.size) return this.spawn();
    return undefined;
  }

  /** A thread, waiting (first come, first served) while all `size` are busy. */
  acquire(): Promise<PooledWorker> {
    const now = this.tryAcquire();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Takes back a thread that finished its layer cleanly: it serves the next waiter or idles. */
  release(pooled: PooledWorker): void {
    const next = this.waiters.shift();
    if (next !== undefined) {
      next(pooled);
      return;
    }
    pooled.worker.unref(); // an idle thread never keeps the daemon (or a test run) alive
    const timer = setTimeout(() => this.retire(pooled), this.idleMs);
    timer.unref();
    this.idle.push({ pooled, timer });
  }

  /** Ends a thread that failed or was aborted; resolves once it can no longer touch anything. A waiter gets a fresh one. */
  async discard(pooled: PooledWorker): Promise<void> {
    await pooled.worker.terminate().catch(() => undefined);
    this.live.delete(pooled.worker);
    this.refill();
  }

  /** Ends every idle thread now (tests; lent threads end when they come back and idle out). */
  async drain(): Promise<void> {
    const idle = this.idle.splice(0);
    await Promise.all(idle.map(async ({ pooled, timer }) => {
      clearTimeout(timer);
      await pooled.worker.terminate().catch(() => undefined);
      this.live.delete(pooled.worker);
    }));
  }

  /** Ends an idle thread (its idle time ran out, or it died on its own). */
  private retire(pooled: PooledWorker): void {
    const at = this.idle.findIndex((i) => i.pooled === pooled);
    if (at !== -1) clearTimeout((this.idle.splice(at, 1)[0] as Idle).timer);
    this.live.delete(pooled.worker);
    void pooled.worker.terminate().catch(() => undefined);
    this.refill();
  }

  /** Gives waiters fresh threads while there is room (after a thread ended). */
  private refill(): void {
    while (this.waiters.length > 0 && this.live.size < this.size) (this.waiters.shift() as (w: PooledWorker) => void)(this.spawn());
  }

  private spawn(): PooledWorker {
    const ring = new SharedArrayBuffer(RING_BYTES);
    const init: WorkerInit = { ring };
    const worker = new Worker(WORKER_SCRIPT, { workerData: init });
    const pooled = { worker, ring: new Uint8Array(ring) };
    worker.on('error', () => undefined); // a lender listens while it holds the thread
    worker.on('exit', () => this.retire(pooled)); // never lend out a dead thread
    this.live.add(worker);
    return pooled;
  }
}

let shared: ExtractorPool | undefined;

/** The process-wide pool every layer apply uses unless given another. */
export function defaultExtractorPool(): ExtractorPool {
  shared ??= new ExtractorPool();
  return shared;
}
