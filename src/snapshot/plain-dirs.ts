/**
 * Which directories of an extraction give a new entry exactly the owner and
 * permission bits the layer asks for, so the writer can skip its chown and
 * chmod (two of the six syscalls a small file costs). A directory is
 * "plain" when an entry created in it gets owner euid:egid (no setgid
 * directory hands down its group) and mode = requested & ~mask (no default
 * ACL overrides the umask). A probe file in the root tells whether the root
 * is plain and what the mask is; directories created under a plain one are
 * plain unless the layer makes them setgid or gives them a default ACL.
 * Anything not known to be plain gets the chown and chmod as before.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

const PROBE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const DEFAULT_ACL_XATTR = 'system.posix_acl_default';
const SPECIAL_BITS = 0o7000;
const SETGID = 0o2000;

/** See the file comment. Paths are real absolute paths under the root. */
export class PlainDirs {
  private readonly plain = new Set<string>();
  /** Permission bits a plain directory's new entries lose (the umask); all of them when the root is not plain. */
  readonly mask: number;
  private readonly uid: number;
  private readonly gid: number;

  constructor(root: string) {
    this.uid = process.geteuid?.() ?? -1;
    this.gid = process.getegid?.() ?? -1;
    const mask = probe(root, this.uid, this.gid);
    this.mask = mask ?? 0o777;
    if (mask !== undefined) this.plain.add(root);
  }

  /** True when an entry created in `dir` with `mode` already has `mode` (no chmod needed). */
  modeIsRight(dir: string, mode: number): boolean {
    return (mode & SPECIAL_BITS) === 0 && (mode & this.mask) === 0 && this.plain.has(dir);
  }

  /** True when an entry created in `dir` is already owned by `uid`:`gid` (no chown needed). */
  ownerIsRight(dir: string, uid: number, gid: number): boolean {
    return uid === this.uid && gid === this.gid && this.plain.has(dir);
  }

  /**
   * Records directory `dir`, made in `parent` (mkdir) or kept (`parent`
   * undefined), now with permission bits `mode` (undefined: as created) and
   * the layer's `xattrs` set on it.
   */
  noteDir(dir: string, parent: string | undefined, mode?: number, xattrs: ReadonlyArray<[string, Buffer]> = []): void {
    const inherited = parent === undefined ? this.plain.has(dir) : this.plain.has(parent);
    const plain = inherited && (mode === undefined || (mode & SETGID) === 0) && !xattrs.some(([name]) => name === DEFAULT_ACL_XATTR);
    if (plain) this.plain.add(dir);
    else this.plain.delete(dir);
  }

  /** Forgets `path` and everything below it (removed from the tree). */
  removed(path: string): void {
    const below = `${path}/`;
    for (const dir of this.plain) if (dir === path || dir.startsWith(below)) this.plain.delete(dir);
  }
}

/** Creates and removes a file in `root`: the mask its new entries get, or undefined when they are not owned by uid:gid. */
function probe(root: string, uid: number, gid: number): number | undefined {
  const path = join(root, `.containerd-ts-probe-${randomBytes(8).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(path, PROBE_FLAGS, 0o777);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    return st.uid === uid && st.gid === gid ? 0o777 & ~st.mode : undefined;
  } finally {
    closeSync(fd);
    unlinkSync(path);
  }
}
