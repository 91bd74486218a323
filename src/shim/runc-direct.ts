import { closeSync, constants, fstatSync, openSync, readdirSync, readFileSync, readSync, rmdirSync, rmSync, type Dirent } from 'node:fs';
import { unlink } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { failedPrecondition, RuntimeError } from '../errors.js';

/**
 * Two runc commands done without running runc, on runc's own state
 * directory (`<root>/<id>`, the layout of runc 1.0 and 1.1; checked against
 * Debian's 1.1.5). Each spares a Go start-up and a state load, and delete
 * also a D-Bus round trip: about 10 and 17 ms of a `run --rm`. Anything that
 * does not match what is described here falls back to the real command
 * (the functions return false).
 *
 * start: after create, runc init blocks opening `exec.fifo` for writing.
 * `runc start` opens it for reading, reads init's one byte, reads on to EOF
 * (init's end is close-on-exec, so EOF means the user's process has been
 * exec'd) and removes the FIFO: its absence is how runc tells "running" from
 * "created". runc 1.1 runs poststart hooks in create, not in start.
 *
 * delete of a stopped container: `runc delete` stops the unit (the daemon
 * stops the scope itself after the shim's delete), removes every
 * directory in state.json's `cgroup_paths` (sub-cgroups first, retrying
 * while the last processes of the pid namespace die; here less systemd's
 * own hierarchies under the systemd driver, see cgroupDirsToRemove), removes
 * the state directory and runs poststop hooks. A spec with poststop hooks, without a
 * pid namespace of its own (runc then kills what is left in the cgroup) or
 * with Intel RDT goes to runc.
 */

const EXEC_FIFO = 'exec.fifo';

/**
 * Starts a created container by its exec FIFO; false when there is none
 * (not runc's layout). `initExited` settles when init is reaped: an init
 * that dies before it opens the FIFO would otherwise be waited for forever.
 */
export async function startThroughExecFifo(stateDir: string, initExited: Promise<unknown>): Promise<boolean> {
  const fifo = path.join(stateDir, EXEC_FIFO);
  let fd: number;
  try {
    // Non-blocking: opening never waits for init, and reads are driven by epoll.
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
  if (!fstatSync(fd).isFIFO()) {
    closeSync(fd);
    return false;
  }
  // The socket owns the descriptor from here and closes it when destroyed.
  const reader = new net.Socket({ fd, readable: true, writable: false });
  let received = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      reader.on('data', (chunk: Buffer) => (received += chunk.length));
      reader.on('end', () => (received > 0 ? resolve() : reject(alreadyRunning())));
      reader.on('error', reject);
      void initExited.then(() => {
        // init gone: its byte is either seen, still in the pipe (read it from a
        // second reader, synchronously, before the socket can) or was never written.
        if (received > 0 || pendingByte(fifo)) resolve();
        else reject(failedPrecondition('container process is already dead'));
      });
    });
  } finally {
    reader.destroy();
  }
  await unlink(fifo).catch(() => undefined);
  return true;
}

/** Reads a byte already in the FIFO through a second non-blocking reader. */
function pendingByte(fifo: string): boolean {
  // Synchronous on purpose: no event may run (and the socket read the byte) in between.
  let fd = -1;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    return readSync(fd, Buffer.alloc(1)) > 0;
  } catch {
    return false;
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

function alreadyRunning(): RuntimeError {
  return failedPrecondition('cannot start an already running container');
}

/** The parts of the bundle's OCI spec that decide whether runc must do the delete. */
interface SpecForDelete {
  hooks?: { poststop?: unknown[] };
  linux?: { namespaces?: Array<{ type?: string; path?: string }>; intelRdt?: unknown };
}

/**
 * Deletes a stopped container's runtime state: its cgroups and its state
 * directory. False when runc must do it (see above) or the state is not
 * runc's layout.
 */
export async function deleteStoppedDirectly(stateDir: string, bundle: string, systemdDriver: boolean): Promise<boolean> {
  let spec: SpecForDelete;
  let cgroupPaths: unknown;
  try {
    // Synchronous: two small tmpfs files, cheaper than two pool round trips.
    spec = JSON.parse(readFileSync(path.join(bundle, 'config.json'), 'utf8')) as SpecForDelete;
    cgroupPaths = (JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as { cgroup_paths?: unknown }).cgroup_paths;
  } catch {
    return false;
  }
  if (!needsNoRunc(spec) || !isPathMap(cgroupPaths)) return false;
  await removeCgroups(cgroupDirsToRemove(cgroupPaths, systemdDriver));
  // Synchronous: one small file, where the promise version takes a few pool round trips.
  rmSync(stateDir, { recursive: true, force: true });
  return true;
}

function needsNoRunc(spec: SpecForDelete): boolean {
  if ((spec.hooks?.poststop?.length ?? 0) > 0 || spec.linux?.intelRdt !== undefined) return false;
  const pidNs = spec.linux?.namespaces?.find((ns) => ns.type === 'pid');
  return pidNs !== undefined && !pidNs.path;
}

function isPathMap(v: unknown): v is Record<string, string> {
  if (typeof v !== 'object' || v === null) return false;
  return Object.values(v).every((p) => typeof p === 'string' && p.startsWith('/sys/fs/cgroup/'));
}

/**
 * The container's cgroup directories as runc recorded them at create, kept
 * by the shim: a container whose runc state went missing still has its
 * cgroups removed (runc made some itself that systemd does not remove).
 */
export async function readCgroupPaths(stateDir: string, systemdDriver: boolean): Promise<string[] | undefined> {
  try {
    const paths = (JSON.parse(readFileSync(path.join(stateDir, 'state.json'), 'utf8')) as { cgroup_paths?: unknown }).cgroup_paths;
    return isPathMap(paths) ? cgroupDirsToRemove(paths, systemdDriver) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Keys of runc's `cgroup_paths` that are systemd's own hierarchies: the
 * unified one ('': v2, and v1's hybrid layout) and v1's name=systemd.
 * Under the systemd driver they are the scope unit's cgroup, which systemd
 * removes itself once the scope is empty. runc's delete removes them only
 * after stopping the unit; removing them at the container's exit raced
 * systemd's notice that the scope emptied (inotify on cgroup.events), and a
 * missed notice left the scope deactivating, its machine registered, for
 * seconds (seen in CI after `machinectl terminate`).
 */
const SYSTEMD_HIERARCHIES = new Set(['', 'name=systemd']);

/** The cgroup directories the shim removes itself: all of runc's, less systemd's under the systemd driver. */
export function cgroupDirsToRemove(paths: Record<string, string>, systemdDriver: boolean): string[] {
  return Object.entries(paths).filter(([hierarchy]) => !(systemdDriver && SYSTEMD_HIERARCHIES.has(hierarchy))).map(([, dir]) => dir);
}

/** runc's RemovePaths: five passes, 10 ms apart and doubling, until every directory is gone. */
export async function removeCgroups(dirs: string[]): Promise<void> {
  let left = dirs;
  let delay = 10;
  for (let pass = 0; pass < 5; pass++) {
    if (pass > 0) {
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
    left = left.filter((dir) => !removeCgroup(dir));
    if (left.length === 0) return;
  }
  throw new RuntimeError('Internal', `cannot remove the container's cgroups (still busy): ${left.join(', ')}`);
}

/**
 * Removes one cgroup directory, sub-cgroups first; true once it is gone.
 * Synchronous rmdir, right at the exit: it then mostly comes before
 * systemd's own clean-up of the emptied scope takes the kernel's cgroup
 * lock. Measured in the box: 0.4-0.6 ms in 16 of 20 exits, 13-20 ms when
 * systemd was first; on the pool it started later and lost that race in 12
 * of 20. The exit event goes out before it (the daemon answers wait from
 * that event: see ExitWaiters).
 */
function removeCgroup(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return true;
    if (code !== 'EBUSY' && code !== 'ENOTEMPTY') return false;
  }
  let children: Dirent[];
  try {
    children = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
  for (const child of children) {
    if (child.isDirectory() && !removeCgroup(path.join(dir, child.name))) return false;
  }
  try {
    rmdirSync(dir);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
