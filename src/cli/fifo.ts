import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * The client side of containerd's stdio: FIFOs the CLI creates and reads,
 * whose paths go into CreateTaskRequest. The shim opens the write ends.
 */
export class FifoSet {
  readonly dir: string;
  readonly stdout: string;
  readonly stderr: string;
  private readers: net.Socket[] = [];
  private fds: number[] = [];

  constructor(stateDir: string, id: string) {
    const base = path.join(stateDir, 'fifo');
    mkdirSync(base, { recursive: true, mode: 0o700 });
    this.dir = mkdtempSync(path.join(base, `${id}-`));
    this.stdout = path.join(this.dir, 'stdout');
    this.stderr = path.join(this.dir, 'stderr');
    // Node has no mkfifo(3); one mkfifo(1) call makes both.
    execFileSync('mkfifo', ['-m', '0600', this.stdout, this.stderr]);
  }

  /**
   * Opens both read ends at once (O_NONBLOCK: no writer needed yet), as
   * containerd's fifo package does: holding them from the start keeps every
   * byte, however fast the container exits. Call before creating the task.
   */
  open(): void {
    this.fds = [this.stdout, this.stderr].map((f) => openSync(f, constants.O_RDONLY | constants.O_NONBLOCK));
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
    return Promise.all([pipeTo(this.readers[0]!, out), pipeTo(this.readers[1]!, err)]).then(() => undefined);
  }

  /** Closes our read ends (a task that never started never ends them) and removes the FIFOs. */
  remove(): void {
    for (const r of this.readers) r.destroy();
    for (const fd of this.fds) closeSync(fd);
    rmSync(this.dir, { recursive: true, force: true });
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
