/**
 * Turns a raw tar header into a validated layer entry: known type, confined
 * path, bounded sizes and names, ids in range, times and xattrs from PAX.
 * Everything the writer later trusts is checked here, before any I/O.
 */
import { invalidArgument } from '../errors.js';
import { NAME_MAX, PATH_MAX, splitEntryPath } from './safe-path.js';
import type { TarHeader } from './tar-header.js';

/** The kinds of entries a layer may contain. */
export type EntryKind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** A header after validation; times are in (fractional) seconds since the epoch. */
export interface LayerEntry {
  /** The name as it appeared in the archive, for messages. */
  name: string;
  /** Confined path components; `[]` is the layer root. */
  path: string[];
  kind: EntryKind;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  atime: number;
  linkname?: string;
  devmajor: number;
  devminor: number;
  xattrs: ReadonlyArray<[string, Buffer]>;
}

/** Bounds for entry headers. */
export interface EntryLimits {
  /** Largest regular file accepted (default 1 TiB). */
  maxFileSize: number;
}

/** Default bounds: a regular file over 1 TiB in a layer is treated as a hostile header. */
export const DEFAULT_ENTRY_LIMITS: EntryLimits = { maxFileSize: 2 ** 40 };

const XATTR_PREFIX = 'SCHILY.xattr.';
const XATTR_VALUE_MAX = 65536;
const MAX_ID = 0xfffffffe;

const KINDS: Record<string, EntryKind> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'hardlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

/**
 * Validates a header; InvalidArgument (naming the entry) on anything
 * unsupported or out of bounds. PAX xattr values are taken byte-exact.
 */
export function decodeEntry(h: TarHeader, limits: EntryLimits = DEFAULT_ENTRY_LIMITS): LayerEntry {
  const name = h.name;
  const fail = (why: string) => invalidArgument(`layer entry ${JSON.stringify(truncate(name))}: ${why}`, { fields: { entry: truncate(name) } });
  const kind = h.type === null ? undefined : KINDS[h.type];
  if (kind === undefined) throw fail(`unsupported entry type ${h.type === null ? '(unknown typeflag)' : h.type}`);
  for (const key of h.pax.keys()) if (key.startsWith('GNU.sparse.')) throw fail('sparse files are not supported');
  let path: string[];
  try {
    path = splitEntryPath(name, 'entry name');
  } catch (err) {
    throw fail((err as Error).message);
  }
  const size = h.size;
  if (!Number.isSafeInteger(size) || size < 0) throw fail(`invalid size ${String(size)}`);
  if (kind === 'file' && size > limits.maxFileSize) throw fail(`size ${size} exceeds the ${limits.maxFileSize} byte limit`);
  if (kind === 'directory' && size > 0) throw fail('directory entry with a non-zero size');
  let linkname: string | undefined;
  if (kind === 'symlink' || kind === 'hardlink') {
    linkname = h.linkname;
    if (linkname === '') throw fail(`${kind} without a target`);
    if (linkname.includes('\0') || Buffer.byteLength(linkname) > PATH_MAX) throw fail(`link target is longer than ${PATH_MAX} bytes or contains NUL`);
  }
  const pax = h.pax.size === 0 ? undefined : h.pax;
  const uid = paxInt(pax?.get('uid')) ?? h.uid;
  const gid = paxInt(pax?.get('gid')) ?? h.gid;
  if (!validId(uid) || !validId(gid)) throw fail(`uid/gid ${String(uid)}/${String(gid)} out of range`);
  const mtime = paxTime(pax?.get('mtime')) ?? h.mtime;
  const atime = paxTime(pax?.get('atime')) ?? mtime;
  if (!Number.isFinite(mtime) || !Number.isFinite(atime)) throw fail('invalid modification time');
  const devmajor = h.devmajor;
  const devminor = h.devminor;
  if ((kind === 'char' || kind === 'block') && !(validId(devmajor) && validId(devminor))) throw fail('invalid device numbers');
  if (!Number.isInteger(h.mode)) throw fail('invalid mode');
  return {
    name,
    path,
    kind,
    mode: h.mode & 0o7777,
    uid,
    gid,
    size,
    mtime,
    atime,
    ...(linkname !== undefined ? { linkname } : {}),
    devmajor,
    devminor,
    xattrs: pax === undefined ? NO_XATTRS : xattrsOf(pax, fail),
  };
}

const NO_XATTRS: ReadonlyArray<[string, Buffer]> = [];

function xattrsOf(pax: ReadonlyMap<string, Buffer>, fail: (why: string) => Error): ReadonlyArray<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const [key, value] of pax) {
    if (!key.startsWith(XATTR_PREFIX)) continue;
    const attr = key.slice(XATTR_PREFIX.length);
    if (attr === '' || attr.includes('\0') || Buffer.byteLength(attr) > NAME_MAX) throw fail(`invalid xattr name ${JSON.stringify(truncate(attr))}`);
    if (value.length > XATTR_VALUE_MAX) throw fail(`xattr ${attr} value is larger than ${XATTR_VALUE_MAX} bytes`);
    out.push([attr, value]);
  }
  return out.length === 0 ? NO_XATTRS : out;
}

function paxInt(value: Buffer | undefined): number | undefined {
  const text = value?.toString('latin1');
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number.parseInt(text, 10);
}

function paxTime(value: Buffer | undefined): number | undefined {
  const text = value?.toString('latin1');
  if (text === undefined || !/^-?\d+(\.\d+)?$/.test(text)) return undefined;
  return Number.parseFloat(text);
}

function validId(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_ID;
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
