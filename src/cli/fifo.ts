import { execFileSync } from 'node:child_process';
import { closeSync, constants, createReadStream, mkdirSync, mkdtempSync, open, openSync, rmSync } from 'node:fs';
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
   * Opens a FIFO for reading. The open blocks (on libuv's pool) until the
   * shim opens the write end, so start it before creating the task.
   */
  read(fifo: string): Promise<Readable> {
    return new Promise((resolve, reject) => {
      open(fifo, 'r', (err, fd) => (err ? reject(err) : resolve(createReadStream('', { fd, highWaterMark: 64 * 1024 }))));
    });
  }

  /**
   * Wakes any read-open still waiting for a writer (a task that never
   * started), then removes the FIFOs. A blocked open would otherwise hold
   * a libuv pool thread and stop the process from exiting.
   */
  remove(): void {
    for (const fifo of [this.stdout, this.stderr]) {
      try {
        closeSync(openSync(fifo, constants.O_RDWR | constants.O_NONBLOCK));
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
