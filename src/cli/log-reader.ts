import { open, stat, type FileHandle } from 'node:fs/promises';
import { rotatedLogs } from '../shim/rotating-log.js';

/**
 * Reads a detached task's log file as the shim writes and rotates it. The
 * shim rotates by renaming the live file to `.1` and starting a new one, so
 * a reader holding the old file finishes it, then moves to the new one when
 * the path names a different inode.
 */
export class LogReader {
  private constructor(
    private readonly path: string,
    private handle: FileHandle,
    private ino: number,
    private offset: number,
  ) {}

  /** Opens the live file at its start, or at its current end with `fromEnd` (attach). */
  static async open(path: string, fromEnd = false): Promise<LogReader> {
    const handle = await open(path, 'r');
    const st = await handle.stat();
    return new LogReader(path, handle, st.ino, fromEnd ? st.size : 0);
  }

  /** Writes everything the log holds beyond what was read, across any rotation since the last call. */
  async drain(out: NodeJS.WritableStream): Promise<void> {
    await this.readToEnd(out);
    const now = await stat(this.path).catch(() => undefined);
    if (!now || now.ino === this.ino) return;
    // Rotated: the old file is complete (the shim renamed it before opening the new one).
    await this.readToEnd(out);
    await this.handle.close();
    this.handle = await open(this.path, 'r');
    this.ino = (await this.handle.stat()).ino;
    this.offset = 0;
    await this.readToEnd(out);
  }

  close(): Promise<void> {
    return this.handle.close();
  }

  private async readToEnd(out: NodeJS.WritableStream): Promise<void> {
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await this.handle.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      out.write(Buffer.from(buf.subarray(0, bytesRead)));
    }
  }
}

/** The rotated files of a log, oldest first, so that printing them in order and then the live file gives the whole kept history. */
export async function olderLogs(path: string): Promise<string[]> {
  return (await rotatedLogs(path)).reverse();
}
