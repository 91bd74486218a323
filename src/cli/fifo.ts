import { execFileSync } from 'node:child_process';
import { constants, mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Readable } from 'node:stream';

/**
 * The client side of containerd's stdio: FIFOs the CLI creates and reads,
 * whose paths go into CreateTaskRequest. The shim opens the write ends.
 */
export class FifoSet {
  readonly dir: string;
  readonly stdout: string;
  readonly stderr: string;
  private readonly readers: net.Socket[] = [];

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
   * Opens a FIFO for reading at once (O_NONBLOCK: no writer needed yet), as
   * containerd's fifo package does. Holding the read end from the start
   * keeps every byte the container writes, however fast it exits; the
   * stream ends once a writer has come and gone (the container exited).
   */
  read(fifo: string): Readable {
    const socket = new net.Socket({ fd: openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK), readable: true, writable: false });
    this.readers.push(socket);
    return socket;
  }

  /** Closes our read ends (a task that never started never ends them) and removes the FIFOs. */
  remove(): void {
    for (const r of this.readers) r.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
