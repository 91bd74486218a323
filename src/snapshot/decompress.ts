/**
 * Layer decompression. The media type decides what is acceptable and the
 * magic bytes decide what the data is (zstd through the zstd program, see
 * zstd.ts), as containerd's compression.DecompressStream does, so a layer
 * labelled gzip but stored plain still applies.
 */
import { Readable } from 'node:stream';
import { createGunzip, type Gunzip } from 'node:zlib';
import { unimplemented } from '../errors.js';
import { zstdDecompress } from './zstd.js';
import { DockerMediaTypes, MediaTypes } from '../oci/image-types.js';

/** What a layer's bytes are compressed with. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** Output chunk of gunzip: 4x zlib's default, so a layer is fewer, larger chunks through the hash, framing and tar parser. */
const GUNZIP_CHUNK = 64 * 1024;
const GZIP_MAGIC = [0x1f, 0x8b];
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd];

const LAYER_TYPES = new Map<string, Compression>([
  [MediaTypes.Layer, 'none'],
  [MediaTypes.LayerGzip, 'gzip'],
  [MediaTypes.LayerZstd, 'zstd'],
  [MediaTypes.LayerNonDistributable, 'none'],
  [MediaTypes.LayerNonDistributableGzip, 'gzip'],
  [MediaTypes.LayerNonDistributableZstd, 'zstd'],
  [DockerMediaTypes.Layer, 'none'],
  [DockerMediaTypes.LayerGzip, 'gzip'],
  [DockerMediaTypes.LayerZstd, 'zstd'],
  [DockerMediaTypes.LayerForeign, 'none'],
  [DockerMediaTypes.LayerForeignGzip, 'gzip'],
]);

/** The compression a layer media type declares; Unimplemented for media types that are not layers we know. */
export function layerCompression(mediaType: string): Compression {
  const c = LAYER_TYPES.get(mediaType);
  if (c === undefined) throw unimplemented(`unsupported layer media type ${JSON.stringify(mediaType)}`, { fields: { mediaType } });
  return c;
}

/**
 * Returns the uncompressed byte stream of a layer (gzip, zstd or plain,
 * sniffed); Unimplemented for media types that are not layers.
 */
export async function decompressLayer(source: Readable, mediaType: string): Promise<Readable> {
  // The media type only has to be a layer type: the bytes decide, as in containerd.
  try {
    layerCompression(mediaType);
  } catch (err) {
    source.destroy();
    throw err;
  }
  return decompressStream(source, mediaType);
}

/**
 * Returns the uncompressed bytes of `source`, detected by magic number: gzip
 * is inflated, zstd decompressed, plain passes through. `label` names the
 * data in errors.
 */
export async function decompressStream(source: Readable, label = 'stream'): Promise<Readable> {
  const { head, rest } = await peek(source, 4);
  const kind = detect(head);
  if (kind === 'zstd') {
    const plain = zstdDecompress(prepend(head, rest), label);
    plain.on('close', () => source.destroy());
    return plain;
  }
  const whole = Readable.from(prepend(head, rest), { objectMode: false });
  whole.on('close', () => source.destroy());
  if (kind === 'none') return whole;
  const gunzip = createLayerGunzip();
  whole.on('error', (err) => gunzip.destroy(err));
  gunzip.on('close', () => whole.destroy());
  return whole.pipe(gunzip);
}

/** A gunzip stream with the applier's output chunk size. */
export function createLayerGunzip(): Gunzip {
  return createGunzip({ chunkSize: GUNZIP_CHUNK });
}

/** Bytes `detect` needs to see. */
export const MAGIC_BYTES = ZSTD_MAGIC.length;

/** Recognizes a compression from the first bytes of a stream. */
export function detect(head: Uint8Array): Compression {
  const starts = (magic: number[]) => magic.every((b, i) => head[i] === b);
  if (starts(GZIP_MAGIC)) return 'gzip';
  if (starts(ZSTD_MAGIC)) return 'zstd';
  return 'none';
}

/** Reads at least `n` bytes (or to EOF) and returns them with an iterator for the rest. */
async function peek(source: Readable, n: number): Promise<{ head: Buffer; rest: AsyncIterator<Buffer> }> {
  const it = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  while (length < n) {
    const r = await it.next();
    if (r.done) break;
    chunks.push(r.value);
    length += r.value.length;
  }
  return { head: Buffer.concat(chunks), rest: it };
}

async function* prepend(head: Buffer, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}
