import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { makeFifo } from '../shim/native.js';

/** Which FIFOs a task's client needs: stdin with -i; no stderr with a terminal (the pty merges it into stdout). */
export interface FifoOptions {
  stdin?: boolean;
  stderr?: boolean;
  /** Output FIFOs at all (false for `run -d -i`: output goes to the task's log). */
  output?: boolean;
}

/**
 * The client side of containerd's stdio: FIFOs the CLI creates, whose paths
 * go into CreateTaskRequest. The shim opens the other ends.
 */
export class FifoSet {
  readonly dir: string;
  readonly stdin: string | undefined;
  readonly stdout: string | undefined;
  readonly stderr: string | undefined;
  private readers: net.Socket[] = [];
  private fds: number[] = [];
  private writer: net.Socket | undefined;

  constructor(stateDir: string, id: string, opts: FifoOptions = {}) {
    const base = path.join(stateDir, 'fifo');
    mkdirSync(base, { recursive: true, mode: 0o700 });
    this.dir = mkdtempSync(path.join(base, `${id}-`));
    const output = opts.output ?? true;
    this.stdin = opts.stdin ? path.join(this.dir, 'stdin') : undefined;
    this.stdout = output ? path.join(this.dir, 'stdout') : undefined;
    this.stderr = output && (opts.stderr ?? true) ? path.join(this.dir, 'stderr') : undefined;
    const all = [this.stdin, this.stdout, this.stderr].filter((p): p is string => p !== undefined);
    // Node has no mkfifo(3): the project's native addon has (spawning mkfifo(1) cost more than the rest of this).
    for (const fifo of all) makeFifo(fifo, 0o600);
  }

  /**
   * Opens the output read ends at once (O_NONBLOCK: no writer needed yet),
   * as containerd's fifo package does: holding them from the start keeps
   * every byte, however fast the container exits. Call before creating the task.
   */
  open(): void {
    this.fds = [this.stdout, this.stderr].filter((p): p is string => p !== undefined).map((f) => openSync(f, constants.O_RDONLY | constants.O_NONBLOCK));
  }

  /**
   * Copies the container's output to `out`/`err` until it closes its ends;
   * call once the task exists (the shim holds the write ends by then:
   * reading earlier would see "no writer" as EOF). The listeners go on at
   * once, so a container that exits before we look is not missed.
   */
  copyTo(out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<void> {
    this.readers = this.fds.map((fd) => new net.Socket({ fd, readable: true, writable: false }));
    this.fds = [];
    return Promise.all(this.readers.map((r, i) => pipeTo(r, i === 0 ? out : err))).then(() => undefined);
  }

  /**
   * Feeds `input` into the stdin FIFO; at its end, closes our end and calls
   * `onEnd` (CloseIO: the shim holds the FIFO open read-write, so the
   * container's stdin ends only when told). Call once the task or exec
   * exists: the shim holds the read end by then, so the open never waits.
   */
  feedStdin(input: NodeJS.ReadableStream, onEnd: () => Promise<unknown>): void {
    if (!this.stdin) return;
    let fd: number;
    try {
      fd = openSync(this.stdin, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (err) {
      // ENXIO: no reader, the process has already exited (and the shim closed its stdin).
      if ((err as NodeJS.ErrnoException).code === 'ENXIO') return;
      throw err;
    }
    const writer = new net.Socket({ fd, readable: false, writable: true });
    writer.on('error', () => {});
    this.writer = writer;
    input.on('data', (chunk: Buffer) => {
      if (!writer.write(chunk)) {
        input.pause();
        writer.once('drain', () => input.resume());
      }
    });
    input.once('end', () => writer.end(() => void onEnd().catch(() => {})));
    input.resume();
  }

  /** Closes our ends (a task that never started never ends them) and removes the FIFOs unless `keep`. */
  remove(keep = false): void {
    for (const r of this.readers) r.destroy();
    for (const fd of this.fds) closeSync(fd);
    this.writer?.destroy();
    if (keep) return;
    // Our own FIFOs and the directory, by name: rmSync's recursive walk cost ~1 ms of CPU a run.
    try {
      for (const fifo of [this.stdin, this.stdout, this.stderr]) if (fifo !== undefined) unlinkIfThere(fifo);
      rmdirSync(this.dir);
    } catch {
      rmSync(this.dir, { recursive: true, force: true }); // something else in it, or already gone
    }
  }
}

function unlinkIfThere(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

function pipeTo(from: net.Socket, to: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    from.on('data', (chunk) => to.write(chunk));
    from.on('end', resolve);
    from.on('close', resolve);
    from.on('error', () => resolve());
  });
}
