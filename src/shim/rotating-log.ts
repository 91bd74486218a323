import { closeSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument } from '../errors.js';

/** How big a detached container's log may grow and how many rotated files are kept (`<log>.1` newest). */
export interface LogRotation {
  maxBytes: number;
  keep: number;
}

export const DEFAULT_LOG_ROTATION: LogRotation = { maxBytes: 10 * 1024 * 1024, keep: 3 };

/**
 * Whether the current file must be rotated before `incoming` more bytes go
 * in. An empty file never rotates, so a single read larger than the limit
 * still lands whole (files exceed the limit by at most one read, 64 KiB).
 */
export function needsRotation(currentBytes: number, incoming: number, policy: LogRotation): boolean {
  return currentBytes > 0 && currentBytes + incoming > policy.maxBytes;
}

/** `<log>.N`: the N-th newest rotated file. */
export function rotatedPath(log: string, n: number): string {
  return `${log}.${n}`;
}

/**
 * The file operations of one rotation, in order: the oldest kept file is
 * dropped, each `.N` moves to `.N+1`, the live file becomes `.1`. With
 * keep = 0 the live file is simply dropped.
 */
export function rotationSteps(log: string, keep: number): Array<{ op: 'remove'; path: string } | { op: 'rename'; from: string; to: string }> {
  if (keep === 0) return [{ op: 'remove', path: log }];
  const steps: Array<{ op: 'remove'; path: string } | { op: 'rename'; from: string; to: string }> = [{ op: 'remove', path: rotatedPath(log, keep) }];
  for (let n = keep - 1; n >= 1; n--) steps.push({ op: 'rename', from: rotatedPath(log, n), to: rotatedPath(log, n + 1) });
  steps.push({ op: 'rename', from: log, to: rotatedPath(log, 1) });
  return steps;
}

/**
 * The shim's writer for a detached container's log file: appends what the
 * container prints and rotates by size. Writes are synchronous: they are
 * small, ordered, and the shim has nothing else to do meanwhile. Readers
 * (`ctr-ts logs -f`) notice a rotation by the path's inode changing.
 */
export class RotatingLog {
  private fd: number;
  private size: number;

  constructor(
    readonly path: string,
    private readonly policy: LogRotation,
  ) {
    this.fd = openSync(path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  write(chunk: Buffer): void {
    if (needsRotation(this.size, chunk.length, this.policy)) this.rotate();
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off);
    this.size += chunk.length;
  }

  close(): void {
    closeSync(this.fd);
  }

  private rotate(): void {
    for (const step of rotationSteps(this.path, this.policy.keep)) {
      try {
        if (step.op === 'remove') rmSync(step.path, { force: true });
        else renameSync(step.from, step.to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    closeSync(this.fd);
    this.fd = openSync(this.path, 'a', 0o640);
    this.size = 0;
  }
}

/** Validates a rotation policy once, where it enters (config file, shim request). */
export function validateLogRotation(p: LogRotation): LogRotation {
  if (!Number.isSafeInteger(p.maxBytes) || p.maxBytes < 4096) throw invalidArgument(`log max size must be at least 4096 bytes, not ${p.maxBytes}`);
  if (!Number.isInteger(p.keep) || p.keep < 0 || p.keep > 100) throw invalidArgument(`log files kept must be 0..100, not ${p.keep}`);
  return p;
}

/** The rotated files of `log` that exist, newest first (`.1`, `.2`, ...). */
export async function rotatedLogs(log: string): Promise<string[]> {
  const base = path.basename(log);
  let names: string[];
  try {
    names = await readdir(path.dirname(log));
  } catch {
    return [];
  }
  return names
    .map((n) => (n.startsWith(`${base}.`) && /^\d+$/.test(n.slice(base.length + 1)) ? Number(n.slice(base.length + 1)) : 0))
    .filter((n) => n > 0)
    .sort((a, b) => a - b)
    .map((n) => rotatedPath(log, n));
}
