/**
 * The extraction pass of the applier, run inside its worker thread
 * (apply-worker.ts, which decompresses): hash the uncompressed tar (its
 * diffID) in the same pass that writes every validated entry under `root`.
 * A bad entry rejects the whole layer with an error naming it.
 *
 * One loop per decompressed chunk: hash it, let the synchronous TarReader
 * cut it into entries, and hand those to the LayerWriter, awaiting only
 * when the writer has something asynchronous to do (xattrs, device nodes).
 */
import type { Readable } from 'node:stream';
import { isRuntimeError, RuntimeError, type ErrorKind } from '../errors.js';
import { digestFromHash, newDigester, type Digest } from './digest.js';
import { decodeEntry, DEFAULT_ENTRY_LIMITS, type EntryLimits, type LayerEntry } from './layer-entry.js';
import { LayerWriter } from './layer-writer.js';
import { lazySpecialFiles } from './special-files.js';
import { readError } from './tar-entries.js';
import { TarReader } from './tar-reader.js';

/** The identity of what was applied: diffID and byte count of the uncompressed tar. */
export interface ExtractResult {
  diffId: Digest;
  size: number;
}

/** Extracts `plain` (a layer's uncompressed tar) into `root`, a real directory path without symlinks. */
export async function extractTar(plain: Readable, root: string, privileged: boolean, limits: EntryLimits = DEFAULT_ENTRY_LIMITS): Promise<ExtractResult> {
  const hash = newDigester();
  let size = 0;
  const reader = new TarReader('layer');
  const special = lazySpecialFiles();
  const writer = new LayerWriter(root, special, privileged);
  let entry: LayerEntry | undefined;
  try {
    for await (const chunk of readChunks(plain)) {
      hash.update(chunk);
      size += chunk.length;
      reader.push(chunk);
      for (let event = reader.next(); event !== undefined; event = reader.next()) {
        try {
          if (event.kind === 'data') {
            writer.data(event.bytes);
          } else if (event.kind === 'entry') {
            entry = decodeEntry(event.header, limits);
            const pending = writer.begin(entry);
            if (pending !== undefined) await pending;
          } else {
            const pending = writer.end();
            entry = undefined;
            if (pending !== undefined) await pending;
          }
        } catch (err) {
          throw entry === undefined ? err : namedError(err, entry.name);
        }
      }
    }
    reader.end();
    writer.finish();
  } catch (err) {
    plain.destroy();
    throw err;
  } finally {
    writer.close();
    await special.close();
  }
  return { diffId: digestFromHash(hash), size };
}

/** The chunks of `plain`; a failure of the stream itself (corrupt gzip, read error) becomes a RuntimeError. */
async function* readChunks(plain: Readable): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of plain) yield chunk as Buffer;
  } catch (err) {
    throw isRuntimeError(err) ? err : readError(err, 'layer');
  }
}

/** I/O failures that say nothing about the layer itself. */
const ENVIRONMENT_ERRORS = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EROFS', 'ENOMEM', 'EMFILE', 'ENFILE']);

/** Prefixes an error with the entry it happened on, keeping (or choosing) its kind. */
function namedError(err: unknown, entry: string): RuntimeError {
  const shown = JSON.stringify(entry.length > 200 ? `${entry.slice(0, 200)}...` : entry);
  if (isRuntimeError(err)) {
    if (err.message.startsWith('layer entry ')) return err;
    return new RuntimeError(err.kind, `layer entry ${shown}: ${err.message}`, { cause: err, fields: { ...err.fields, entry } });
  }
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const kind: ErrorKind = code !== undefined && ENVIRONMENT_ERRORS.has(code) ? 'Internal' : 'InvalidArgument';
  const message = err instanceof Error ? err.message : String(err);
  return new RuntimeError(kind, `layer entry ${shown}: ${message}`, { cause: err, fields: { entry } });
}
