/**
 * Runs an async handler over every entry of a tar stream (TarReader
 * underneath), one at a time, with one failure path: the first error from
 * the source, the parser or a handler destroys the source and rejects. The
 * archive importer reads tars through this; the layer applier drives
 * TarReader directly (apply-extract.ts), with no promise per entry.
 */
import type { Readable } from 'node:stream';
import { internal, invalidArgument, isRuntimeError } from '../errors.js';
import type { TarHeader } from './tar-header.js';
import { TarReader, type TarEvent } from './tar-reader.js';

export type { TarHeader } from './tar-header.js';

/** A handler gets the (prepared) header and the entry body; unread body data is skipped. */
export type EntryHandler<T> = (entry: T, body: AsyncIterable<Buffer>) => Promise<void>;

/**
 * Parses `source` as tar and awaits `onEntry` for each entry in order.
 * `prepare` runs synchronously as each header is parsed, so a header it
 * rejects is reported as such even if the stream also ends early.
 * Parser errors (bad checksum, truncation) are InvalidArgument naming `what`.
 */
export async function forEachTarEntry<T = TarHeader>(
  source: Readable,
  onEntry: EntryHandler<T>,
  what = 'tar stream',
  prepare: (header: TarHeader) => T = (h) => h as T,
): Promise<void> {
  const reader = new TarReader(what);
  const input = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  /** The next event, reading input as needed; undefined once the input ended cleanly. */
  const pull = async (): Promise<TarEvent | undefined> => {
    for (;;) {
      const event = reader.next();
      if (event !== undefined) return event;
      const r = await input.next();
      if (r.done === true) {
        reader.end();
        return undefined;
      }
      reader.push(r.value);
    }
  };
  try {
    for (let event = await pull(); event !== undefined; event = await pull()) {
      if (event.kind !== 'entry') continue; // not reached: data and ends are consumed below
      const prepared = prepare(event.header);
      let ended = false;
      const body: AsyncIterable<Buffer> = {
        async *[Symbol.asyncIterator]() {
          while (!ended) {
            const next = await pull();
            if (next === undefined || next.kind !== 'data') {
              ended = true;
              return;
            }
            yield next.bytes;
          }
        },
      };
      await onEntry(prepared, body);
      while (!ended) {
        const next = await pull();
        if (next === undefined || next.kind === 'end') ended = true;
      }
    }
  } catch (err) {
    source.destroy();
    throw isRuntimeError(err) ? err : readError(err, what);
  }
}

/** A failure of the source itself: corrupt compressed data, or a read error. */
export function readError(err: unknown, what: string): Error {
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
  return invalidArgument(`${what} could not be read: ${message}`, { cause: err });
}
