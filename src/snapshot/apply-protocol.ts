/** The messages between the applier (apply.ts) and its pooled worker threads (apply-worker.ts, apply-pool.ts). */
import type { ErrorKind } from '../errors.js';
import type { EntryLimits } from './layer-entry.js';

/** What a thread gets once, at start: the ring the layer bytes travel through (shared memory: no buffer is allocated or transferred per chunk). */
export interface WorkerInit {
  ring: SharedArrayBuffer;
}

/** One layer to extract. */
export interface ApplyJob {
  mediaType: string;
  /** Real path of the target directory (no symlinks). */
  root: string;
  privileged: boolean;
  limits: EntryLimits;
}

/**
 * A new layer (its bytes start at ring offset 0), `bytes` more of its bytes
 * in the ring after the previous ones, or the end of them.
 */
export type ToWorker = { type: 'start'; job: ApplyJob } | { type: 'data'; bytes: number } | { type: 'end' };

/** Flow-control credit (ring bytes the extraction is done with), the result, or the error (a RuntimeError's parts). */
export type FromWorker =
  | { type: 'ack'; bytes: number }
  | { type: 'done'; diffId: string; size: number }
  | { type: 'error'; kind: ErrorKind; message: string; fields: Record<string, string | number | boolean | undefined> };
