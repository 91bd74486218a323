/** The messages between the applier (apply.ts) and its worker thread (apply-worker.ts). */
import type { ErrorKind } from '../errors.js';
import type { EntryLimits } from './layer-entry.js';

/** What the worker extracts, given at start as workerData. */
export interface ApplyJob {
  mediaType: string;
  /** Real path of the target directory (no symlinks). */
  root: string;
  privileged: boolean;
  limits: EntryLimits;
  /** The ring the layer bytes travel through (shared memory: no buffer is allocated or transferred per chunk). */
  ring: SharedArrayBuffer;
}

/** `bytes` more layer bytes are in the ring after the previous ones, or the end of them. */
export type ToWorker = { type: 'data'; bytes: number } | { type: 'end' };

/** Flow-control credit, the result, or the error (a RuntimeError's parts). */
export type FromWorker =
  | { type: 'ack'; bytes: number }
  | { type: 'done'; diffId: string; size: number }
  | { type: 'error'; kind: ErrorKind; message: string; fields: Record<string, string | number | boolean | undefined> };
