/**
 * Writes validated layer entries into an extraction root (an overlay upper
 * dir): files, dirs, symlinks, hardlinks, devices, fifos, ownership, modes,
 * times and xattrs, plus overlay whiteouts. An existing path is replaced
 * (removed, then created) unless both are directories, as containerd does.
 * Directory times are set last, after their contents stopped changing.
 *
 * The filesystem calls are synchronous on purpose: the writer runs in the
 * applier's worker thread (apply-worker.ts), where a blocking call costs a
 * few microseconds while an async one costs a thread-pool round trip, which
 * dominated the unpack of layers with tens of thousands of small files.
 * Creation is optimistic (O_EXCL open, mkdir, symlink, link) and falls back
 * to remove-and-retry only when the name is taken, so a fresh snapshot costs
 * no lstat per entry; parent directories come from a DirResolver cache.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  rmSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { invalidArgument } from '../errors.js';
import type { LayerEntry } from './layer-entry.js';
import { DirResolver, lstatOrUndefined, splitEntryPath } from './safe-path.js';
import type { SpecialFiles } from './special-files.js';

const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const WHITEOUT_OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Extracts entries one by one into `root` (a real path with no symlinks in it). */
export class LayerWriter {
  private readonly dirTimes = new Map<string, { atime: number; mtime: number }>();
  private readonly dirs: DirResolver;

  constructor(
    private readonly root: string,
    private readonly special: SpecialFiles,
    /** Root may chown and create device nodes; otherwise ownership is kept and devices are skipped. */
    private readonly privileged: boolean,
  ) {
    this.dirs = new DirResolver(root);
  }

  /** Writes one entry; `body` is the file data for regular files. */
  async write(entry: LayerEntry, body: AsyncIterable<Buffer>): Promise<void> {
    if (entry.path.length === 0) {
      if (entry.kind !== 'directory') throw invalidArgument('the layer root must be a directory');
      return; // the root's own metadata belongs to the snapshot, not the layer
    }
    const base = entry.path[entry.path.length - 1] as string;
    const parent = this.dirs.resolve(entry.path.slice(0, -1), true);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(parent, base, entry);
    const path = join(parent, base);
    switch (entry.kind) {
      case 'directory':
        return this.directory(path, entry);
      case 'file':
        return this.file(path, entry, body);
      case 'symlink':
        return this.symlink(path, entry);
      case 'hardlink':
        return this.hardlink(path, entry);
      case 'char':
      case 'block':
      case 'fifo':
        return this.node(path, entry);
    }
  }

  /** Applies the deferred directory times; call once after the last entry. */
  async finish(): Promise<void> {
    for (const [path, t] of this.dirTimes) {
      if (lstatOrUndefined(path)?.isDirectory()) lutimesSync(path, t.atime, t.mtime);
    }
    this.dirTimes.clear();
  }

  private async directory(path: string, e: LayerEntry): Promise<void> {
    if (!this.created(() => mkdirSync(path, { mode: 0o700 }))) {
      if (!this.replace(path, true)) mkdirSync(path, { mode: 0o700 });
    }
    this.owner(path, e);
    chmodSync(path, e.mode);
    await this.xattrs(path, e);
    this.dirTimes.set(path, { atime: e.atime, mtime: e.mtime });
  }

  private async file(path: string, e: LayerEntry, body: AsyncIterable<Buffer>): Promise<void> {
    let fd = -1;
    if (!this.created(() => (fd = openSync(path, CREATE_FILE, 0o600)))) {
      this.replace(path, false);
      fd = openSync(path, CREATE_FILE, 0o600);
    }
    try {
      let written = 0;
      for await (const chunk of body) {
        let pos = 0;
        while (pos < chunk.length) pos += writeSync(fd, chunk, pos, chunk.length - pos);
        written += chunk.length;
      }
      if (written !== e.size) throw invalidArgument(`file data is ${written} bytes, header says ${e.size}`);
      if (this.privileged) fchownSync(fd, e.uid, e.gid);
      fchmodSync(fd, e.mode); // after chown, which clears setuid/setgid
      futimesSync(fd, e.atime, e.mtime);
    } finally {
      closeSync(fd);
    }
    await this.xattrs(path, e); // after chown, which clears security.capability
  }

  private async symlink(path: string, e: LayerEntry): Promise<void> {
    const target = e.linkname as string; // stored as-is, never followed here
    if (!this.created(() => symlinkSync(target, path))) {
      this.replace(path, false);
      symlinkSync(target, path);
    }
    this.owner(path, e);
    await this.xattrs(path, e);
    lutimesSync(path, e.atime, e.mtime);
  }

  private async hardlink(path: string, e: LayerEntry): Promise<void> {
    let parts: string[];
    try {
      parts = splitEntryPath(e.linkname as string, 'hardlink target');
    } catch (err) {
      throw invalidArgument(`${(err as Error).message}; hardlinks must point inside the layer`);
    }
    if (parts.length === 0) throw invalidArgument('hardlink to the layer root');
    const dir = this.dirs.resolve(parts.slice(0, -1), false);
    const target = join(dir, parts[parts.length - 1] as string);
    const st = lstatOrUndefined(target);
    if (st === undefined) throw invalidArgument(`hardlink target ${JSON.stringify(e.linkname)} does not exist in the layer`);
    if (st.isDirectory()) throw invalidArgument(`hardlink target ${JSON.stringify(e.linkname)} is a directory`);
    if (target === path) return;
    if (!this.created(() => linkSync(target, path))) {
      this.replace(path, false);
      linkSync(target, path); // link(2) does not follow a symlink target
    }
  }

  private async node(path: string, e: LayerEntry): Promise<void> {
    if (e.kind !== 'fifo' && !this.privileged) return; // as containerd in a user namespace: devices are skipped
    this.replace(path, false);
    await this.special.mknod(path, e.kind === 'fifo' ? 'fifo' : e.kind === 'char' ? 'char' : 'block', e.mode, e.devmajor, e.devminor);
    this.owner(path, e);
    chmodSync(path, e.mode);
    await this.xattrs(path, e);
    lutimesSync(path, e.atime, e.mtime);
  }

  /** `.wh..wh..opq` marks the parent opaque; `.wh.<name>` becomes a 0:0 char device named `<name>`. */
  private async whiteout(parent: string, base: string, e: LayerEntry): Promise<void> {
    if (base === WHITEOUT_OPAQUE) {
      await this.special.setxattr(parent, OPAQUE_XATTR, Buffer.from('y'));
      return;
    }
    if (base.startsWith(WHITEOUT_META_PREFIX)) return; // other aufs metadata carries nothing for overlay
    const name = base.slice(WHITEOUT_PREFIX.length);
    if (name === '' || name === '.' || name === '..') throw invalidArgument(`invalid whiteout ${JSON.stringify(base)}`);
    const path = join(parent, name);
    this.replace(path, false);
    await this.special.mknod(path, 'char', 0, 0, 0);
    this.owner(path, e);
  }

  /** Runs a create call; false when the name is already taken (EEXIST), any other error is thrown. */
  private created(create: () => unknown): boolean {
    try {
      create();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  /**
   * Makes room for a new entry at `path`. Returns true when an existing
   * directory is kept (both old and new are directories); anything else is
   * removed first. rm never follows symlinks, so nothing outside is touched.
   */
  private replace(path: string, wantDir: boolean): boolean {
    const st = lstatOrUndefined(path);
    if (st === undefined) return false;
    if (wantDir && st.isDirectory()) return true;
    rmSync(path, { recursive: true, force: true });
    this.dirs.forget(); // a removed name may come back as a symlink: resolve afresh
    for (const key of this.dirTimes.keys()) {
      if (key === path || key.startsWith(`${path}/`)) this.dirTimes.delete(key);
    }
    return false;
  }

  private owner(path: string, e: LayerEntry): void {
    if (this.privileged) lchownSync(path, e.uid, e.gid);
  }

  private async xattrs(path: string, e: LayerEntry): Promise<void> {
    for (const [name, value] of e.xattrs) await this.special.setxattr(path, name, value);
  }
}
