/**
 * Runs a handler over every entry of a tar stream (tar-stream underneath),
 * one at a time, with one failure path: the first error from the source, the
 * parser or a handler stops everything, destroys the streams and rejects.
 * Both the layer applier and the archive importer read tars through this.
 */
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { internal, invalidArgument, isRuntimeError } from '../errors.js';

/** The parsed header of one entry, as tar-stream reports it (PAX records in `pax`). */
export interface TarHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  linkname: string | null;
  /** 'file' | 'link' | 'symlink' | 'directory' | 'character-device' | 'block-device' | 'fifo' | 'contiguous-file', or null if unknown. */
  type: string | null;
  devmajor: number;
  devminor: number;
  pax: Record<string, string>;
}

/** A handler gets the (prepared) header and the entry body; unread body data is skipped. */
export type EntryHandler<T> = (entry: T, body: AsyncIterable<Buffer>) => Promise<void>;

/**
 * Parses `source` as tar and awaits `onEntry` for each entry in order.
 * `prepare` runs synchronously as each header is parsed, so a header it
 * rejects is reported as such even if the stream also ends early.
 * Parser errors (bad checksum, truncation) become InvalidArgument naming `what`.
 */
export function forEachTarEntry<T = TarHeader>(
  source: Readable,
  onEntry: EntryHandler<T>,
  what = 'tar stream',
  prepare: (header: TarHeader) => T = (h) => h as T,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const extract = tar.extract();
    let settled = false;
    let inFlight: Promise<unknown> = Promise.resolve();
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      source.unpipe(extract);
      source.destroy();
      extract.destroy();
      // Reject only once a running handler has stopped (its body is destroyed
      // now), so nothing writes after the caller starts cleaning up.
      const error = isRuntimeError(err) ? err : parserError(err, what);
      void inFlight.then(() => reject(error));
    };
    extract.on('entry', (header, body, next) => {
      body.on('error', () => undefined); // errors surface through the iterator or `fail`
      if (settled) return;
      let prepared: T;
      try {
        prepared = prepare(toTarHeader(header));
      } catch (err) {
        fail(err);
        return;
      }
      const running = onEntry(prepared, body as AsyncIterable<Buffer>).then(
        () => drain(body as AsyncIterable<Buffer>).then(() => next(), fail),
        (err: unknown) => {
          body.destroy();
          fail(err);
        },
      );
      inFlight = running.catch(() => undefined);
    });
    extract.on('error', fail);
    extract.on('finish', () => {
      if (settled) return;
      settled = true;
      resolve();
    });
    source.on('error', fail);
    // A source that failed before we got here (e.g. its decompressor could not start) emits nothing more.
    if (source.destroyed) {
      fail(source.errored ?? new Error('premature close'));
      return;
    }
    source.pipe(extract as unknown as NodeJS.WritableStream);
  });
}

/** Consumes whatever a handler left unread so the parser can move on. */
async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of body) {
    // discard
  }
}

/** tar-stream's header with PAX records typed; `type` is null for typeflags tar-stream does not know. */
function toTarHeader(h: tar.Header): TarHeader {
  const pax: Record<string, string> = {};
  if (h.pax !== null && typeof h.pax === 'object') {
    for (const [k, v] of Object.entries(h.pax as Record<string, unknown>)) if (typeof v === 'string') pax[k] = v;
  }
  return {
    name: h.name,
    mode: h.mode,
    uid: h.uid,
    gid: h.gid,
    size: h.size,
    mtime: h.mtime,
    linkname: h.linkname,
    type: (h.type as string | null) ?? null,
    devmajor: h.devmajor,
    devminor: h.devminor,
    pax,
  };
}

function parserError(err: unknown, what: string): Error {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return invalidArgument(`${what}: compressed data is corrupt or truncated: ${message}`, { cause: err });
  }
  if (typeof (err as { errno?: unknown } | null)?.errno === 'number') {
    return internal(`${what}: read failed: ${message}`, { cause: err });
  }
  if (/unexpected end|premature close/i.test(message)) {
    return invalidArgument(`${what} is truncated: ${message}`, { cause: err });
  }
  return invalidArgument(`${what} is not a valid tar stream: ${message}`, { cause: err });
}
