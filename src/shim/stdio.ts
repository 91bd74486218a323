import { close, constants, createReadStream, createWriteStream, open, stat } from 'node:fs';
import { makePipe } from './native.js';
import { promisify } from 'node:util';
import type { StdioPaths } from './protocol.js';

const openFd = promisify(open);
const closeFd = promisify(close);
const statPath = promisify(stat);

/**
 * Opens the container's stdio targets so runc can hand them straight to
 * init (no copy loop in the shim, and /dev/stdout works in the container as
 * it does with containerd). FIFOs are opened read-write, as containerd's
 * shim does, so a reader that goes away never kills the container with
 * SIGPIPE; plain paths are append-only log files. Raw fds, not FileHandles:
 * they are closed explicitly once init holds its own copies.
 */
export async function openStdio(paths: StdioPaths): Promise<OpenedStdio> {
  const opened: number[] = [];
  const track = async (p: Promise<number>) => {
    const fd = await p;
    opened.push(fd);
    return fd;
  };
  try {
    const stdin = paths.stdin ? stdinPipe(paths.stdin, opened) : await track(openFd('/dev/null', constants.O_RDONLY));
    const stdout = await openOutput(track, paths.stdout);
    const stderr = paths.stderr && paths.stderr === paths.stdout ? stdout : await openOutput(track, paths.stderr);
    return { fds: [stdin, stdout, stderr], close: () => closeFds(opened) };
  } catch (err) {
    await closeFds(opened);
    throw err;
  }
}

/** The container's three stdio fds, and how to close the shim's copies of them after `runc create`. */
export interface OpenedStdio {
  fds: [number, number, number];
  close(): Promise<void>;
}

/**
 * stdin: opening the client's FIFO for reading blocks until the client
 * opens its end, and a read-write open would never give the container EOF.
 * So init gets a real pipe, and the shim copies the FIFO into it once the
 * client shows up, closing it at the client's EOF.
 */
function stdinPipe(fifo: string, opened: number[]): number {
  const [readEnd, writeEnd] = makePipe();
  opened.push(readEnd);
  void openFd(fifo, constants.O_RDONLY).then(
    (fifoFd) => createReadStream('', { fd: fifoFd }).pipe(createWriteStream('', { fd: writeEnd })).on('error', () => {}),
    () => closeFd(writeEnd).catch(() => {}),
  );
  return readEnd;
}

async function openOutput(track: (p: Promise<number>) => Promise<number>, target: string | undefined): Promise<number> {
  if (!target) return track(openFd('/dev/null', constants.O_WRONLY));
  const isFifo = await statPath(target).then((s) => s.isFIFO(), () => false);
  const flags = isFifo ? constants.O_RDWR : constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
  return track(openFd(target, flags, 0o640));
}

/** Closes the shim's copies once init holds its own, so readers see EOF when the container exits. */
export async function closeFds(fds: number[]): Promise<void> {
  for (const fd of new Set(fds)) await closeFd(fd).catch(() => {});
}
