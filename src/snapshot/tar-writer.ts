/**
 * Encodes tar headers for the layers the differ writes: ustar, preceded by a
 * PAX extended header when a field does not fit (long names and link
 * targets, big ids, sizes or times) and for xattrs (`SCHILY.xattr.<name>`,
 * the form containerd and our applier read). PAX values are written as raw
 * bytes, so binary xattrs such as security.capability survive (tar-stream's
 * packer would encode them as UTF-8 text).
 */

/** The kinds of entry a layer holds. */
export type TarEntryType = 'file' | 'link' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo';

/** One entry's header. */
export interface TarEntryHeader {
  /** Relative path; directories end with `/`. */
  name: string;
  type: TarEntryType;
  /** Permission bits with setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  /** Data bytes that follow (regular files only). */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Array<[string, Buffer]>;
}

const BLOCK = 512;
const TYPEFLAG: Record<TarEntryType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', directory: '5', fifo: '6' };
const MAX_OCTAL_7 = 0o7777777;
const MAX_OCTAL_11 = 0o77777777777;

/** Two zero blocks: the end of an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);

/** Zero bytes that pad `size` bytes of data to a whole block. */
export function tarPadding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) of one entry: a PAX header first when needed, then the ustar header. */
export function encodeTarHeader(h: TarEntryHeader): Buffer {
  const pax: Array<[string, Buffer]> = [];
  const text = (key: string, value: string | number) => pax.push([key, Buffer.from(String(value))]);
  if (Buffer.byteLength(h.name) > 100) text('path', h.name);
  if (h.linkname !== undefined && Buffer.byteLength(h.linkname) > 100) text('linkpath', h.linkname);
  if (h.uid > MAX_OCTAL_7) text('uid', h.uid);
  if (h.gid > MAX_OCTAL_7) text('gid', h.gid);
  if (h.size > MAX_OCTAL_11) text('size', h.size);
  if (h.mtime < 0 || h.mtime > MAX_OCTAL_11) text('mtime', h.mtime);
  for (const [name, value] of h.xattrs ?? []) pax.push([`SCHILY.xattr.${name}`, value]);
  const main = ustar(h);
  if (pax.length === 0) return main;
  const data = paxRecords(pax);
  const paxHeader = ustar({ name: `PaxHeaders/${lastComponent(h.name)}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtime: 0 }, 'x');
  return Buffer.concat([paxHeader, data, tarPadding(data.length), main]);
}

function lastComponent(name: string): string {
  const parts = name.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? 'root';
}

/** `<len> <key>=<value>\n` records, where len counts the whole record including itself. */
function paxRecords(records: Array<[string, Buffer]>): Buffer {
  return Buffer.concat(
    records.map(([key, value]) => {
      const rest = Buffer.byteLength(` ${key}=`) + value.length + 1;
      let len = rest + 1;
      while (String(len).length + rest !== len) len = String(len).length + rest;
      return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
    }),
  );
}

/** One 512-byte ustar header; fields too big for it are left at 0 (the PAX header carries them). */
function ustar(h: TarEntryHeader, typeflag = TYPEFLAG[h.type]): Buffer {
  const b = Buffer.alloc(BLOCK);
  writeBytes(b, h.name, 0, 100);
  octal(b, h.mode & 0o7777, 100, 8);
  octal(b, h.uid > MAX_OCTAL_7 ? 0 : h.uid, 108, 8);
  octal(b, h.gid > MAX_OCTAL_7 ? 0 : h.gid, 116, 8);
  octal(b, h.size > MAX_OCTAL_11 ? 0 : h.size, 124, 12);
  octal(b, h.mtime < 0 || h.mtime > MAX_OCTAL_11 ? 0 : h.mtime, 136, 12);
  b.write(typeflag, 156, 'latin1');
  if (h.linkname !== undefined) writeBytes(b, h.linkname, 157, 100);
  b.write('ustar\0', 257, 'latin1');
  b.write('00', 263, 'latin1');
  octal(b, h.devmajor ?? 0, 329, 8);
  octal(b, h.devminor ?? 0, 337, 8);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** Writes at most `len` bytes of `value` (UTF-8) at `offset`. */
function writeBytes(b: Buffer, value: string, offset: number, len: number): void {
  Buffer.from(value).copy(b, offset, 0, len);
}

/** A zero-padded octal number with a trailing NUL, `len` bytes in all. */
function octal(b: Buffer, value: number, offset: number, len: number): void {
  b.write(`${Math.trunc(value).toString(8).padStart(len - 1, '0')}\0`, offset, 'latin1');
}
