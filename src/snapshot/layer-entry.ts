/**
 * Turns a raw tar header into a validated layer entry: known type, confined
 * path, bounded sizes and names, ids in range, times and xattrs from PAX.
 * Everything the writer later trusts is checked here, before any I/O.
 */
import { invalidArgument } from '../errors.js';
import { NAME_MAX, PATH_MAX, splitEntryPath } from './safe-path.js';
import type { TarHeader } from './tar-entries.js';
import type { RawXattrs } from './pax-xattr-tap.js';

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
  xattrs: Array<[string, Buffer]>;
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
 * unsupported or out of bounds. `rawXattrs` are the byte-exact PAX xattr
 * values when the framing tap has them.
 */
export function decodeEntry(h: TarHeader, rawXattrs: RawXattrs | undefined, limits: EntryLimits = DEFAULT_ENTRY_LIMITS): LayerEntry {
  const name = h.name;
  const fail = (why: string) => invalidArgument(`layer entry ${JSON.stringify(truncate(name))}: ${why}`, { fields: { entry: truncate(name) } });
  const kind = h.type === null ? undefined : KINDS[h.type];
  if (kind === undefined) throw fail(`unsupported entry type ${h.type === null ? '(unknown typeflag)' : h.type}`);
  if (Object.keys(h.pax).some((k) => k.startsWith('GNU.sparse.'))) throw fail('sparse files are not supported');
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
    linkname = h.linkname ?? '';
    if (linkname === '') throw fail(`${kind} without a target`);
    if (linkname.includes('\0') || Buffer.byteLength(linkname) > PATH_MAX) throw fail(`link target is longer than ${PATH_MAX} bytes or contains NUL`);
  }
  const uid = paxInt(h.pax.uid) ?? h.uid;
  const gid = paxInt(h.pax.gid) ?? h.gid;
  if (!validId(uid) || !validId(gid)) throw fail(`uid/gid ${String(uid)}/${String(gid)} out of range`);
  const mtime = paxTime(h.pax.mtime) ?? h.mtime.getTime() / 1000;
  const atime = paxTime(h.pax.atime) ?? mtime;
  if (!Number.isFinite(mtime) || !Number.isFinite(atime)) throw fail('invalid modification time');
  const devmajor = h.devmajor ?? 0;
  const devminor = h.devminor ?? 0;
  if ((kind === 'char' || kind === 'block') && !(validId(devmajor) && validId(devminor))) throw fail('invalid device numbers');
  return {
    name,
    path,
    kind,
    mode: (h.mode ?? 0) & 0o7777,
    uid,
    gid,
    size,
    mtime,
    atime,
    ...(linkname !== undefined ? { linkname } : {}),
    devmajor,
    devminor,
    xattrs: xattrsOf(h, rawXattrs, fail),
  };
}

function xattrsOf(h: TarHeader, raw: RawXattrs | undefined, fail: (why: string) => Error): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [];
  for (const [key, text] of Object.entries(h.pax)) {
    if (!key.startsWith(XATTR_PREFIX)) continue;
    const attr = key.slice(XATTR_PREFIX.length);
    if (attr === '' || Buffer.byteLength(attr) > NAME_MAX) throw fail(`invalid xattr name ${JSON.stringify(truncate(attr))}`);
    const value = raw?.get(attr) ?? Buffer.from(text, 'utf8');
    if (value.length > XATTR_VALUE_MAX) throw fail(`xattr ${attr} value is larger than ${XATTR_VALUE_MAX} bytes`);
    out.push([attr, value]);
  }
  return out;
}

function paxInt(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number.parseInt(value, 10);
}

function paxTime(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+(\.\d+)?$/.test(value)) return undefined;
  return Number.parseFloat(value);
}

function validId(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0 && n <= MAX_ID;
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
