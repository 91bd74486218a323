import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { failedPrecondition, notFound, RuntimeError } from '../errors.js';
import { ExecProcess, validateExecId } from './exec-process.js';
import { CreatedState, type InitActions, type InitState } from './init-state.js';
import { waitForExit, waitForOomKill } from './native.js';
import { readOomKills, memoryCgroupOf } from './oom.js';
import type { CreateParams, ExitInfo, StateResult, StdioPaths } from './protocol.js';
import type { Runc } from './runc.js';
import { waitWithin } from '../wait-within.js';
import { deleteStoppedDirectly, readCgroupPaths, removeCgroups, startThroughExecFifo } from './runc-direct.js';
import { OUTPUT_DRAIN_LIMIT_MS, ProcessIO } from './process-io.js';
import { validateLogRotation } from './rotating-log.js';

/** How long a SIGKILLed init's exit may wait for the OOM watcher's verdict. */
const OOM_VERDICT_LIMIT_MS = 2000;

/**
 * The container's init process as the shim sees it: created by runc,
 * reparented to the shim (a subreaper) when `runc create` exits, waited on
 * for its exact status, then deleted. Its state object decides what is
 * allowed; this class does the work.
 */
export class InitProcess implements InitActions {
  private state: InitState = new CreatedState(this);
  private pid = 0;
  private exit: ExitInfo | undefined;
  private readonly exitWaiters: Array<(e: ExitInfo) => void> = [];
  private readonly execs = new Map<string, ExecProcess>();
  private stdio: StdioPaths = {};
  private io: ProcessIO | undefined;
  private memoryCgroup: string | undefined;
  private oomKillsAtStart = 0;
  private oomKilled = false;
  private oomWatch: Promise<boolean> | undefined;
  /** runc's record of the container's cgroup directories, read at create. */
  private cgroupPaths: string[] | undefined;
  /** Removal of the cgroups, begun at the init's exit. */
  private cgroupsRemoved: Promise<unknown> | undefined;

  constructor(
    readonly id: string,
    private readonly bundle: string,
    private readonly runc: Runc,
    private readonly onExit: (exit: ExitInfo) => void,
  ) {}

  /** `runc create`, then start waiting for init on our own thread. */
  async create(params: CreateParams): Promise<number> {
    if (this.pid !== 0) throw new RuntimeError('AlreadyExists', `task ${this.id} was already created`);
    const { logRotation, ...stdio } = params;
    if (logRotation) validateLogRotation(logRotation);
    this.stdio = stdio;
    const io = await ProcessIO.open(stdio, this.bundle, 'init', logRotation);
    try {
      this.pid = await this.runc.create(this.id, this.bundle, io.runtimeStdio, io.console?.path);
    } catch (err) {
      await io.failed();
      throw err;
    }
    this.io = io;
    // runc has sent the pty master by the time create returns; a failure here leaves a created task to delete.
    await io.created();
    const stateDir = this.runc.stateDir(this.id);
    if (stateDir) this.cgroupPaths = await readCgroupPaths(stateDir, this.runc.systemdDriver);
    this.memoryCgroup = await memoryCgroupOf(this.pid);
    this.oomKillsAtStart = await readOomKills(this.memoryCgroup);
    if (this.memoryCgroup) this.oomWatch = this.watchOom(this.memoryCgroup, this.oomKillsAtStart);
    void waitForExit(this.pid).then((status) => this.reaped(status.status, status.signal));
    return this.pid;
  }

  start() {
    return this.state.start();
  }
  kill(signal: number, all: boolean) {
    return this.state.kill(signal, all);
  }

  /** Deletes the runtime's container; resolves with the exit, which a delete of a created task causes. */
  async delete(): Promise<ExitInfo> {
    await this.state.delete();
    this.io?.closeAll();
    for (const e of this.execs.values()) e.closeAllIO();
    // Never created (runc create failed): there is no process to wait for.
    if (this.pid === 0) return { pid: 0, status: 0, signal: null, exitedAt: new Date().toISOString(), oomKilled: false };
    return this.wait();
  }

  wait(): Promise<ExitInfo> {
    if (this.exit) return Promise.resolve(this.exit);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  snapshot(): StateResult {
    return {
      id: this.id,
      pid: this.pid,
      status: this.state.status,
      bundle: this.bundle,
      ...(this.exit ? { exit: this.exit } : {}),
      ...this.stdio,
    };
  }

  async runtimeStart() {
    const stateDir = this.runc.stateDir(this.id);
    if (stateDir && (await startThroughExecFifo(stateDir, this.wait()))) return;
    await this.runc.start(this.id, this.bundle);
  }
  runtimeKill(signal: number, all: boolean) {
    return this.runc.kill(this.id, this.bundle, signal, all);
  }
  runtimeDelete() {
    return this.runc.delete(this.id, this.bundle, true);
  }
  async runtimeDeleteStopped() {
    await this.cgroupsRemoved;
    const stateDir = this.runc.stateDir(this.id);
    if (stateDir && (await deleteStoppedDirectly(stateDir, this.bundle, this.runc.systemdDriver))) return;
    await this.runc.delete(this.id, this.bundle, true);
    // runc without its state (removed by hand, say) left the cgroups it made itself.
    if (this.cgroupPaths) {
      await removeCgroups(this.cgroupPaths).catch((err: Error) => process.stderr.write(`${new Date().toISOString()} ${err.message}\n`));
    }
  }
  runtimePause() {
    return this.runc.pause(this.id, this.bundle);
  }
  runtimeResume() {
    return this.runc.resume(this.id, this.bundle);
  }

  /** ResizePty on the init's terminal. */
  resize(width: number, height: number): void {
    if (!this.io) throw failedPrecondition(`task ${this.id} has not been created`);
    this.io.resize(width, height, `task ${this.id}`);
  }

  /** CloseIO: the init's stdin ends. */
  closeIO(): void {
    if (!this.io) throw failedPrecondition(`task ${this.id} has not been created`);
    this.io.closeStdin();
  }

  pause() {
    return this.state.pause();
  }
  resume() {
    return this.state.resume();
  }
  /** Registers an exec process; only a running container takes one. */
  addExec(execId: string, spec: unknown, stdio: StdioPaths, onExit: (execId: string, exit: ExitInfo) => void): void {
    validateExecId(execId);
    if (this.state.status !== 'running') throw failedPrecondition(`task ${this.id} is ${this.state.status}: exec needs a running task`);
    if (this.execs.has(execId)) throw new RuntimeError('AlreadyExists', `exec ${execId} already exists in task ${this.id}`);
    this.execs.set(execId, new ExecProcess(execId, this.id, this.bundle, this.runc, spec, stdio, onExit));
  }

  exec(execId: string): ExecProcess {
    const e = this.execs.get(execId);
    if (!e) throw notFound(`exec ${execId} not found in task ${this.id}`);
    return e;
  }

  /** Deletes an exec process record once it has stopped. */
  deleteExec(execId: string): ExitInfo {
    const exit = this.exec(execId).delete();
    this.execs.delete(execId);
    return exit;
  }

  /** Every process of the container; empty once it has stopped. */
  async pids(): Promise<number[]> {
    if (this.state.status === 'stopped' || this.state.status === 'deleted') return [];
    return this.runc.pids(this.id, this.bundle);
  }
  transition(next: InitState) {
    this.state = next;
  }
  current(): InitState {
    return this.state;
  }

  /** Follows the cgroup's OOM-kill counter until the cgroup goes; resolves true once any OOM kill was seen. */
  private async watchOom(dir: string, baseline: number): Promise<boolean> {
    let count = baseline;
    try {
      for (;;) {
        const next = await waitForOomKill(dir, count);
        if (next < 0) return count > baseline;
        count = next;
        this.oomKilled = true;
        process.stderr.write(`${new Date().toISOString()} OOM kill in ${dir} (count ${count})\n`);
      }
    } catch {
      return count > baseline;
    }
  }

  private async reaped(status: number, signal: number | null): Promise<void> {
    // An OOM kill is a SIGKILL; the memory cgroup's counter tells it apart from
    // `kill -9`. The watcher may report a moment after the exit (its thread can be
    // slow to run on a loaded machine): wait for it to see the OOM or the cgroup
    // go, which follows the exit closely, with a bound in case neither comes.
    if (signal === 9 && !this.oomKilled && this.oomWatch) {
      await waitWithin(this.oomWatch, OOM_VERDICT_LIMIT_MS);
    }
    const oomKilled = signal === 9 && this.oomKilled;
    // Clients stop reading at the exit: let the last output reach them first (containerd does the same).
    await this.io?.drained(OUTPUT_DRAIN_LIMIT_MS);
    this.io?.closeAll();
    const exit: ExitInfo = { pid: this.pid, status, signal, exitedAt: new Date().toISOString(), oomKilled };
    this.exit = exit;
    this.state.exited(exit);
    // Persisted so a daemon that was down when the container exited still learns the real status.
    // Synchronous (tmpfs, a few bytes): the exit is not held back by a pool round trip.
    try {
      writeFileSync(path.join(this.bundle, 'exit.json'), JSON.stringify(exit));
    } catch {
      // the bundle is gone (deleted under us): nobody is left to read it
    }
    for (const w of this.exitWaiters.splice(0)) w(exit);
    this.onExit(exit);
    // The container is gone: its (empty) cgroups can go now, off the path of the delete
    // that follows, which waits for this and removes whatever is left.
    if (this.cgroupPaths) this.cgroupsRemoved = removeCgroups(this.cgroupPaths).catch(() => undefined);
  }
}
