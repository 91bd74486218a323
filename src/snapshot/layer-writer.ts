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
 * no lstat per entry; parent directories come from a DirResolver cache. An
 * entry is created with its final mode, and its chown and chmod are skipped,
 * where that already gives the right result (plain-dirs.ts).
 *
 * The interface is push-style and synchronous except where the special-files
 * helper is involved (xattrs, device nodes, whiteouts): begin(entry), data()
 * for a regular file's bytes, end(); begin and end return a promise only
 * when there is something to wait for, so the common entry costs none.
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
import { PlainDirs } from './plain-dirs.js';
import { DirResolver, lstatOrUndefined, splitEntryPath } from './safe-path.js';
import type { SpecialFiles } from './special-files.js';

const WHITEOUT_PREFIX = '.wh.';
const WHITEOUT_META_PREFIX = '.wh..wh.';
const WHITEOUT_OPAQUE = '.wh..wh..opq';
const OPAQUE_XATTR = 'trusted.overlay.opaque';
const CREATE_FILE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** The regular file being written, between begin() and end(). */
interface OpenFile {
  fd: number;
  path: string;
  entry: LayerEntry;
  written: number;
  /** Created with its final owner / mode already (no chown / chmod). */
  ownerIsRight: boolean;
  modeIsRight: boolean;
}

/** Extracts entries one by one into `root` (a real path with no symlinks in it). */
export class LayerWriter {
  private readonly dirTimes = new Map<string, { atime: number; mtime: number }>();
  private readonly dirs: DirResolver;
  private readonly plain: PlainDirs;
  private file: OpenFile | undefined;

  constructor(
    private readonly root: string,
    private readonly special: SpecialFiles,
    /** Root may chown and create device nodes; otherwise ownership is kept and devices are skipped. */
    private readonly privileged: boolean,
  ) {
    this.plain = new PlainDirs(root);
    this.dirs = new DirResolver(root, (dir, parent) => this.plain.noteDir(dir, parent));
  }

  /**
   * Starts an entry: everything but a regular file's data and metadata,
   * which follow with data() and end(). Returns a promise only when it has
   * to wait for the special-files helper.
   */
  begin(entry: LayerEntry): Promise<void> | undefined {
    if (entry.path.length === 0) {
      if (entry.kind !== 'directory') throw invalidArgument('the layer root must be a directory');
      return undefined; // the root's own metadata belongs to the snapshot, not the layer
    }
    const base = entry.path[entry.path.length - 1] as string;
    const parent = this.dirs.resolve(entry.path.slice(0, -1), true);
    if (base.startsWith(WHITEOUT_PREFIX)) return this.whiteout(parent, base, entry);
    const path = join(parent, base);
    switch (entry.kind) {
      case 'directory':
        return this.directory(parent, path, entry);
      case 'file':
        this.openFile(parent, path, entry);
        return undefined;
      case 'symlink':
        return this.symlink(parent, path, entry);
      case 'hardlink':
        this.hardlink(path, entry);
        return undefined;
      case 'char':
      case 'block':
      case 'fifo':
        return this.node(path, entry);
    }
  }

  /** The next bytes of the current regular file (ignored for an entry that is not written, such as a whiteout). */
  data(bytes: Uint8Array): void {
    const f = this.file;
    if (f === undefined) return;
    let pos = 0;
    while (pos < bytes.length) pos += writeSync(f.fd, bytes, pos, bytes.length - pos);
    f.written += bytes.length;
  }

  /** Ends the current entry: a regular file's size check, owner, mode, times and xattrs. */
  end(): Promise<void> | undefined {
    const f = this.file;
    if (f === undefined) return undefined;
    this.file = undefined;
    const e = f.entry;
    try {
      if (f.written !== e.size) throw invalidArgument(`file data is ${f.written} bytes, header says ${e.size}`);
      if (this.privileged && !f.ownerIsRight) fchownSync(f.fd, e.uid, e.gid);
      if (!f.modeIsRight) fchmodSync(f.fd, e.mode); // after chown, which clears setuid/setgid
      futimesSync(f.fd, e.atime, e.mtime);
    } finally {
      closeSync(f.fd);
    }
    return e.xattrs.length > 0 ? this.xattrs(f.path, e) : undefined; // after chown, which clears security.capability
  }

  /** Closes a file left open by a failure between begin() and end(). */
  close(): void {
    const f = this.file;
    this.file = undefined;
    if (f !== undefined) closeSync(f.fd);
  }

  /** Applies the deferred directory times; call once after the last entry. */
  finish(): void {
    for (const [path, t] of this.dirTimes) {
      if (lstatOrUndefined(path)?.isDirectory()) lutimesSync(path, t.atime, t.mtime);
    }
    this.dirTimes.clear();
  }

  private directory(parent: string, path: string, e: LayerEntry): Promise<void> | undefined {
    const modeIsRight = this.privileged && this.plain.modeIsRight(parent, e.mode);
    const mode = modeIsRight ? e.mode : 0o700;
    let made = this.created(() => mkdirSync(path, { mode }));
    if (!made && !this.replace(path, true)) {
      mkdirSync(path, { mode });
      made = true;
    }
    if (!(made && this.plain.ownerIsRight(parent, e.uid, e.gid))) this.owner(path, e);
    if (!(made && modeIsRight)) chmodSync(path, e.mode);
    this.plain.noteDir(path, made ? parent : undefined, e.mode, e.xattrs);
    this.dirTimes.set(path, { atime: e.atime, mtime: e.mtime });
    return e.xattrs.length > 0 ? this.xattrs(path, e) : undefined;
  }

  private openFile(parent: string, path: string, e: LayerEntry): void {
    const modeIsRight = this.plain.modeIsRight(parent, e.mode);
    const mode = modeIsRight ? e.mode : 0o600;
    let fd = -1;
    if (!this.created(() => (fd = openSync(path, CREATE_FILE, mode)))) {
      this.replace(path, false);
      fd = openSync(path, CREATE_FILE, mode);
    }
    this.file = { fd, path, entry: e, written: 0, ownerIsRight: this.plain.ownerIsRight(parent, e.uid, e.gid), modeIsRight };
  }

  private symlink(parent: string, path: string, e: LayerEntry): Promise<void> | undefined {
    const target = e.linkname as string; // stored as-is, never followed here
    if (!this.created(() => symlinkSync(target, path))) {
      this.replace(path, false);
      symlinkSync(target, path);
    }
    if (!this.plain.ownerIsRight(parent, e.uid, e.gid)) this.owner(path, e);
    if (e.xattrs.length === 0) {
      lutimesSync(path, e.atime, e.mtime);
      return undefined;
    }
    return this.xattrs(path, e).then(() => lutimesSync(path, e.atime, e.mtime));
  }

  private hardlink(path: string, e: LayerEntry): void {
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
    this.plain.removed(path);
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
