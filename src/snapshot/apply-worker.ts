/**
 * An applier thread (pooled by apply-pool.ts, driven by apply.ts). For each
 * layer it is given, it takes the bytes from the shared ring, decompresses
 * them, runs extractTar with synchronous filesystem calls and answers with
 * the diffID or the error; then it waits for the next layer.
 *
 * Flow control: ring bytes are acknowledged once nothing reads them any
 * more, so the sender never has more than the ring in flight and never
 * overwrites bytes still in use. gzip layers (nearly all) go to zlib
 * straight from the ring and are acknowledged when zlib has consumed them:
 * no copy and no allocation per chunk, which keeps the thread's garbage
 * (and so its RSS) down. Other layers are copied into the decompressor's
 * stream, acknowledged as it takes them.
 */
import { Readable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import type { Gunzip } from 'node:zlib';
import { isRuntimeError } from '../errors.js';
import { extractTar } from './apply-extract.js';
import type { ApplyJob, FromWorker, ToWorker, WorkerInit } from './apply-protocol.js';
import { createLayerGunzip, decompressStream, detect, layerCompression, MAGIC_BYTES } from './decompress.js';

const port = parentPort;
if (port === null) throw new Error('apply-worker.js must run as a worker thread');
const ring = new Uint8Array((workerData as WorkerInit).ring);
const post = (m: FromWorker) => port.postMessage(m);
const ack = (bytes: number) => post({ type: 'ack', bytes });

/** Where one layer's compressed bytes go once their format is known. */
interface Sink {
  feed(view: Uint8Array): void;
  end(): void;
}

/** gzip: zlib reads the ring directly; a view is acknowledged when zlib is done with it. */
class GunzipSink implements Sink {
  constructor(private readonly gunzip: Gunzip) {}

  feed(view: Uint8Array): void {
    this.gunzip.write(view, () => ack(view.byteLength));
  }

  end(): void {
    this.gunzip.end();
  }
}

/** Anything else: copies, acknowledged as the decompressor's stream takes them. */
class CopySink implements Sink {
  private owed = 0;
  readonly source = new Readable({
    highWaterMark: 256 << 10,
    read: () => {
      if (this.owed === 0) return;
      ack(this.owed);
      this.owed = 0;
    },
  });

  feed(view: Uint8Array): void {
    if (this.source.push(Buffer.from(view))) ack(view.byteLength);
    else this.owed += view.byteLength;
  }

  end(): void {
    this.source.push(null);
  }
}

/**
 * One layer's input: views of the ring in order. The first bytes are held
 * (unacknowledged, so not overwritten) until the format is known.
 */
class LayerInput {
  private readAt = 0;
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private sink: Sink | undefined;
  /** The uncompressed tar, once the format is known. */
  readonly plain: Promise<Readable>;
  private resolvePlain!: (r: Readable | Promise<Readable>) => void;

  constructor() {
    this.plain = new Promise((resolve) => (this.resolvePlain = resolve));
  }

  data(n: number): void {
    const first = Math.min(n, ring.length - this.readAt);
    const views = [ring.subarray(this.readAt, this.readAt + first)];
    if (first < n) views.push(ring.subarray(0, n - first));
    this.readAt = (this.readAt + n) % ring.length;
    if (this.sink !== undefined) {
      for (const v of views) this.sink.feed(v);
      return;
    }
    this.held.push(...views);
    this.heldBytes += n;
    if (this.heldBytes >= MAGIC_BYTES) this.decide();
  }

  end(): void {
    if (this.sink === undefined) this.decide();
    (this.sink as Sink).end();
  }

  private decide(): void {
    const head = Buffer.alloc(Math.min(MAGIC_BYTES, this.heldBytes));
    let at = 0;
    for (const v of this.held) {
      if (at === head.length) break;
      const n = Math.min(v.byteLength, head.length - at);
      head.set(v.subarray(0, n), at);
      at += n;
    }
    if (detect(head) === 'gzip') {
      const gunzip = createLayerGunzip();
      this.sink = new GunzipSink(gunzip);
      this.resolvePlain(gunzip);
    } else {
      const copy = new CopySink();
      this.sink = copy;
      this.resolvePlain(decompressStream(copy.source, 'layer'));
    }
    for (const v of this.held.splice(0)) this.sink.feed(v);
  }
}

async function extract(job: ApplyJob, input: LayerInput): Promise<FromWorker> {
  try {
    layerCompression(job.mediaType); // Unimplemented for media types that are not layers
    const result = await extractTar(await input.plain, job.root, job.privileged, job.limits);
    return { type: 'done', diffId: result.diffId, size: result.size };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return isRuntimeError(err) ? { type: 'error', kind: err.kind, message, fields: err.fields } : { type: 'error', kind: 'Internal', message, fields: {} };
  }
}

let current: LayerInput | undefined;

port.on('message', (m: ToWorker) => {
  if (m.type === 'start') {
    const input = new LayerInput();
    current = input;
    // After an error the applier terminates this thread; after 'done' the next layer may start.
    void extract(m.job, input).then((answer) => {
      if (current === input) current = undefined;
      post(answer);
    });
  } else if (m.type === 'data') {
    current?.data(m.bytes);
  } else {
    current?.end();
  }
});
