/**
 * The applier's worker thread (started by apply.ts, one per layer): it
 * receives the layer's bytes through a shared-memory ring, runs extractLayer on
 * them with synchronous filesystem calls, and answers with the diffID or the
 * error. Flow control: every chunk is acknowledged once the extraction has
 * taken it, so the sender never has more than its window in flight.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { isRuntimeError } from '../errors.js';
import { extractLayer } from './apply-extract.js';
import type { ApplyJob, FromWorker, ToWorker } from './apply-protocol.js';

const port = parentPort;
if (port === null) throw new Error('apply-worker.js must run as a worker thread');
const job = workerData as ApplyJob;
const post = (m: FromWorker) => port.postMessage(m);

let owed = 0;
const source = new Readable({
  highWaterMark: 256 << 10,
  read() {
    if (owed > 0) {
      post({ type: 'ack', bytes: owed });
      owed = 0;
    }
  },
});

const ring = new Uint8Array(job.ring);
let readAt = 0;

/** Copies the next `n` bytes out of the ring (the sender does not reuse them before they are acknowledged). */
function takeFromRing(n: number): Buffer {
  const chunk = Buffer.allocUnsafe(n);
  const first = Math.min(n, ring.length - readAt);
  chunk.set(ring.subarray(readAt, readAt + first), 0);
  if (first < n) chunk.set(ring.subarray(0, n - first), first);
  readAt = (readAt + n) % ring.length;
  return chunk;
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'data') {
    const chunk = takeFromRing(m.bytes);
    if (source.push(chunk)) post({ type: 'ack', bytes: chunk.length });
    else owed += chunk.length;
  } else {
    source.push(null);
  }
});

extractLayer(source, job.mediaType, job.root, job.privileged, job.limits).then(
  (result) => post({ type: 'done', diffId: result.diffId, size: result.size }),
  (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    post(isRuntimeError(err) ? { type: 'error', kind: err.kind, message, fields: err.fields } : { type: 'error', kind: 'Internal', message, fields: {} });
  },
).finally(() => source.destroy()); // the applier terminates this thread once it has the answer
