/**
 * Helpers over the content roles (containerd's core/content/helpers.go), so
 * fetchers and importers do not each re-implement "stream into a writer,
 * verify, clean up on failure".
 */
import { isRuntimeError } from '../errors.js';
import { isComplete, type Expected, type Info, type Ingester, type Provider, type Writer } from './content.js';
import type { Digest } from './digest.js';

/** Options for `writeBlob`. */
export interface WriteBlobOptions {
  ref: string;
  expected?: Expected;
  /** Labels of the committed blob; a function is called once the source is consumed (for labels that depend on it, such as a layer's uncompressed digest). */
  labels?: Record<string, string> | (() => Record<string, string>);
}

/**
 * Streams `source` into a new ingest and commits it. If the expected digest is
 * already present the source is not read and the existing blob's info is
 * returned; a writer that is complete at open (a blob another namespace
 * holds) is committed without reading the source either. Any failure
 * (short stream, digest mismatch, read error) removes the ingest, so nothing
 * partial stays behind.
 */
export async function writeBlob(
  store: Ingester & Pick<Provider, 'info'>,
  source: AsyncIterable<Uint8Array>,
  options: WriteBlobOptions,
): Promise<Info> {
  let writer: Writer;
  try {
    writer = await store.writer({ ref: options.ref, ...(options.expected ? { expected: options.expected } : {}) });
  } catch (err) {
    if (isRuntimeError(err, 'AlreadyExists') && options.expected?.digest !== undefined) return store.info(options.expected.digest);
    throw err;
  }
  let written: Digest | undefined;
  try {
    // A resumed ingest with unknown provenance is not trusted here: start over (unless it already is the expected blob).
    if (writer.offset() > 0 && !isComplete(writer, options.expected)) {
      await writer.abort();
      writer = await store.writer({ ref: options.ref, ...(options.expected ? { expected: options.expected } : {}) });
    }
    if (!isComplete(writer, options.expected)) await copyInto(source, writer);
    written = writer.digest();
    const labels = typeof options.labels === 'function' ? options.labels() : options.labels;
    return await writer.commit(undefined, labels ? { labels } : {});
  } catch (err) {
    await writer.abort().catch(() => undefined);
    // Content-addressed: someone else committing the same bytes first is success.
    const digest = options.expected?.digest ?? written;
    if (isRuntimeError(err, 'AlreadyExists') && digest !== undefined) return store.info(digest);
    throw err;
  }
}

/** Copies every chunk of `source` into `writer`, in order. */
export async function copyInto(source: AsyncIterable<Uint8Array>, writer: Writer): Promise<void> {
  for await (const chunk of source) await writer.write(chunk);
}
