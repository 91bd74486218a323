/**
 * The extraction pass of the applier, run inside its worker thread
 * (apply-worker.ts, which decompresses): hash the uncompressed tar (its
 * diffID) in the same pass that writes every validated entry under `root`.
 * A bad entry rejects the whole layer with an error naming it.
 */
import { pipeline, type Readable } from 'node:stream';
import { isRuntimeError, RuntimeError, type ErrorKind } from '../errors.js';
import type { Digest } from './digest.js';
import { HashTap } from './hash-tap.js';
import { decodeEntry, DEFAULT_ENTRY_LIMITS, type EntryLimits, type LayerEntry } from './layer-entry.js';
import { LayerWriter } from './layer-writer.js';
import { PaxXattrTap } from './pax-xattr-tap.js';
import { openSpecialFiles } from './special-files.js';
import { forEachTarEntry } from './tar-entries.js';

/** The identity of what was applied: diffID and byte count of the uncompressed tar. */
export interface ExtractResult {
  diffId: Digest;
  size: number;
}

/** Extracts `plain` (a layer's uncompressed tar) into `root`, a real directory path without symlinks. */
export async function extractTar(plain: Readable, root: string, privileged: boolean, limits: EntryLimits = DEFAULT_ENTRY_LIMITS): Promise<ExtractResult> {
  const hash = new HashTap();
  const pax = new PaxXattrTap();
  const tar = pipeline(plain, hash, pax, () => undefined);
  const special = await openSpecialFiles();
  const writer = new LayerWriter(root, special, privileged);
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
