import { EventEmitter } from 'node:events';
import path from 'node:path';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, toRuntimeError } from '../../errors.js';
import { limitsFromSpec } from '../../oci/spec.js';
import { validateLimits, type ResourceLimits } from '../../oci/limits.js';
import { ShimClient } from '../../shim/client.js';
import { ShimLauncher } from '../../shim/launcher.js';
import type { ExitInfo, StdioPaths } from '../../shim/protocol.js';
import type { Machined } from '../../systemd/machined.js';
import type { Systemd } from '../../systemd/systemd.js';
import { scopeUnitName } from '../../systemd/units.js';
import { toTimestamp } from '../../proto.js';
import type { DaemonConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ContainerStore } from '../metadata/containers.js';
import type { ContainerRecord } from '../metadata/db.js';
import type { EventExchange } from '../events/exchange.js';
import { allOrFirstFailure, CleanupStack } from './cleanup.js';
import { followKill, killScopeAsLastResort, SIGKILL } from './kill-scope.js';
import { LostShim } from './lost-shim.js';
import { recoverTasks } from './recovery.js';
import { scopeProperties, scopeUsage, updateScopeLimits, type TaskUsage } from './resources.js';
import type { MountSpec } from './rootfs.js';
import { placeShim } from './shim-placement.js';
import { groupDir, legacyShimScopeName, shimGroupOf, shimGroupScopeName, ShimsScope, SHIMS_SCOPE } from './shim-scope.js';
import { StepTimer } from './step-timer.js';
import type { Task } from './task.js';
import { TaskHost, type RootfsSource } from './task-host.js';
import { readExitRecord, writeTaskRecord } from './task-record.js';
import { parseSpec, runtimeBinary, writeBundleSpec } from './task-spec.js';
import { verifyScope } from './verify-scope.js';
import { waitWithin } from '../../wait-within.js';
import { ExitWaiters } from './exit-waiters.js';

export { logPath, type RootfsSource } from './task-host.js';

export interface TaskManagerDeps {
  config: DaemonConfig;
  containers: ContainerStore;
  rootfs: RootfsSource;
  systemd: Systemd;
  machined: Machined;
  events: EventExchange;
  log: Logger;
}

export interface CreateTaskOptions extends StdioPaths {
  rootfs?: MountSpec[];
}


/**
 * Tasks: the running side of containers. Each create is a sequence of
 * named steps, each registering its undo, so a failure anywhere leaves no
 * scope, machine, mount, state dir or shim behind.
 */
export class TaskManager extends EventEmitter<{ exit: [Task, ExitInfo] }> {
  private readonly tasks = new Map<string, Task>();
  private readonly creating = new Set<string>();
  private readonly shims: ShimLauncher;
  /** Scope and machine releases of deleted tasks still under way, by `<namespace>/<id>` (see delete). */
  private readonly releasing = new Map<string, Promise<void>>();
  private readonly host: TaskHost;
  /** The last create queued per shim group (`<namespace>/<group>`). */
  private readonly groupLocks = new Map<string, Promise<void>>();
  private readonly exitWaiters = new ExitWaiters();

  constructor(private readonly d: TaskManagerDeps) {
    super();
    const shimsScope = new ShimsScope(d.systemd, d.config.slice);
    this.shims = new ShimLauncher(path.join(d.config.state, 'shims'), { place: (pid) => shimsScope.place(pid) });
    this.host = new TaskHost(d);
  }

  get(namespace: string, id: string): Task {
    const t = this.tasks.get(`${namespace}/${id}`);
    if (!t) throw notFound(`no task for container "${id}"`);
    return t;
  }

  list(namespace: string): Task[] {
    return [...this.tasks.values()].filter((t) => t.namespace === namespace);
  }

  has(namespace: string, id: string): boolean {
    return this.tasks.has(`${namespace}/${id}`) || this.creating.has(`${namespace}/${id}`);
  }

  async create(namespace: string, id: string, opts: CreateTaskOptions): Promise<Task> {
    const container = this.d.containers.get(namespace, id);
    const group = shimGroupOf(container.labels);
    if (!group) return this.createTask(namespace, id, container, group, opts);
    // Creates in one group take turns: the first starts the group's shim, the next ones join it.
    const lock = `${namespace}/${group}`;
    const before = this.groupLocks.get(lock) ?? Promise.resolve();
    const mine = before.then(() => this.createTask(namespace, id, container, group, opts));
    const settled = mine.then(() => {}, () => {});
    this.groupLocks.set(lock, settled);
    void settled.then(() => {
      if (this.groupLocks.get(lock) === settled) this.groupLocks.delete(lock);
    });
    return mine;
  }

  private async createTask(namespace: string, id: string, container: ContainerRecord, group: string | undefined, opts: CreateTaskOptions): Promise<Task> {
    const key = `${namespace}/${id}`;
    if (this.has(namespace, id)) throw alreadyExists(`task for container "${id}" already exists`);
    this.creating.add(key);
    const cleanup = new CleanupStack();
    const timer = new StepTimer();
    try {
      const spec = parseSpec(container.spec?.value, id);
      const limits = validateLimits(limitsFromSpec(spec));
      const scope = scopeUnitName(id);
      const bundle = await this.host.makeBundle(namespace, id, cleanup);
      timer.mark('bundle');
      // The mount, two D-Bus calls about a leftover scope and the shim's hand-over need nothing of each other.
      const runtime = runtimeBinary(container.runtime.options, this.d.config.runtime.binary);
      const groupShim = group ? this.liveGroupMember(namespace, group)?.shim : undefined;
      const [rootfs, , { shim, placed }] = await allOrFirstFailure([
        this.host.mountRootfs(namespace, container.snapshotKey, opts.rootfs, spec, bundle, cleanup),
        // A deleted task of the same id may still be releasing this scope and machine name.
        (this.releasing.get(key) ?? Promise.resolve()).then(() => this.host.clearStaleScope(scope)),
        placeShim({ launcher: this.shims, systemd: this.d.systemd, config: this.d.config }, { namespace, id, bundle, runtime, group }, groupShim, cleanup),
      ] as const);
      timer.mark('rootfs+stale-scope+shim');
      await writeBundleSpec(spec, bundle, rootfs, id, this.d.config.slice);
      const stdio = await this.host.stdioFor(namespace, id, opts);
      timer.mark('spec+stdio');
      cleanup.push('stop scope', () => this.host.stopScope(scope));
      // A new shim moves to its own scope while runc creates the container.
      const [{ pid }] = await Promise.all([shim.call('create', { ...stdio, logRotation: this.d.config.logs }), placed]);
      timer.mark('runtime-create');
      // crun puts its limits on a "container" cgroup below the scope; give the scope itself the same
      // limits over D-Bus so systemd tells the truth about it. (runc sets them on the scope.)
      if (path.basename(runtime) !== 'runc' && Object.keys(limits).length > 0) {
        await this.d.systemd.setUnitProperties(scope, true, scopeProperties(limits));
      }
      const [, machine] = await allOrFirstFailure([
        verifyScope(this.d.systemd, pid, scope, limits),
        this.host.registerMachine(id, pid, rootfs, cleanup),
      ] as const);
      timer.mark('verify-scope+machine');
      await writeTaskRecord(bundle, { namespace, id, pid, scope, machine, stdio, runtime, group });
      const task: Task = { namespace, id, pid, bundle, scope, machine, shim, stdio, runtime, group };
      this.track(task);
      this.d.events.publish(namespace, 'taskCreate', {
        container_id: id, bundle, rootfs: opts.rootfs ?? [], pid, checkpoint: '',
        io: { stdin: stdio.stdin ?? '', stdout: stdio.stdout ?? '', stderr: stdio.stderr ?? '', terminal: stdio.terminal ?? false },
      });
      this.d.log.info('task created', { namespace, id, pid, scope, ...timer.summary() });
      return task;
    } catch (err) {
      await cleanup.run((what, e) => this.d.log.warn(`cleanup after failed create: ${what} failed`, { id, error: String(e) }));
      throw toRuntimeError(err);
    } finally {
      this.creating.delete(key);
      // After the answer has gone out (spawning a process blocks the event loop for a few ms),
      // and only if no deleted container's shim comes back for the next create meanwhile.
      this.shims.prepareAfterCreate();
    }
  }

  async start(namespace: string, id: string): Promise<Task> {
    const task = this.get(namespace, id);
    const timer = new StepTimer();
    const starting = task.shim.call('start', {});
    task.starting = starting;
    try {
      await starting;
    } finally {
      task.starting = undefined;
    }
    this.d.events.publish(namespace, 'taskStart', { container_id: id, pid: task.pid });
    this.d.log.info('task started', { namespace, id, pid: task.pid, ms: timer.summary().ms });
    return task;
  }

  async kill(namespace: string, id: string, signal: number, all: boolean): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > 64) throw invalidArgument(`invalid signal ${signal}`);
    const task = this.get(namespace, id);
    try {
      await task.shim.call('kill', { signal, all });
    } catch (err) {
      if (signal !== SIGKILL || !(await killScopeAsLastResort(this.scopeKillDeps(), task, (err as Error).message))) throw err;
      return;
    }
    if (signal === SIGKILL) followKill(this.scopeKillDeps(), task);
  }

  private scopeKillDeps() {
    return { systemd: this.d.systemd, log: this.d.log, isLive: (t: Task) => this.tasks.get(`${t.namespace}/${t.id}`) === t && !t.exit };
  }

  /** Adds an exec process (a spec) to a running task; `start` with the exec id runs it. */
  async exec(namespace: string, id: string, execId: string, spec: unknown, stdio: StdioPaths): Promise<void> {
    const task = this.get(namespace, id);
    await task.shim.call('exec', { execId, spec, ...stdio });
    this.d.events.publish(namespace, 'taskExecAdded', { container_id: id, exec_id: execId });
  }

  async startExec(namespace: string, id: string, execId: string): Promise<number> {
    const { pid } = await this.get(namespace, id).shim.call('start', { execId });
    this.d.events.publish(namespace, 'taskExecStarted', { container_id: id, exec_id: execId, pid });
    return pid;
  }

  async killExec(namespace: string, id: string, execId: string, signal: number): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > 64) throw invalidArgument(`invalid signal ${signal}`);
    await this.get(namespace, id).shim.call('kill', { execId, signal });
  }

  waitExec(namespace: string, id: string, execId: string): Promise<ExitInfo> {
    return this.get(namespace, id).shim.call('wait', { execId });
  }

  stateExec(namespace: string, id: string, execId: string) {
    return this.get(namespace, id).shim.call('state', { execId });
  }

  async deleteExec(namespace: string, id: string, execId: string): Promise<ExitInfo> {
    const exit = await this.get(namespace, id).shim.call('delete', { execId });
    this.d.events.publish(namespace, 'taskDelete', { container_id: id, id: execId, pid: exit.pid, exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) });
    return exit;
  }

  async pause(namespace: string, id: string): Promise<void> {
    const task = this.get(namespace, id);
    await task.shim.call('pause', {});
    this.d.events.publish(namespace, 'taskPaused', { container_id: id });
  }

  async resume(namespace: string, id: string): Promise<void> {
    const task = this.get(namespace, id);
    await task.shim.call('resume', {});
    this.d.events.publish(namespace, 'taskResumed', { container_id: id });
  }

  /** ResizePty: the shim refuses (FailedPrecondition) a process without a terminal. */
  async resizePty(namespace: string, id: string, execId: string | undefined, width: number, height: number): Promise<void> {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0xffff || height > 0xffff) {
      throw invalidArgument(`invalid terminal size ${width}x${height}: width and height must be 1..65535`);
    }
    await this.get(namespace, id).shim.call('resize', { ...(execId ? { execId } : {}), width, height });
  }

  /** CloseIO: the process's stdin ends, so a program reading it sees EOF. */
  async closeIO(namespace: string, id: string, execId: string | undefined): Promise<void> {
    await this.get(namespace, id).shim.call('closeIO', execId ? { execId } : {});
  }

  async pids(namespace: string, id: string): Promise<number[]> {
    return (await this.get(namespace, id).shim.call('pids', {})).pids;
  }

  /** New limits for a running task, applied by systemd to its scope (see resources.ts). */
  async update(namespace: string, id: string, limits: ResourceLimits): Promise<void> {
    const task = this.get(namespace, id);
    const state = await task.shim.call('state', {});
    if (state.status !== 'running' && state.status !== 'paused' && state.status !== 'created') {
      throw failedPrecondition(`task "${id}" is ${state.status}: only a live task can be updated`);
    }
    await updateScopeLimits(this.d.systemd, task.scope, limits);
    this.d.log.info('task updated', { namespace, id, ...limits });
  }

  /** Usage of a live task's scope: its cgroup's statistics and systemd's counters. */
  async metrics(namespace: string, id: string): Promise<TaskUsage> {
    const task = this.get(namespace, id);
    return scopeUsage(this.d.systemd, task.scope);
  }

  /** The task's exit: at once when known, else the shim's exit event or its answer to wait (see ExitWaiters). */
  async wait(namespace: string, id: string): Promise<ExitInfo> {
    return this.exitWaiters.wait(this.get(namespace, id));
  }

  async state(namespace: string, id: string) {
    return this.get(namespace, id).shim.call('state', {});
  }

  /**
   * Deletes a stopped (or never started) task and everything it held. The
   * answer waits for what the container record and a next task need gone:
   * runc's state, the shim, the rootfs mount and the bundle. The scope and
   * the machine are systemd's and machined's to wind down, and they are
   * already going (machined's release began at the exit; systemd stops an
   * emptied scope by itself): waiting for them cost 2-20 ms of every
   * `run --rm`, spent queued behind systemd's own clean-up of the
   * container's cgroups. They finish in the background, a new task with
   * the same id waits for them (same unit and machine names), and the
   * daemon's stop waits for them too.
   */
  async delete(namespace: string, id: string): Promise<ExitInfo> {
    const task = this.get(namespace, id);
    // The release below must not start on a live task. An exit the shim reported is final;
    // otherwise ask it (a created task, never started, may be deleted too).
    if (!task.exit) {
      const state = await task.shim.call('state', {});
      if (state.status === 'running' || state.status === 'paused') {
        throw failedPrecondition(`task "${id}" is ${state.status}: kill it first`);
      }
    }
    const timer = new StepTimer();
    // runc's delete and the unmount touch different things (runc's state and cgroup; the
    // rootfs mount): side by side. A failed runtime delete keeps the task (a retry finishes
    // the job); nothing is left half-awaited.
    const [runtime, unmounted] = await Promise.allSettled([
      task.shim.call('delete', {}).then(async (e) => {
        timer.mark('runtime-delete');
        this.tasks.delete(`${task.namespace}/${task.id}`); // before the shim goes: not a lost shim
        await this.stopShim(task);
        return e;
      }),
      this.host.unmountRootfs(task),
    ]);
    if (runtime.status === 'rejected') throw runtime.reason;
    // The scope goes after runc's delete (which removed the container's cgroups).
    this.releaseUnits(task);
    if (unmounted.status === 'rejected') throw unmounted.reason;
    const exit = runtime.value;
    timer.mark('shim+unmount');
    const lastOfGroup = ![...this.tasks.values()].some((t) => t.namespace === task.namespace && t.group !== undefined && t.group === task.group);
    await this.host.removeBundle(task, lastOfGroup);
    timer.mark('bundle');
    this.d.events.publish(namespace, 'taskDelete', { container_id: id, id, pid: exit.pid, exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) });
    this.d.log.info('task deleted', { namespace, id, status: exit.status, ...timer.summary() });
    return exit;
  }

  /** Stops a deleted task's scope and ends its machine, in the background (see delete). Never fails. */
  private releaseUnits(task: Task): void {
    const key = `${task.namespace}/${task.id}`;
    const releasing: Promise<void> = Promise.all([this.host.releaseMachine(task), this.host.stopScope(task.scope)])
      .then(
        () => {},
        (err) => this.d.log.warn('stopping a deleted task\'s scope failed', { namespace: task.namespace, id: task.id, scope: task.scope, error: String(err) }),
      )
      .finally(() => {
        if (this.releasing.get(key) === releasing) this.releasing.delete(key);
      });
    this.releasing.set(key, releasing);
  }

  /**
   * Resolves once every deleted task's scope and machine are released, or
   * after `withinMs`: the daemon's stop waits for this, but not for a
   * systemd that does not answer (the next start's stray-unit check finds
   * what is left).
   */
  async settled(withinMs = 5000): Promise<void> {
    await waitWithin(Promise.all(this.releasing.values()), withinMs);
  }

  /** Lets the deleted task's shim go: back to the launcher as the next standby if it serves no one else, else shut down. */
  private async stopShim(task: Task): Promise<void> {
    if (this.d.config.recycleShims && !task.group && task.shim instanceof ShimClient && (await this.shims.recycle(task.shim))) return;
    await task.shim.call('shutdown', {}).catch(() => {});
    task.shim.close();
  }

  /** Lets go of every shim connection without treating it as lost (daemon stop: shims and containers live on). */
  detach(): void {
    this.shims.close();
    for (const t of this.tasks.values()) t.shim.close();
  }

  /** Starts following a task's shim: its exit, and its death. */
  private track(task: Task): void {
    this.tasks.set(`${task.namespace}/${task.id}`, task);
    task.shim.onExit((exit) => this.exited(task, exit));
    task.shim.onExecExit((execId, exit) =>
      this.d.events.publish(task.namespace, 'taskExit', { container_id: task.id, id: execId, pid: exit.pid, exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) }),
    );
    task.shim.onLost(() => void this.shimLost(task));
  }

  /**
   * A shim that dies takes the container's supervision with it: record the
   * exit (the shim's own record if it wrote one), kill and remove what runc
   * still runs, and free the scope, machine and mount. The task stays,
   * stopped with the reason, until it is deleted.
   */
  private async shimLost(task: Task): Promise<void> {
    if (this.tasks.get(`${task.namespace}/${task.id}`) !== task) return; // deleted on purpose
    const recorded = task.exit ?? (await readExitRecord(task.bundle));
    const exit: ExitInfo = recorded ?? {
      pid: task.pid, status: 137, signal: 9, exitedAt: new Date().toISOString(), oomKilled: false,
      reason: 'the shim died; the container was killed',
    };
    if (!recorded) this.d.log.warn('shim died; killing its container', { namespace: task.namespace, id: task.id });
    task.shim = new LostShim(task.id, task.bundle, exit, this.host.runcFor(task.namespace, task.runtime));
    await this.host.release(task, true);
    if (!task.exit) this.exited(task, exit);
  }

  /** Takes over the tasks a previous daemon left (see recovery.ts), then readies the standby shim. */
  async recover(): Promise<void> {
    await recoverTasks({
      stateDir: this.d.config.state,
      host: this.host,
      systemd: this.d.systemd,
      machined: this.d.machined,
      log: this.d.log,
      adopt: (task, connected) => (connected ? this.track(task) : this.tasks.set(`${task.namespace}/${task.id}`, task)),
      // The shared shims' scope is never a stray; a task's own shim scope is what an older containerd-ts gave its shim.
      ownedUnits: () => new Set([SHIMS_SCOPE, ...[...this.tasks.values()].flatMap((t) => [t.scope, t.group ? shimGroupScopeName(t.namespace, t.group) : legacyShimScopeName(t.namespace, t.id)])]),
      ownedShimHomes: () => new Set([...this.tasks.values()].map((t) => (t.group ? groupDir(this.d.config.state, t.namespace, t.group) : t.bundle))),
    });
    // The standby shim can wait until the daemon serves: starting it now would compete for the CPU with start-up.
    setTimeout(() => this.shims.prepare(), 1000).unref();
  }

  private exited(task: Task, exit: ExitInfo): void {
    task.exit = exit;
    this.exitWaiters.exited(task, exit);
    // A dead container's machine means nothing, and machined drops it once the scope goes anyway:
    // release it now rather than on delete's path.
    this.host.releaseMachine(task);
    this.d.log.info('task exited', { namespace: task.namespace, id: task.id, status: exit.status, oom: exit.oomKilled, ...(exit.reason ? { reason: exit.reason } : {}) });
    const publish = () => {
      if (exit.oomKilled) this.d.events.publish(task.namespace, 'taskOOM', { container_id: task.id });
      this.d.events.publish(task.namespace, 'taskExit', { container_id: task.id, id: task.id, pid: exit.pid, exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) });
      this.emit('exit', task, exit);
    };
    // A container that ends at once can exit before Start has answered: /tasks/start comes first all the same.
    // (setImmediate: start() publishes right after its await settles.)
    if (task.starting) void task.starting.then(() => {}, () => {}).then(() => setImmediate(publish));
    else publish();
  }

  /** A task of `group` whose shim still serves (its process is the group's shim). */
  private liveGroupMember(namespace: string, group: string): Task | undefined {
    return [...this.tasks.values()].find((t) => t.namespace === namespace && t.group === group && !(t.shim instanceof LostShim));
  }

}
