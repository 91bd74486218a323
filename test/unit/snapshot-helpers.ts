/**
 * Shared fixtures for the snapshot unit tests: temp dirs under /var/tmp, tar
 * builders (tar-stream for ordinary entries, a raw ustar/PAX writer for
 * hostile headers tar-stream refuses to produce), and the busybox image.
 */
import { execa } from 'execa';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';

/** The repository root (tests run from dist/test/unit). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** A fresh directory under /var/tmp (not /tmp, which may be a small tmpfs). */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join('/var/tmp', `ctrd-ts-${prefix}-`));
}

/** Removes a temp dir, unmounting anything left mounted under it first. */
export async function removeTempDir(dir: string): Promise<void> {
  await execa('umount', ['-R', dir], { reject: false });
  await rm(dir, { recursive: true, force: true });
}

/** Entries of a directory (empty array if absent). */
export async function listDir(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

/** One entry for `makeTar`. */
export interface TarEntrySpec {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  content?: string | Buffer;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

/** Builds a tar in memory with tar-stream's packer. */
export async function makeTar(entries: TarEntrySpec[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const content = e.content === undefined ? undefined : Buffer.from(e.content);
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: e.mtime ?? new Date('2020-01-01T00:00:00Z'),
      ...(e.linkname !== undefined ? { linkname: e.linkname } : {}),
      ...(e.devmajor !== undefined ? { devmajor: e.devmajor } : {}),
      ...(e.devminor !== undefined ? { devminor: e.devminor } : {}),
      ...(e.pax !== undefined ? { pax: e.pax } : {}),
      ...(type === 'file' ? { size: content?.length ?? 0 } : {}),
    };
    await new Promise<void>((res, rej) => {
      pack.entry(header, type === 'file' ? (content ?? Buffer.alloc(0)) : Buffer.alloc(0), (err) => (err ? rej(err) : res()));
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A raw 512-byte ustar header; `size` may be given as a base-256 field for giant values. */
export function rawHeader(opts: { name: string; typeflag: string; size: number | bigint; mode?: number; base256?: boolean }): Buffer {
  const h = Buffer.alloc(512);
  h.write(opts.name.slice(0, 100), 0, 'utf8');
  h.write(`${(opts.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  if (opts.base256) {
    let v = BigInt(opts.size);
    h[124] = 0x80;
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else {
    h.write(`${Number(opts.size).toString(8).padStart(11, '0')}\0`, 124);
  }
  h.write('00000000000\0', 136);
  h.write(opts.typeflag, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** A PAX extended header block (header + padded records) carrying raw byte values. */
export function paxBlock(records: Array<[string, Buffer | string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [key, value] of records) {
    const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    parts.push(Buffer.concat([Buffer.from(String(len)), body]));
  }
  const data = Buffer.concat(parts);
  return Buffer.concat([rawHeader({ name: 'PaxHeader', typeflag: 'x', size: data.length }), pad(data)]);
}

/** Pads data to a 512-byte boundary. */
export function pad(data: Buffer): Buffer {
  const r = data.length % 512;
  return r === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - r)]);
}

/** Two zero blocks: the end-of-archive marker. */
export const TAR_END = Buffer.alloc(1024);

/** A readable over a buffer, optionally gzipped. */
export function streamOf(data: Buffer, gzip = false): Readable {
  return Readable.from([gzip ? gzipSync(data) : data]);
}

/** Builds the busybox image into `outDir` (see scripts/make-busybox-image.sh). */
export async function buildBusybox(outDir: string): Promise<{ archive: string; layout: string }> {
  await execa('bash', [join(REPO_ROOT, 'scripts', 'make-busybox-image.sh'), outDir]);
  return { archive: join(outDir, 'busybox.oci.tar'), layout: join(outDir, 'busybox-layout') };
}

/** Reads an xattr (no symlink follow) via python3, or undefined if unset. */
export async function getXattr(path: string, name: string): Promise<Buffer | undefined> {
  const script = 'import os,sys\ntry:\n  sys.stdout.write(os.getxattr(sys.argv[1], sys.argv[2], follow_symlinks=False).hex())\nexcept OSError:\n  sys.exit(3)';
  const r = await execa('python3', ['-c', script, path, name], { reject: false });
  return r.exitCode === 0 ? Buffer.from(String(r.stdout), 'hex') : undefined;
}

/** True when overlayfs can be mounted here (root with CAP_SYS_ADMIN and the module present). */
export async function canMountOverlay(dir: string): Promise<boolean> {
  const r = await execa('sh', ['-c', `mkdir -p ${dir}/l1 ${dir}/l2 ${dir}/m && mount -t overlay overlay -o lowerdir=${dir}/l1:${dir}/l2 ${dir}/m && umount ${dir}/m`], {
    reject: false,
  });
  await rm(dir, { recursive: true, force: true });
  return r.exitCode === 0;
}
