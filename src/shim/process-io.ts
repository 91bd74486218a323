import { close, closeSync, constants, open, stat } from 'node:fs';
import net from 'node:net';
import tty from 'node:tty';
import { promisify } from 'node:util';
import { failedPrecondition } from '../errors.js';
import { waitWithin } from '../wait-within.js';
import { ConsoleSocket } from './console.js';
import { makePipe, setWindowSize } from './native.js';
import type { StdioPaths } from './protocol.js';
import { DEFAULT_LOG_ROTATION, RotatingLog, type LogRotation } from './rotating-log.js';

const openFd = promisify(open);
const closeFd = promisify(close);
const statPath = promisify(stat);

/** How long an exit waits for the last output to be copied (a daemonized child may hold the pipe for ever). */
export const OUTPUT_DRAIN_LIMIT_MS = 2000;

/** VEOF (Ctrl-D), the default end-of-file character of a terminal. */
const EOF_CHAR = Buffer.from([0x04]);

/** Where one process's output goes once the shim holds it. */
interface OutputSink {
  write(chunk: Buffer): void;
  end(): void;
}

/**
 * The stdio of one container process (init or exec), from `runc create`
 * (or `exec`) to its exit.
 *
 * - stdin FIFO: opened read-write, which never blocks and never sees EOF,
 *   so clients may come and go (attach); the process's stdin ends only on
 *   CloseIO (or its exit). Without a FIFO, stdin is /dev/null.
 * - output FIFO without a terminal: handed to runc as is (no copy; opened
 *   read-write so a reader that leaves never kills the container with
 *   SIGPIPE).
 * - output log file (detached tasks): the process writes into a pipe and
 *   the shim appends to the log, rotating it by size.
 * - terminal: runc sends the pty master over a console socket; the shim
 *   copies stdin into it and its output to stdout's target.
 */
export class ProcessIO {
  /** The fds runc (and, without a terminal, the process) gets as stdio. */
  readonly runtimeStdio: [number, number, number];
  private readonly ownFds: number[];
  private readonly copies: Array<Promise<void>> = [];
  private stdinSource: net.Socket | undefined;
  private stdinTarget: { write(b: Buffer): void; end(): void } | undefined;
  private master: tty.ReadStream | undefined;
  private masterFd = -1;
  private closed = false;

  private constructor(
    private readonly paths: StdioPaths,
    private readonly rotation: LogRotation,
    readonly console: ConsoleSocket | undefined,
    runtimeStdio: [number, number, number],
    ownFds: number[],
  ) {
    this.runtimeStdio = runtimeStdio;
    this.ownFds = ownFds;
  }

  get terminal(): boolean {
    return this.console !== undefined;
  }

  /**
   * Opens everything the runtime needs before it runs. `bundle` and `name`
   * place the console socket. Nothing here blocks on a client.
   */
  static async open(paths: StdioPaths, bundle: string, name: string, rotation: LogRotation = DEFAULT_LOG_ROTATION): Promise<ProcessIO> {
    const fds: number[] = [];
    const track = async (p: Promise<number>) => {
      const fd = await p;
      fds.push(fd);
      return fd;
    };
    try {
      if (paths.terminal) {
        const devNull = await track(openFd('/dev/null', constants.O_RDWR));
        const io = new ProcessIO(paths, rotation, ConsoleSocket.listen(bundle, name), [devNull, devNull, devNull], fds);
        return io;
      }
      const copies: Array<{ readEnd: number; sink: () => OutputSink }> = [];
      let stdinWrite: number | undefined;
      let stdin: number;
      if (paths.stdin) {
        const [r, w] = makePipe();
        fds.push(r);
        stdinWrite = w;
        stdin = r;
      } else stdin = await track(openFd('/dev/null', constants.O_RDONLY));
      const output = async (target: string | undefined): Promise<number> => {
        if (!target) return track(openFd('/dev/null', constants.O_WRONLY));
        if (await isFifo(target)) return track(openFd(target, constants.O_RDWR));
        const [r, w] = makePipe();
        fds.push(w);
        copies.push({ readEnd: r, sink: () => logSink(target, rotation) });
        return w;
      };
      const stdout = await output(paths.stdout);
      const stderr = paths.stderr && paths.stderr === paths.stdout ? stdout : await output(paths.stderr);
      const io = new ProcessIO(paths, rotation, undefined, [stdin, stdout, stderr], fds);
      for (const c of copies) io.copies.push(copyInto(new net.Socket({ fd: c.readEnd, readable: true, writable: false }), c.sink()));
      if (paths.stdin && stdinWrite !== undefined) {
        const target = new net.Socket({ fd: stdinWrite, readable: false, writable: true });
        target.on('error', () => {});
        await io.attachStdin(paths.stdin, { write: (b) => target.write(b), end: () => target.destroySoon() });
      }
      return io;
    } catch (err) {
      for (const fd of new Set(fds)) closeSync(fd);
      throw err;
    }
  }

  /**
   * After the runtime created the process: drop the shim's copies of its
   * stdio (so readers see EOF at its exit) and, with a terminal, take the
   * pty master and start copying.
   */
  async created(): Promise<void> {
    await this.closeRuntimeFds();
    if (!this.console) return;
    const fd = await this.console.master();
    this.masterFd = fd;
    const master = new tty.ReadStream(fd);
    this.master = master;
    master.on('error', () => {}); // EIO: every slave fd is closed, the process has gone
    const sink = this.paths.stdout ? await outputSink(this.paths.stdout, this.rotation) : { write() {}, end() {} };
    this.copies.push(copyInto(master, sink));
    // CloseIO on a terminal: the EOF character, which a reader in canonical mode (cat, sh) takes as end of input.
    if (this.paths.stdin) await this.attachStdin(this.paths.stdin, { write: (b) => master.write(b), end: () => master.write(EOF_CHAR) });
  }

  /** The runtime failed: release the fds and the console socket. */
  async failed(): Promise<void> {
    this.console?.abort();
    await this.closeRuntimeFds();
    this.closeAll();
  }

  /** Sets the terminal's size (ResizePty). */
  resize(width: number, height: number, what: string): void {
    if (!this.console) throw failedPrecondition(`${what} has no terminal (it was not created with -t): nothing to resize`);
    // Exited: the size of a closed terminal no longer matters (ctr resizes right after start and may come late).
    if (!this.master || this.closed) return;
    setWindowSize(this.masterFd, height, width);
  }

  /** CloseIO: the process's stdin ends (EOF without a terminal); clients can no longer write to it. */
  closeStdin(): void {
    this.stdinSource?.destroy();
    this.stdinSource = undefined;
    this.stdinTarget?.end();
    this.stdinTarget = undefined;
  }

  /**
   * Resolves when every output copy has ended (the process and everything
   * that inherited its stdio are gone), or after `limitMs`: a daemonized
   * child holding the pipe must not hold back the exit.
   */
  async drained(limitMs: number): Promise<void> {
    await waitWithin(Promise.all(this.copies), limitMs);
  }

  /** After the exit: nothing more is copied; the terminal and the FIFOs are closed. */
  closeAll(): void {
    if (this.closed) return;
    this.closed = true;
    this.closeStdin();
    this.master?.destroy();
  }

  private async attachStdin(fifo: string, target: { write(b: Buffer): void; end(): void }): Promise<void> {
    // Read-write: the open never waits for a writer and EOF never comes from the FIFO itself.
    const fd = await openFd(fifo, constants.O_RDWR);
    const source = new net.Socket({ fd, readable: true, writable: false });
    source.on('data', (b: Buffer) => target.write(b));
    source.on('error', () => {});
    this.stdinSource = source;
    this.stdinTarget = target;
  }

  private async closeRuntimeFds(): Promise<void> {
    for (const fd of new Set(this.ownFds.splice(0))) await closeFd(fd).catch(() => {});
  }
}

async function isFifo(p: string): Promise<boolean> {
  return statPath(p).then((s) => s.isFIFO(), () => false);
}

function logSink(file: string, rotation: LogRotation): OutputSink {
  const log = new RotatingLog(file, rotation);
  return { write: (b) => log.write(b), end: () => log.close() };
}

/** A terminal's output target: a client's FIFO (written through a socket, read-write so no SIGPIPE) or a log file. */
async function outputSink(target: string, rotation: LogRotation): Promise<OutputSink> {
  if (!(await isFifo(target))) return logSink(target, rotation);
  const fd = await openFd(target, constants.O_RDWR);
  const out = new net.Socket({ fd, readable: false, writable: true });
  out.on('error', () => {});
  return { write: (b) => out.write(b), end: () => out.end() };
}

/** Copies a readable into a sink until it ends or fails (a pty master fails with EIO at the end). */
function copyInto(from: net.Socket, sink: OutputSink): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      try {
        sink.end();
      } catch {
        // a log that cannot be closed has nothing more to lose
      }
      resolve();
    };
    from.on('data', (b: Buffer) => {
      try {
        sink.write(b);
      } catch {
        // disk full or the like: keep draining so the container never blocks on its output
      }
    });
    from.on('end', finish);
    from.on('close', finish);
    from.on('error', finish);
  });
}
