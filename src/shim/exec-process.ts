import { writeFile, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { waitForExit } from './native.js';
import type { ExitInfo, StdioPaths, TaskStatus } from './protocol.js';
import type { Runc } from './runc.js';
import { OUTPUT_DRAIN_LIMIT_MS, ProcessIO } from './process-io.js';

/**
 * An extra process in a running container (`exec`): created as a spec,
 * started with `runc exec --detach` (reparented to the shim, which reaps it
 * with its exact status), then deleted. Its states are few enough to guard
 * inline: created → running → stopped → deleted.
 */
export class ExecProcess {
  private status: TaskStatus = 'created';
  private pid = 0;
  private exit: ExitInfo | undefined;
  private readonly waiters: Array<(e: ExitInfo) => void> = [];
  private io: ProcessIO | undefined;

  constructor(
    readonly execId: string,
    private readonly containerId: string,
    private readonly bundle: string,
    private readonly runc: Runc,
    private readonly spec: unknown,
    private readonly stdio: StdioPaths,
    private readonly onExit: (execId: string, exit: ExitInfo) => void,
  ) {}

  async start(): Promise<number> {
    if (this.status !== 'created') throw failedPrecondition(`exec ${this.execId} is ${this.status}: it can be started once`);
    const specFile = path.join(this.bundle, `exec-${this.execId}.json`);
    const pidFile = path.join(this.bundle, `exec-${this.execId}.pid`);
    await writeFile(specFile, JSON.stringify(this.spec));
    const io = await ProcessIO.open(this.stdio, this.bundle, `exec-${this.execId}`);
    try {
      await this.runc.exec(this.containerId, this.bundle, specFile, pidFile, io.runtimeStdio, io.console?.path);
    } catch (err) {
      await io.failed();
      throw err;
    } finally {
      await rm(specFile, { force: true });
    }
    this.io = io;
    await io.created();
    this.pid = Number((await readFile(pidFile, 'utf8')).trim());
    await rm(pidFile, { force: true });
    this.status = 'running';
    void waitForExit(this.pid).then((s) => this.reaped(s.status, s.signal));
    return this.pid;
  }

  /** ResizePty with this exec id. */
  resize(width: number, height: number): void {
    if (!this.io) throw failedPrecondition(`exec ${this.execId} has not started`);
    this.io.resize(width, height, `exec ${this.execId}`);
  }

  /** The container is gone: nothing of this process's stdio stays open. */
  closeAllIO(): void {
    this.io?.closeAll();
  }

  /** CloseIO with this exec id: its stdin ends. */
  closeIO(): void {
    if (!this.io) throw failedPrecondition(`exec ${this.execId} has not started`);
    this.io.closeStdin();
  }

  kill(signal: number): void {
    if (this.status !== 'running') throw notFound(`exec ${this.execId} is ${this.status}: no process to signal`);
    process.kill(this.pid, signal);
  }

  /** Resolves at the exit; may be called before start (clients wait first so they cannot miss it). */
  wait(): Promise<ExitInfo> {
    if (this.exit) return Promise.resolve(this.exit);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  delete(): ExitInfo {
    if (this.status === 'running') throw failedPrecondition(`exec ${this.execId} is running: kill it before deleting it`);
    this.status = 'deleted';
    return this.exit ?? { pid: 0, status: 0, signal: null, exitedAt: new Date().toISOString(), oomKilled: false };
  }

  state() {
    return { id: this.execId, pid: this.pid, status: this.status, bundle: this.bundle, ...(this.exit ? { exit: this.exit } : {}), ...this.stdio };
  }

  private async reaped(status: number, signal: number | null): Promise<void> {
    await this.io?.drained(OUTPUT_DRAIN_LIMIT_MS);
    this.io?.closeAll();
    this.exit = { pid: this.pid, status, signal, exitedAt: new Date().toISOString(), oomKilled: false };
    this.status = 'stopped';
    for (const w of this.waiters.splice(0)) w(this.exit);
    this.onExit(this.execId, this.exit);
  }
}

/** Exec ids follow containerd's identifier rule (they become file names here). */
export function validateExecId(id: string): string {
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,74}[A-Za-z0-9])?$/.test(id)) throw invalidArgument(`invalid exec id "${id}"`);
  return id;
}
