/**
 * The pieces of a tar stream, decoded from bytes: the 512-byte header block
 * (ustar and GNU, numbers in octal or base-256), PAX extended-header records
 * (values kept as raw bytes, so binary xattrs survive) and GNU long names.
 * Pure functions; the framing of a stream is tar-reader.ts. The rules follow
 * Go's archive/tar (what containerd reads layers with) where tar-stream, the
 * parser this replaced, was looser, and tar-stream where Go accepts more.
 */
import { invalidArgument } from '../errors.js';

/** Size of a header block and the unit data is padded to. */
export const BLOCK = 512;

/** The entry types a header can name (tar-stream's names, which the rest of the code matches on). */
export type TarEntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo' | 'contiguous-file';

/** What a header block introduces: an entry, or an extension that applies to the next entry. */
export type BlockKind = TarEntryType | 'pax' | 'pax-global' | 'gnu-long-name' | 'gnu-long-link' | 'unknown';

/**
 * One entry's header, with GNU long names and PAX records applied. Numeric
 * fields are NaN when the header's field is not a number (or too large to
 * be exact); callers validate what they use.
 */
export interface TarHeader {
  name: string;
  /** null for a typeflag this reader does not know. */
  type: TarEntryType | null;
  mode: number;
  uid: number;
  gid: number;
  /** The header's size (a PAX `size` applied); see `dataSize` for the bytes that follow. */
  size: number;
  /** Seconds since the epoch (the header's whole seconds; PAX times are in `pax`). */
  mtime: number;
  /** Link target; '' when none. */
  linkname: string;
  devmajor: number;
  devminor: number;
  /** This entry's PAX records, values as raw bytes. */
  pax: ReadonlyMap<string, Buffer>;
}

/** A header block as stored, before extensions are applied. */
export interface HeaderBlock {
  kind: BlockKind;
  name: string;
  linkname: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

const TYPES: Record<number, BlockKind> = {
  0x00: 'file',
  0x30: 'file',
  0x31: 'link',
  0x32: 'symlink',
  0x33: 'character-device',
  0x34: 'block-device',
  0x35: 'directory',
  0x36: 'fifo',
  0x37: 'contiguous-file',
  0x78: 'pax', // 'x'
  0x67: 'pax-global', // 'g'
  0x4c: 'gnu-long-name', // 'L'
  0x4e: 'gnu-long-name', // 'N' (old GNU)
  0x4b: 'gnu-long-link', // 'K'
};

/** `ustar\0` (POSIX ustar and pax; any version) and `ustar  \0` (GNU) at offset 257. */
const USTAR_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00];
const GNU_MAGIC = [0x75, 0x73, 0x74, 0x61, 0x72, 0x20, 0x20, 0x00];

/** Entry types that carry no data whatever their size field says (as Go's reader treats them). */
const HEADER_ONLY = new Set<BlockKind>(['link', 'symlink', 'character-device', 'block-device', 'directory', 'fifo']);

/** Bytes of data that follow a header of `kind` with size `size`. */
export function dataSize(kind: BlockKind, size: number): number {
  return HEADER_ONLY.has(kind) ? 0 : size;
}

/** Zero padding after `size` bytes of data. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/**
 * Decodes the header block at `b[at..at+512)`. Returns undefined for a zero
 * block (end-of-archive marker or padding: all bytes but the checksum field
 * are zero). InvalidArgument for a bad checksum or an unknown format.
 */
export function decodeHeaderBlock(b: Uint8Array, at: number): HeaderBlock | undefined {
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = at; i < at + 148; i++) sum += b[i] as number;
  for (let i = at + 156; i < at + BLOCK; i++) sum += b[i] as number;
  if (sum === 8 * 0x20) return undefined;
  const stored = parseNumber(b, at + 148, 8);
  if (stored !== sum && stored !== signedSum(b, at)) throw invalidArgument('invalid tar header: bad checksum (corrupt data, or compressed data read as tar)');
  let name = text(b, at, 100);
  if (hasBytes(b, at + 257, USTAR_MAGIC)) {
    if (b[at + 345] !== 0) name = `${text(b, at + 345, 155)}/${name}`;
  } else if (!hasBytes(b, at + 257, GNU_MAGIC)) {
    throw invalidArgument('invalid tar header: unknown format');
  }
  return {
    kind: TYPES[b[at + 156] as number] ?? 'unknown',
    name,
    linkname: text(b, at + 157, 100),
    mode: parseNumber(b, at + 100, 8),
    uid: parseNumber(b, at + 108, 8),
    gid: parseNumber(b, at + 116, 8),
    size: parseNumber(b, at + 124, 12),
    mtime: parseNumber(b, at + 136, 12),
    devmajor: parseNumber(b, at + 329, 8),
    devminor: parseNumber(b, at + 337, 8),
  };
}

/** Old tars summed signed bytes (Go accepts both sums). */
function signedSum(b: Uint8Array, at: number): number {
  let sum = 8 * 0x20;
  for (let i = at; i < at + BLOCK; i++) {
    if (i === at + 148) i = at + 156;
    const v = b[i] as number;
    sum += v > 127 ? v - 256 : v;
  }
  return sum;
}

/**
 * A numeric field: octal text (leading spaces and NULs skipped, ending at a
 * space or NUL) or, with the high bit of the first byte set, a big-endian
 * base-256 number. NaN for anything else, negative values and values beyond
 * 2^53.
 */
export function parseNumber(b: Uint8Array, at: number, length: number): number {
  const end = at + length;
  const first = b[at] as number;
  if (first & 0x80) {
    if (first !== 0x80) return Number.NaN; // 0xff: negative
    let v = 0;
    for (let i = at + 1; i < end; i++) v = v * 256 + (b[i] as number);
    return Number.isSafeInteger(v) ? v : Number.NaN;
  }
  let i = at;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i] as number;
    if (c === 0x20 || c === 0) break;
    if (c < 0x30 || c > 0x37) return Number.NaN;
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/** A NUL-terminated UTF-8 string field. */
function text(b: Uint8Array, at: number, length: number): string {
  let end = at;
  while (end < at + length && b[end] !== 0) end++;
  return end === at ? '' : Buffer.from(b.buffer, b.byteOffset + at, end - at).toString('utf8');
}

function hasBytes(b: Uint8Array, at: number, expected: readonly number[]): boolean {
  for (let i = 0; i < expected.length; i++) if (b[at + i] !== expected[i]) return false;
  return true;
}

/** A GNU long name or link body: the text up to its first NUL. */
export function decodeLongName(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('utf8', 0, nul === -1 ? data.length : nul);
}

/**
 * PAX records (`<len> <key>=<value>\n`, len counting the whole record),
 * values as raw bytes. NUL padding after the last record is ignored; any
 * other malformed record is InvalidArgument, as in Go's reader.
 */
export function parsePaxRecords(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let at = 0;
  while (at < data.length) {
    if (data[at] === 0) {
      if (data.subarray(at).every((x) => x === 0)) break;
      throw invalidArgument('invalid PAX record: NUL byte between records');
    }
    const space = data.indexOf(0x20, at);
    const lenText = space === -1 ? '' : data.toString('latin1', at, space);
    const len = /^[0-9]{1,10}$/.test(lenText) ? Number.parseInt(lenText, 10) : Number.NaN;
    if (!(len > lenText.length + 1) || at + len > data.length || data[at + len - 1] !== 0x0a) throw invalidArgument('invalid PAX record: bad length');
    const record = data.subarray(space + 1, at + len - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw invalidArgument('invalid PAX record: no key');
    out.set(record.toString('utf8', 0, eq), record.subarray(eq + 1));
    at += len;
  }
  return out;
}
