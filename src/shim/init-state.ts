import { failedPrecondition, notFound } from '../errors.js';
import type { ExitInfo, TaskStatus } from './protocol.js';

/**
 * The container init's lifecycle as explicit state objects, after
 * containerd's init_state.go: each state accepts only what is valid in it,
 * so "start a stopped task" or "delete a running one" fail the same way
 * from every caller.
 */
export interface InitState {
  readonly status: TaskStatus;
  start(): Promise<void>;
  kill(signal: number, all: boolean): Promise<void>;
  delete(): Promise<void>;
  pause(): Promise<void>;
  resume(): Promise<void>;
  exited(exit: ExitInfo): void;
}

/** What a state may do to the process it belongs to. */
export interface InitActions {
  readonly id: string;
  runtimeStart(): Promise<void>;
  runtimeKill(signal: number, all: boolean): Promise<void>;
  /** Deletes a created (or running) container: its init may still be alive. */
  runtimeDelete(): Promise<void>;
  /** Deletes a container whose init has been reaped. */
  runtimeDeleteStopped(): Promise<void>;
  runtimePause(): Promise<void>;
  runtimeResume(): Promise<void>;
  transition(next: InitState): void;
  current(): InitState;
}

export class CreatedState implements InitState {
  readonly status = 'created' as const;
  constructor(private readonly p: InitActions) {}
  async start() {
    await this.p.runtimeStart();
    // A fast process may already have exited (and moved us to stopped) before runc start returned.
    if (this.p.current() === this) this.p.transition(new RunningState(this.p));
  }
  kill(signal: number, all: boolean) {
    return this.p.runtimeKill(signal, all);
  }
  async delete() {
    await this.p.runtimeDelete();
    this.p.transition(new DeletedState(this.p.id));
  }
  async pause() {
    throw failedPrecondition(`task ${this.p.id} has not started: nothing to pause`);
  }
  async resume() {
    throw failedPrecondition(`task ${this.p.id} is not paused`);
  }
  exited() {
    this.p.transition(new StoppedState(this.p));
  }
}

export class RunningState implements InitState {
  readonly status = 'running' as const;
  constructor(private readonly p: InitActions) {}
  async start() {
    throw failedPrecondition(`task ${this.p.id} is already running`);
  }
  kill(signal: number, all: boolean) {
    return this.p.runtimeKill(signal, all);
  }
  async delete() {
    throw failedPrecondition(`task ${this.p.id} is running: kill it before deleting it`);
  }
  async pause() {
    await this.p.runtimePause();
    if (this.p.current() === this) this.p.transition(new PausedState(this.p));
  }
  async resume() {
    throw failedPrecondition(`task ${this.p.id} is not paused`);
  }
  exited() {
    this.p.transition(new StoppedState(this.p));
  }
}

/** Frozen by the cgroup freezer; only resume, kill (and an exit) move it on. */
export class PausedState implements InitState {
  readonly status = 'paused' as const;
  constructor(private readonly p: InitActions) {}
  async start() {
    throw failedPrecondition(`task ${this.p.id} is paused: resume it instead`);
  }
  kill(signal: number, all: boolean) {
    return this.p.runtimeKill(signal, all);
  }
  async delete() {
    throw failedPrecondition(`task ${this.p.id} is paused: kill it before deleting it`);
  }
  async pause() {
    throw failedPrecondition(`task ${this.p.id} is already paused`);
  }
  async resume() {
    await this.p.runtimeResume();
    if (this.p.current() === this) this.p.transition(new RunningState(this.p));
  }
  exited() {
    this.p.transition(new StoppedState(this.p));
  }
}

export class StoppedState implements InitState {
  readonly status = 'stopped' as const;
  constructor(private readonly p: InitActions) {}
  async start() {
    throw failedPrecondition(`task ${this.p.id} has stopped and cannot be started again`);
  }
  async kill() {
    throw notFound(`task ${this.p.id}: process already finished`);
  }
  async delete() {
    await this.p.runtimeDeleteStopped();
    this.p.transition(new DeletedState(this.p.id));
  }
  async pause() {
    throw failedPrecondition(`task ${this.p.id} has stopped: nothing to pause`);
  }
  async resume() {
    throw failedPrecondition(`task ${this.p.id} has stopped: nothing to resume`);
  }
  exited() {}
}

export class DeletedState implements InitState {
  readonly status = 'deleted' as const;
  constructor(private readonly id: string) {}
  async start() {
    throw notFound(`task ${this.id} has been deleted`);
  }
  async kill() {
    throw notFound(`task ${this.id} has been deleted`);
  }
  async delete() {
    throw notFound(`task ${this.id} has been deleted`);
  }
  async pause() {
    throw notFound(`task ${this.id} has been deleted`);
  }
  async resume() {
    throw notFound(`task ${this.id} has been deleted`);
  }
  exited() {}
}
