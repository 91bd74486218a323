import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

export const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** One ustar entry: a regular file `name` of random bytes, padded to the block, without the end-of-archive blocks. */
export function randomTarEntry(name: string, size = 4096): Buffer {
  const payload = randomBytes(size);
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(payload.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write('14533436000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (payload.length % 512)) % 512);
  return Buffer.concat([header, payload, pad]);
}

/** A gzip layer of tar `entries` (end blocks added), its diffID and its OCI descriptor. */
export function layerOf(entries: Buffer, gzipLevel?: number): { gz: Buffer; diffId: string; desc: { mediaType: string; digest: string; size: number } } {
  const tar = Buffer.concat([entries, Buffer.alloc(1024)]);
  const gz = gzipSync(tar, gzipLevel === undefined ? {} : { level: gzipLevel });
  return { gz, diffId: sha256(tar), desc: { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz), size: gz.length } };
}

/** A one-file layer (random.bin) with random content, so its blob is new to any store. */
export function randomLayer(size = 4096): { gz: Buffer; diffId: string } {
  return layerOf(randomTarEntry('random.bin', size), 1);
}

/** The entries of an (uncompressed) tar as "name type [linkname]", in order. */
export async function tarEntries(data: Buffer): Promise<string[]> {
  const out: string[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (h, stream, next) => {
      out.push(`${h.name} ${h.type}${h.linkname ? ` ${h.linkname}` : ''}`);
      stream.resume();
      stream.on('end', next);
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  Readable.from([data]).pipe(extract);
  await done;
  return out;
}
