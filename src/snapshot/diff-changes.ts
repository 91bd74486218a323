/**
 * What changed between two trees, in path order (containerd's fs.Changes and
 * its overlay fast path, by behaviour). Two producers:
 *
 * - `upperDirChanges`: the upper is an overlay upperdir stacked on exactly
 *   the lower's layers, so that directory already holds the whole change:
 *   every entry in it is added or modified, a 0/0 character device is a
 *   deletion, and an opaque directory hides everything the lower had there.
 * - `treeChanges`: any two views, walked side by side; an entry differs when
 *   its type, mode, owner, device number, xattrs, size or mtime differ (or,
 *   when both mtimes have whole seconds only, its content or link target).
 *   The same inode on both sides (a file of a shared lower layer) is unchanged.
 *
 * Directories that did not change themselves but hold a change are reported
 * before it, so each entry of the layer has its parent with its attributes.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { unimplemented } from '../errors.js';
import type { XattrReader } from './differ.js';
import { isOpaque, isWhiteout, type LayerView, type ViewEntry } from './layer-view.js';

/** One change, for the layer tar. `path` is relative, `/`-separated, without a leading slash. */
export type Change =
  /** Write this entry of the upper (added, modified, or a parent of a change). */
  | { kind: 'entry'; path: string; source: string; stat: BigIntStats; xattrs: Array<[string, Buffer]> }
  /** The name is gone: a `.wh.<name>` whiteout. */
  | { kind: 'delete'; path: string }
  /** The directory (reported just before) hides all that was below it: `<path>/.wh..wh..opq`. */
  | { kind: 'opaque'; path: string };

/** Overlay's own xattrs: bookkeeping of the layer directory, never part of a layer. */
const OVERLAY_XATTR_PREFIX = 'trusted.overlay.';
/** Overlay features whose upper dir does not hold the whole change (data or names live in a lower layer). */
const UNSUPPORTED_OVERLAY_XATTRS = ['trusted.overlay.redirect', 'trusted.overlay.metacopy'];

/** The xattrs that belong in a layer: all but overlay's own. */
export function layerXattrs(all: Array<[string, Buffer]>): Array<[string, Buffer]> {
  return all.filter(([name]) => !name.startsWith(OVERLAY_XATTR_PREFIX));
}

/** Byte order, as Go sorts names (containerd's walk order). */
function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

const join = (rel: string, name: string) => (rel === '' ? name : `${rel}/${name}`);

/** The changes held by overlay upper directory `upper` (see the file comment). */
export async function* upperDirChanges(upper: string, xattrs: XattrReader): AsyncGenerator<Change> {
  async function* walk(rel: string, dir: string): AsyncGenerator<Change> {
    for (const name of (await readdir(dir)).sort(byteOrder)) {
      const path = join(rel, name);
      const source = `${dir}/${name}`;
      const stat = await lstat(source, { bigint: true });
      if (isWhiteout(stat)) {
        yield { kind: 'delete', path };
        continue;
      }
      const all = xattrs(source);
      const odd = all.find(([n]) => UNSUPPORTED_OVERLAY_XATTRS.includes(n));
      if (odd !== undefined) {
        throw unimplemented(`cannot diff ${source}: it carries ${odd[0]} (overlay redirect_dir/metacopy), so the upper dir does not hold the whole change`);
      }
      yield { kind: 'entry', path, source, stat, xattrs: layerXattrs(all) };
      if (stat.isDirectory()) {
        if (isOpaque(all)) yield { kind: 'opaque', path };
        yield* walk(path, source);
      }
    }
  }
  yield* walk('', upper);
}

/** The changes that turn view `lower` into view `upper` (see the file comment). */
export async function* treeChanges(lower: LayerView, upper: LayerView, xattrs: XattrReader): AsyncGenerator<Change> {
  /** Directories on the way down, reported (once) before the first change inside them. */
  const ancestors: Array<{ path: string; entry: ViewEntry; reported: boolean }> = [];
  const entryOf = (path: string, e: ViewEntry): Change => ({ kind: 'entry', path, source: e.path, stat: e.stat, xattrs: layerXattrs(xattrs(e.path)) });
  function* parents(): Generator<Change> {
    for (const a of ancestors) {
      if (a.reported) continue;
      a.reported = true;
      yield entryOf(a.path, a.entry);
    }
  }
  async function* walk(rel: string, lowerDirs: string[] | undefined, upperDirs: string[]): AsyncGenerator<Change> {
    const before = lowerDirs === undefined ? new Map<string, ViewEntry>() : await lower.list(lowerDirs);
    const after = await upper.list(upperDirs);
    const names = [...new Set([...before.keys(), ...after.keys()])].sort(byteOrder);
    for (const name of names) {
      const path = join(rel, name);
      const a = before.get(name);
      const b = after.get(name);
      if (b === undefined) {
        yield* parents();
        yield { kind: 'delete', path };
        continue;
      }
      const changed = a === undefined || !(await sameEntry(a, b, xattrs));
      if (changed) {
        yield* parents();
        yield entryOf(path, b);
      }
      if (b.dirs !== undefined) {
        ancestors.push({ path, entry: b, reported: changed });
        yield* walk(path, a?.dirs, b.dirs);
        ancestors.pop();
      }
    }
  }
  yield* walk('', lower.root, upper.root);
}

/** Whether two entries are the same file as far as a layer is concerned (continuity's sameFile). */
async function sameEntry(a: ViewEntry, b: ViewEntry, xattrs: XattrReader): Promise<boolean> {
  const x = a.stat;
  const y = b.stat;
  if (x.dev === y.dev && x.ino === y.ino) return true;
  if (x.mode !== y.mode || x.uid !== y.uid || x.gid !== y.gid) return false;
  if ((x.isCharacterDevice() || x.isBlockDevice()) && x.rdev !== y.rdev) return false;
  if (!sameXattrs(layerXattrs(xattrs(a.path)), layerXattrs(xattrs(b.path)))) return false;
  if (x.isDirectory()) return true;
  if (x.size !== y.size) return false;
  const secA = x.mtimeNs / 1_000_000_000n;
  const secB = y.mtimeNs / 1_000_000_000n;
  if (secA !== secB) return false;
  const nsA = x.mtimeNs % 1_000_000_000n;
  const nsB = y.mtimeNs % 1_000_000_000n;
  // Whole-second times on both sides may have been truncated (a tar's mtime): compare what they hold.
  if (nsA === 0n && nsB === 0n) {
    if (x.isSymbolicLink()) return (await readlink(a.path)) === (await readlink(b.path));
    if (x.isFile() && x.size > 0n) return sameContent(a.path, b.path);
    return true;
  }
  return nsA === nsB;
}

function sameXattrs(a: Array<[string, Buffer]>, b: Array<[string, Buffer]>): boolean {
  if (a.length !== b.length) return false;
  const other = new Map(b);
  return a.every(([name, value]) => other.get(name)?.equals(value) === true);
}

/** Byte-for-byte comparison of two files. */
async function sameContent(pathA: string, pathB: string): Promise<boolean> {
  const [fa, fb] = await Promise.all([open(pathA, 'r'), open(pathB, 'r')]);
  try {
    const size = 1 << 16;
    const bufA = Buffer.alloc(size);
    const bufB = Buffer.alloc(size);
    for (;;) {
      const [ra, rb] = await Promise.all([fa.read(bufA, 0, size, null), fb.read(bufB, 0, size, null)]);
      if (ra.bytesRead !== rb.bytesRead) return false;
      if (ra.bytesRead === 0) return true;
      if (!bufA.subarray(0, ra.bytesRead).equals(bufB.subarray(0, rb.bytesRead))) return false;
    }
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}
