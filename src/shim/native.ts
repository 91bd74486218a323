// Typed wrapper over the project's N-API helper (native/src/native.cc): subreaper,
// waitid on a re-parented pid, SCM_RIGHTS receive, pty resize, mount(2), mkfifo(3), xattr reads.
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

/** How a process ended; `status` is containerd's: exitCode, or 128+signal when killed. */
export type ExitStatus = { pid: number; exitCode: number | null; signal: number | null; status: number };

interface Addon {
  setChildSubreaper(): void;
  waitForExit(pid: number): Promise<ExitStatus>;
  reapPid(pid: number): ExitStatus | null;
  receiveFd(socketPath: string, timeoutMs: number): Promise<number>;
  setWindowSize(fd: number, rows: number, cols: number): void;
  pipe(): [number, number];
  dup2(oldFd: number, newFd: number): void;
  sdNotify(socketPath: string, message: string): void;
  waitForOomKill(dir: string, baseline: number): Promise<number>;
  mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<void>;
  unmount(target: string, flags: number): Promise<void>;
  setCloseOnExec(fd: number): void;
  mkfifo(path: string, mode: number): void;
  listXattrs(path: string): Array<[string, Buffer]>;
}

const ADDON = join('native', 'build', 'Release', 'containerd_ts_native.node');

let addon: Addon | undefined;

/** Loads the addon on first use, so importing this module never fails on its own. */
function native(): Addon {
  if (addon === undefined) {
    const path = join(packageRoot(import.meta.url), ADDON);
    if (!existsSync(path)) throw new Error(`native addon missing at ${path}: run \`npm run build:native\``);
    // dlopen directly: what require() does for a .node file, without its resolution (~0.7 ms of each ctr-ts run).
    const module = { exports: {} };
    process.dlopen(module, path);
    addon = module.exports as Addon;
  }
  return addon;
}

function checkPid(pid: number): void {
  if (!Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) throw new RangeError(`invalid pid: ${pid}`);
}

/** Marks this process a child subreaper (prctl PR_SET_CHILD_SUBREAPER); throws with errno text on failure. */
export function setChildSubreaper(): void {
  native().setChildSubreaper();
}

/** Waits on a dedicated thread for `pid` (a child, re-parented or not, NOT one spawned via child_process) to exit and reaps it; rejects with code 'ECHILD' if it is not our child. */
export async function waitForExit(pid: number): Promise<ExitStatus> {
  checkPid(pid);
  return native().waitForExit(pid);
}

/** Reaps `pid` if it has already exited (waitid WNOHANG), else returns null; throws code 'ECHILD' if it is not our child. */
export function reapPid(pid: number): ExitStatus | null {
  checkPid(pid);
  return native().reapPid(pid);
}

/** Listens at `socketPath` (bound before this returns), accepts one connection and resolves with the one SCM_RIGHTS fd it sends (runc --console-socket; fd is CLOEXEC); rejects with code 'ETIMEDOUT' after `timeoutMs`. */
export async function receiveFd(socketPath: string, timeoutMs: number): Promise<number> {
  if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > 0x7fffffff) throw new RangeError(`invalid timeoutMs: ${timeoutMs}`);
  return native().receiveFd(socketPath, timeoutMs);
}

/** Sets a tty's window size (ioctl TIOCSWINSZ); throws (code 'ENOTTY') if `fd` is not a terminal. */
export function setWindowSize(fd: number, rows: number, cols: number): void {
  for (const [name, v] of [['fd', fd], ['rows', rows], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > (name === 'fd' ? 0x7fffffff : 0xffff)) throw new RangeError(`invalid ${name}: ${v}`);
  }
  native().setWindowSize(fd, rows, cols);
}

/** A real pipe(2) with O_CLOEXEC, as [readFd, writeFd] (libuv's 'pipe' stdio is a socketpair). */
export function makePipe(): [number, number] {
  return native().pipe();
}

/** sd_notify(3): sends `message` (e.g. "READY=1") as one datagram to the unix socket `socketPath` ("@name": abstract). */
export function sendNotify(socketPath: string, message: string): void {
  native().sdNotify(socketPath, message);
}

/** dup2(2): makes `newFd` a copy of `oldFd` (closing what `newFd` was). */
export function duplicateFd(oldFd: number, newFd: number): void {
  native().dup2(oldFd, newFd);
}

/**
 * Resolves when memory cgroup `dir` counts an OOM kill beyond `baseline`
 * (with the new count) or is removed (with -1). Runs on its own thread and
 * keeps the event loop alive until then.
 */
export function waitForOomKill(dir: string, baseline: number): Promise<number> {
  return native().waitForOomKill(dir, baseline);
}

/** mount(2) flags the daemon uses. */
export const MountFlags = { MS_RDONLY: 0x1, MS_REMOUNT: 0x20, MS_BIND: 0x1000, MS_REC: 0x4000 } as const;
/** umount2(2) flag: detach now, free when no longer busy. */
export const MNT_DETACH = 0x2;

/** mount(2) on a worker thread; rejects with a Node-style system error (code 'EINVAL', ...). */
export function mount(source: string, target: string, fstype: string, flags: number, data = ''): Promise<void> {
  return native().mount(source, target, fstype, flags, data);
}

/** umount2(2) on a worker thread; rejects with code 'EINVAL' when `target` is not a mount point, 'EBUSY' when in use. */
export function unmount(target: string, flags = 0): Promise<void> {
  return native().unmount(target, flags);
}

/** Every extended attribute of `path` (not following a symlink), as [name, value] pairs; [] where the filesystem has none. Throws a Node-style system error (code 'ENOENT', ...). */
export function listXattrs(path: string): Array<[string, Buffer]> {
  return native().listXattrs(path);
}

/**
 * Marks every descriptor of this process that points under `dir` close-on-exec
 * (LMDB opens its files without O_CLOEXEC, so each child would inherit them).
 * Returns how many it marked.
 */
export function closeOnExecUnder(dir: string): number {
  let marked = 0;
  for (const name of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${name}`);
    } catch {
      continue; // closed meanwhile (the directory listing's own fd, for one)
    }
    if (target.startsWith(`${dir}/`)) {
      native().setCloseOnExec(Number(name));
      marked++;
    }
  }
  return marked;
}

/** mkfifo(3) of `path` with `mode` (before the umask); throws with code 'EEXIST' and the like. */
export function makeFifo(path: string, mode: number): void {
  native().mkfifo(path, mode);
}
