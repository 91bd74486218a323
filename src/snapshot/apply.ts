/**
 * The layer applier: decompress a layer, hash the uncompressed tar (its
 * diffID) in the same pass, and extract it into a directory under the
 * extraction rules of the design brief. A bad entry rejects the whole layer
 * with an error naming it; nothing is ever written outside the target.
 */
import { realpath, stat } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { invalidArgument, isRuntimeError, RuntimeError, type ErrorKind } from '../errors.js';
import { decompressLayer } from './decompress.js';
import type { Digest } from './digest.js';
import { HashTap } from './hash-tap.js';
import { decodeEntry, DEFAULT_ENTRY_LIMITS, type EntryLimits, type LayerEntry } from './layer-entry.js';
import { LayerWriter } from './layer-writer.js';
import { PaxXattrTap } from './pax-xattr-tap.js';
import { openSpecialFiles } from './special-files.js';
import { forEachTarEntry } from './tar-entries.js';

/** The identity of what was applied: diffID and byte count of the uncompressed tar. */
export interface ApplyResult {
  diffId: Digest;
  size: number;
}

/** Tunables; the defaults suit image layers. */
export interface ApplyOptions {
  limits?: EntryLimits;
}

/**
 * Extracts `stream` (a layer blob of `mediaType`) into `targetDir`, which
 * must exist. gzip and plain tar are accepted; zstd is Unimplemented.
 */
export async function applyLayer(stream: Readable, mediaType: string, targetDir: string, options: ApplyOptions = {}): Promise<ApplyResult> {
  const root = await realDirectory(targetDir, stream);
  const plain = await decompressLayer(stream, mediaType);
  const hash = new HashTap();
  const pax = new PaxXattrTap();
  const tar = pipeline(plain, hash, pax, () => undefined);
  const special = await openSpecialFiles();
  const writer = new LayerWriter(root, special, process.getuid?.() === 0);
  const limits = options.limits ?? DEFAULT_ENTRY_LIMITS;
  try {
    await forEachTarEntry<LayerEntry>(
      tar,
      async (entry, body) => {
        try {
          await writer.write(entry, body);
        } catch (err) {
          throw namedError(err, entry.name);
        }
      },
      'layer',
      (header) => decodeEntry(header, pax.next(), limits),
    );
    await writer.finish();
  } finally {
    await special.close();
  }
  return { diffId: hash.digest(), size: hash.bytes };
}

async function realDirectory(dir: string, stream: Readable): Promise<string> {
  try {
    const real = await realpath(dir);
    if (!(await stat(real)).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (err) {
    stream.destroy();
    throw invalidArgument(`apply target ${dir} is not an existing directory`, { cause: err });
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
