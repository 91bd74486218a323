/**
 * A read-only view of a mount set, read straight from its layer directories
 * instead of mounting it: a bind mount is one plain directory; an overlay is
 * its upperdir (if any) over its lowerdirs, merged as overlayfs merges them
 * (a 0/0 character device hides the name below it, a directory with
 * `trusted.overlay.opaque=y` hides everything below it, a non-directory ends
 * a directory's merge). The differ walks these views, so a diff needs no
 * temporary mount (nothing to leak, and the walk sees the real files, so an
 * unchanged file shared by both sides is recognised by its inode).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { invalidArgument, notFound, unimplemented } from '../errors.js';
import type { XattrReader } from './differ.js';
import { optionValue } from './mounts.js';
import type { Mount } from './snapshotter.js';

/** The overlay xattr marking a directory that hides the layers below it. */
export const OPAQUE_XATTR = 'trusted.overlay.opaque';

/** Layer directories of one mount set. */
export interface LayerStack {
  /** Directories, topmost first. */
  layers: string[];
  /** Overlay semantics (whiteouts, opaque dirs) apply; false for a bind mount's single plain directory. */
  overlay: boolean;
}

/** One name in a (merged) directory. */
export interface ViewEntry {
  /** The topmost copy: the file the view shows. */
  path: string;
  stat: BigIntStats;
  /** For a directory: its copies merged into it, topmost first. */
  dirs?: string[];
}

/** The layers of `mounts`; Unimplemented for anything but one bind or overlay mount. */
export function layerStackOf(mounts: Mount[], what: string): LayerStack {
  if (mounts.length !== 1) throw unimplemented(`cannot diff ${what}: ${mounts.length} mounts given, expected one bind or overlay mount`);
  const m = mounts[0] as Mount;
  if (m.type === 'overlay') {
    const lower = optionValue(m.options, 'lowerdir');
    if (!lower) throw invalidArgument(`cannot diff ${what}: overlay mount has no lowerdir option`);
    const upper = optionValue(m.options, 'upperdir');
    const layers = [...(upper ? [upper] : []), ...lower.split(':')];
    return { layers: layers.map((d) => resolve(d)), overlay: true };
  }
  if (m.type === 'bind' || m.options.includes('bind') || m.options.includes('rbind')) {
    if (!m.source) throw invalidArgument(`cannot diff ${what}: bind mount has no source`);
    return { layers: [resolve(m.source)], overlay: false };
  }
  throw unimplemented(`cannot diff ${what}: a ${JSON.stringify(m.type)} mount cannot be diffed (only bind and overlay mounts)`);
}

/** NotFound unless every layer directory exists (a removed snapshot's mounts point nowhere). */
export async function checkLayers(stack: LayerStack, what: string): Promise<void> {
  for (const dir of stack.layers) {
    const st = await lstat(dir).catch(() => undefined);
    if (st === undefined) throw notFound(`cannot diff ${what}: ${dir} does not exist (was the snapshot removed?)`, { fields: { path: dir } });
    if (!st.isDirectory()) throw invalidArgument(`cannot diff ${what}: ${dir} is not a directory`, { fields: { path: dir } });
  }
}

/** An overlay whiteout: a character device with device number 0/0. */
export function isWhiteout(st: BigIntStats): boolean {
  return st.isCharacterDevice() && st.rdev === 0n;
}

/** True when `xattrs` mark an opaque overlay directory. */
export function isOpaque(xattrs: Array<[string, Buffer]>): boolean {
  return xattrs.some(([name, value]) => name === OPAQUE_XATTR && value.toString() === 'y');
}

/** Reads merged directories of one layer stack. */
export class LayerView {
  constructor(
    private readonly stack: LayerStack,
    private readonly xattrs: XattrReader,
  ) {}

  /** The copies of the root directory, topmost first. */
  get root(): string[] {
    return this.stack.overlay ? this.stack.layers : this.stack.layers.slice(0, 1);
  }

  /** The entries of the directory whose copies are `dirs` (topmost first), by name. */
  async list(dirs: string[]): Promise<Map<string, ViewEntry>> {
    const out = new Map<string, ViewEntry>();
    const hidden = new Set<string>(); // whited out above
    const sealed = new Set<string>(); // directories whose merge ended (opaque, or a non-directory below)
    for (let i = 0; i < dirs.length; i++) {
      const dir = dirs[i] as string;
      const bottom = i === dirs.length - 1;
      for (const name of await readdir(dir)) {
        if (hidden.has(name)) continue;
        const seen = out.get(name);
        if (seen !== undefined && (seen.dirs === undefined || sealed.has(name))) continue;
        const path = `${dir}/${name}`;
        const stat = await lstat(path, { bigint: true });
        if (seen !== undefined) {
          if (!stat.isDirectory()) sealed.add(name);
          else {
            (seen.dirs as string[]).push(path);
            if (!bottom && this.opaque(path)) sealed.add(name);
          }
          continue;
        }
        if (this.stack.overlay && isWhiteout(stat)) {
          hidden.add(name);
          continue;
        }
        if (stat.isDirectory()) {
          out.set(name, { path, stat, dirs: [path] });
          if (this.stack.overlay && !bottom && this.opaque(path)) sealed.add(name);
        } else {
          out.set(name, { path, stat });
        }
      }
    }
    return out;
  }

  private opaque(path: string): boolean {
    return this.stack.overlay && isOpaque(this.xattrs(path));
  }
}
