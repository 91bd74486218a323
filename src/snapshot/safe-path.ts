/**
 * Path confinement for layer extraction. Entry names are split and checked
 * lexically (no absolute paths, no `..`, bounded length); parent directories
 * are then walked one component at a time with lstat, following only
 * relative symlinks that stay inside the root, so no write ever lands outside
 * the extraction root, whatever symlinks earlier entries planted.
 */
import { lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../errors.js';

/** Linux PATH_MAX: longer entry or link names are rejected. */
export const PATH_MAX = 4096;
/** Linux NAME_MAX: longer path components are rejected. */
export const NAME_MAX = 255;
/** Symlink hops allowed while resolving one path (Linux MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40;

/**
 * Splits a tar path into components. Empty and `.` components are dropped
 * (so `./a//b/` is `a/b`); the root itself is `[]`. Absolute paths, `..`,
 * NUL bytes and oversize names are InvalidArgument.
 */
export function splitEntryPath(name: string, what = 'path'): string[] {
  if (name.includes('\0')) throw invalidArgument(`${what} contains a NUL byte`);
  if (Buffer.byteLength(name) > PATH_MAX) throw invalidArgument(`${what} is longer than ${PATH_MAX} bytes`);
  if (name.startsWith('/')) throw invalidArgument(`${what} ${JSON.stringify(name)} is absolute; layer paths must be relative`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw invalidArgument(`${what} ${JSON.stringify(name)} contains '..'`);
    if (Buffer.byteLength(part) > NAME_MAX) throw invalidArgument(`${what} has a component longer than ${NAME_MAX} bytes`);
    parts.push(part);
  }
  return parts;
}

/**
 * The synchronous resolver the layer writer uses (it runs in a worker thread,
 * where a blocking lstat costs microseconds and an async one a thread-pool
 * round trip). It resolves directory components under the root (which must
 * itself be a real, symlink-free path): missing directories are created
 * (mode 0755) when asked; a symlink on the way is followed only if its target
 * is relative and stays under the root; absolute targets, escapes and loops
 * are InvalidArgument, as is a non-directory. In addition it remembers every
 * directory it resolved, so the entries of one directory cost no syscalls
 * after the first. The cache is only valid while nothing is removed from the
 * tree: the writer calls `forget()` whenever it deletes anything, since only a
 * removal (followed by a new entry at the same name) can change what an
 * existing path resolves to.
 */
export class DirResolver {
  /** Entry-path key (components joined by '/') -> resolved real components under the root. */
  private readonly known = new Map<string, string[]>();

  constructor(
    private readonly root: string,
    /** Told of every directory the resolver creates, with the real path of its parent. */
    private readonly onCreate: (dir: string, parent: string) => void = () => undefined,
  ) {}

  /** The real absolute path of directory `components` under the root (created when `create`). */
  resolve(components: string[], create: boolean): string {
    const resolved = this.resolveParts(components, create);
    return resolved.length === 0 ? this.root : join(this.root, ...resolved);
  }

  /** Drops every remembered resolution (after anything in the tree was removed). */
  forget(): void {
    this.known.clear();
  }

  private resolveParts(components: string[], create: boolean): string[] {
    if (components.length === 0) return [];
    const key = components.join('/');
    const hit = this.known.get(key);
    if (hit !== undefined) return hit;
    const parent = this.resolveParts(components.slice(0, -1), create);
    const resolved = walkSync(this.root, [...parent], [components[components.length - 1] as string], create, this.onCreate);
    this.known.set(key, resolved);
    return resolved;
  }
}

/** The walk behind DirResolver, starting from already-resolved real components. */
function walkSync(root: string, resolved: string[], pending: string[], create: boolean, onCreate: (dir: string, parent: string) => void): string[] {
  let hops = 0;
  while (pending.length > 0) {
    const part = pending.shift() as string;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (resolved.length === 0) throw invalidArgument('path resolves through a symlink that leaves the layer root');
      resolved.pop();
      continue;
    }
    const current = join(root, ...resolved, part);
    const st = lstatOrUndefined(current);
    if (st === undefined) {
      if (!create) throw invalidArgument(`${displayPath([...resolved, part])} does not exist in the layer`);
      mkdirSync(current, { mode: 0o755 });
      onCreate(current, join(root, ...resolved));
      resolved.push(part);
    } else if (st.isDirectory()) {
      resolved.push(part);
    } else if (st.isSymbolicLink()) {
      if (++hops > MAX_SYMLINK_HOPS) throw invalidArgument(`too many levels of symlinks at ${displayPath([...resolved, part])}`);
      const target = readlinkSync(current);
      if (target.startsWith('/')) {
        throw invalidArgument(`${displayPath([...resolved, part])} is a symlink to absolute path ${JSON.stringify(target)}; writing through it would leave the layer root`);
      }
      pending.unshift(...target.split('/'));
    } else {
      throw invalidArgument(`${displayPath([...resolved, part])} is not a directory`);
    }
  }
  return resolved;
}

/** lstat that answers undefined for a missing path and throws anything else. */
export function lstatOrUndefined(path: string): Stats | undefined {
  return lstatSync(path, { throwIfNoEntry: false });
}

function displayPath(parts: string[]): string {
  return JSON.stringify(parts.join('/'));
}
