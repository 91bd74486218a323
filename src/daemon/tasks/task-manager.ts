import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { alreadyExists, failedPrecondition, invalidArgument, isRuntimeError, notFound, toRuntimeError } from '../../errors.js';
import { limitsFromSpec, withSystemdScope, withUser } from '../../oci/spec.js';
import { validateLimits } from '../../oci/limits.js';
import type { RuntimeSpec } from '../../oci/spec-types.js';
import { resolveUser, USER_ANNOTATION } from '../../oci/user.js';
import { ShimClient, type ShimConnection } from '../../shim/client.js';
import { ShimLauncher } from '../../shim/launcher.js';
import { Runc } from '../../shim/runc.js';
import { rotatedLogs } from '../../shim/rotating-log.js';
import type { ExitInfo, StdioPaths } from '../../shim/protocol.js';
import type { Machined } from '../../systemd/machined.js';
import { isValidMachineName } from '../../systemd/machined.js';
import type { Systemd } from '../../systemd/systemd.js';
import { scopeUnitName } from '../../systemd/units.js';
import type { DaemonConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { ContainerStore } from '../metadata/containers.js';
import { CleanupStack } from './cleanup.js';
import { scopeProperties, scopeUsage, updateScopeLimits, type TaskUsage } from './resources.js';
import type { ResourceLimits } from '../../oci/limits.js';
import type { EventExchange } from '../events/exchange.js';
import { decodeMessage, toTimestamp, TYPE_URLS } from '../../proto.js';
import type { AnyRecord, ContainerRecord } from '../metadata/db.js';
import { mountAll, unmountAll, type MountSpec } from './rootfs.js';
import type { Task } from './task.js';
import { verifyScope } from './verify-scope.js';
import { LostShim } from './lost-shim.js';
import { findTasks } from './recovery.js';
import { groupDir, moveShimToScope, shimGroupOf, shimGroupScopeName, shimScopeName } from './shim-scope.js';
import { cleanStrayUnits } from './stray-units.js';
import { followKill, killScopeAsLastResort, SIGKILL } from './kill-scope.js';
import { readExitRecord, writeTaskRecord } from './task-record.js';
import { StepTimer } from './step-timer.js';

/** Where a task's rootfs comes from when the client sends no mounts. */
export interface RootfsSource {
  mounts(namespace: string, snapshotKey: string): Promise<MountSpec[]>;
}

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
  /** The last create queued per shim group (`<namespace>/<group>`). */
  private readonly groupLocks = new Map<string, Promise<void>>();

  constructor(private readonly d: TaskManagerDeps) {
    super();
    this.shims = new ShimLauncher(path.join(d.config.state, 'shims'));
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
      const bundle = await this.makeBundle(namespace, id, cleanup);
      timer.mark('bundle');
      const rootfs = await this.mountRootfs(namespace, container.snapshotKey, opts.rootfs, spec, bundle, cleanup);
      timer.mark('rootfs');
      await this.writeSpec(spec, bundle, rootfs, id);
      timer.mark('spec');
      await this.clearStaleScope(scope);
      timer.mark('stale-scope');
      const runtime = runtimeBinary(container.runtime.options, this.d.config.runtime.binary);
      const stdio = await this.stdioFor(namespace, id, opts);
      const { shim, placed } = await this.startShim(namespace, id, bundle, runtime, group, cleanup);
      timer.mark('shim');
      cleanup.push('stop scope', () => this.stopScope(scope));
      // A new shim moves to its own scope while runc creates the container.
      const [{ pid }] = await Promise.all([shim.call('create', { ...stdio, logRotation: this.d.config.logs }), placed]);
      timer.mark('runtime-create');
      // crun puts its limits on a "container" cgroup below the scope; give the scope itself the same
      // limits over D-Bus so systemd tells the truth about it. (runc sets them on the scope.)
      if (path.basename(runtime) !== 'runc' && Object.keys(limits).length > 0) {
        await this.d.systemd.setUnitProperties(scope, true, scopeProperties(limits));
      }
      await verifyScope(this.d.systemd, pid, scope, limits);
      timer.mark('verify-scope');
      const machine = await this.registerMachine(id, pid, rootfs, cleanup);
      timer.mark('machine');
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
      // After the answer has gone out: spawning a process blocks the event loop for a few ms.
      setImmediate(() => this.shims.prepare());
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

  async wait(namespace: string, id: string): Promise<ExitInfo> {
    const task = this.get(namespace, id);
    return task.exit ?? task.shim.call('wait', {});
  }

  async state(namespace: string, id: string) {
    return this.get(namespace, id).shim.call('state', {});
  }

  /** Deletes a stopped (or never started) task and everything it held. */
  async delete(namespace: string, id: string): Promise<ExitInfo> {
    const task = this.get(namespace, id);
    const state = await task.shim.call('state', {});
    if (state.status === 'running' || state.status === 'paused') {
      throw failedPrecondition(`task "${id}" is ${state.status}: kill it first`);
    }
    const timer = new StepTimer();
    // runc's delete and the host-side release touch different things (runc's state and
    // cgroup; machined, the rootfs mount): side by side. The scope goes after runc's delete.
    // A failed runtime delete keeps the task (a retry finishes the job); nothing is left half-awaited.
    const [runtime, host] = await Promise.allSettled([
      task.shim.call('delete', {}).then(async (e) => {
        timer.mark('runtime-delete');
        this.tasks.delete(`${task.namespace}/${task.id}`); // before the shim goes: not a lost shim
        await Promise.all([this.stopShim(task), this.stopScope(task.scope).catch(() => {})]);
        return e;
      }),
      this.releaseHostSide(task),
    ]);
    if (runtime.status === 'rejected') throw runtime.reason;
    if (host.status === 'rejected') throw host.reason;
    const exit = runtime.value;
    timer.mark('release');
    await this.removeBundle(task);
    timer.mark('bundle');
    this.d.events.publish(namespace, 'taskDelete', { container_id: id, id, pid: exit.pid, exit_status: exit.status, exited_at: toTimestamp(new Date(exit.exitedAt)) });
    this.d.log.info('task deleted', { namespace, id, status: exit.status, ...timer.summary() });
    return exit;
  }

  private async stopShim(task: Task): Promise<void> {
    await task.shim.call('shutdown', {}).catch(() => {});
    task.shim.close();
  }

  /** The task's bundle, and what only it used: its group's directory when it was the last member, its detached stdin. */
  private async removeBundle(task: Task): Promise<void> {
    await rm(task.bundle, { recursive: true, force: true });
    // The last member of a shim group takes the group's directory (its shim's log) with it.
    if (task.group && ![...this.tasks.values()].some((t) => t.namespace === task.namespace && t.group === task.group)) {
      await rm(groupDir(this.d.config.state, task.namespace, task.group), { recursive: true, force: true });
    }
    await this.removeDetachedStdin(task);
  }

  /**
   * `ctr-ts run -d -i` leaves its stdin FIFO in `<state>/fifo/<id>-*` for
   * `tasks attach`; nobody else holds it once the task is gone.
   */
  private async removeDetachedStdin(task: Task): Promise<void> {
    const stdin = task.stdio.stdin;
    if (!stdin || task.stdio.stdout !== logPath(this.d.config.root, task.namespace, task.id)) return;
    const dir = path.dirname(stdin);
    if (path.dirname(dir) === path.join(this.d.config.state, 'fifo') && path.basename(dir).startsWith(`${task.id}-`)) {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Frees machine, scope and rootfs mount; with `killFirst`, also whatever runc still runs. */
  private async releaseResources(task: Task, killFirst: boolean): Promise<void> {
    if (killFirst) await this.runcFor(task.namespace, task.runtime).delete(task.id, task.bundle, true).catch(() => {});
    await this.stopScope(task.scope).catch(() => {});
    await this.releaseHostSide(task);
  }

  /** The machine registration and the rootfs mount: neither needs runc's delete to have finished. */
  private async releaseHostSide(task: Task): Promise<void> {
    if (task.machine) await this.d.machined.terminateMachine(task.machine).catch(() => false);
    await unmountAll(path.join(task.bundle, 'rootfs'));
  }

  /**
   * A task created without any output (`run -d`, `ctr run -d`, also with a
   * terminal) writes it to a log file that outlives the task and that the
   * shim rotates by size: `ctr-ts logs` and `tasks attach` read it, and it
   * goes when the container is deleted.
   */
  private async stdioFor(namespace: string, id: string, opts: CreateTaskOptions): Promise<StdioPaths> {
    const stdio = { stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr, terminal: opts.terminal };
    if (stdio.stdout || stdio.stderr) return stdio;
    const log = logPath(this.d.config.root, namespace, id);
    await mkdir(path.dirname(log), { recursive: true, mode: 0o700 });
    for (const old of [log, ...(await rotatedLogs(log))]) await rm(old, { force: true });
    return { ...stdio, stdout: log, stderr: log };
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
    task.shim = new LostShim(task.id, task.bundle, exit, this.runcFor(task.namespace, task.runtime));
    await this.releaseResources(task, true);
    if (!task.exit) this.exited(task, exit);
  }

  /** runc as the daemon itself runs it, to clean up after a shim that is gone. */
  private runcFor(namespace: string, binary = this.d.config.runtime.binary): Runc {
    return new Runc({ binary, root: path.join(this.d.config.state, 'runc', namespace), systemdCgroup: true });
  }

  /**
   * Finds the tasks a previous daemon left running: shims reconnected,
   * exits that happened while it was down read from disk, half-made tasks
   * (no record: the daemon died mid-create) removed with everything they hold.
   */
  async recover(): Promise<void> {
    const { found, debris } = await findTasks(this.d.config.state);
    for (const f of found) {
      const { namespace, id, pid, scope, machine, stdio, runtime, group } = f.record;
      const task: Task = { namespace, id, pid, bundle: f.bundle, scope, machine, stdio, runtime, group, exit: f.exit, shim: f.shim ?? new LostShim(id, f.bundle, f.exit ?? lostExit(pid), this.runcFor(namespace, runtime)) };
      if (f.shim) this.track(task);
      else {
        this.tasks.set(`${namespace}/${id}`, task);
        task.exit ??= lostExit(pid);
        await this.releaseResources(task, true);
      }
      this.d.log.info('task recovered', { namespace, id, pid, shim: f.shim ? 'connected' : 'gone', status: task.exit?.status });
    }
    for (const bundle of debris) await this.removeDebris(bundle);
    await this.reportOrphanScopes();
    // The standby shim can wait until the daemon serves: starting it now would compete for the CPU with start-up.
    setTimeout(() => this.shims.prepare(), 1000).unref();
  }

  private async removeDebris(bundle: string): Promise<void> {
    const id = path.basename(bundle);
    const namespace = path.basename(path.dirname(bundle));
    this.d.log.warn('removing a task the previous daemon did not finish creating', { namespace, id });
    const shim = await ShimClient.connect(bundle).catch(() => undefined);
    if (shim) {
      await shim.call('delete', {}).catch(() => undefined);
      await shim.call('shutdown', {}).catch(() => undefined);
      shim.close();
    }
    await this.runcFor(namespace).delete(id, bundle, true).catch(() => {});
    const machine = await this.d.machined.getMachine(id).catch(() => null);
    if (machine?.unit === scopeUnitName(id)) await this.d.machined.terminateMachine(id).catch(() => false);
    await this.stopScope(scopeUnitName(id)).catch(() => {});
    await unmountAll(path.join(bundle, 'rootfs'));
    await rm(bundle, { recursive: true, force: true });
  }

  /** Scopes no task owns: those provably ours are stopped, others only reported (see stray-units.ts). */
  private async reportOrphanScopes(): Promise<void> {
    const owned = new Set([...this.tasks.values()].flatMap((t) => [t.scope, t.group ? shimGroupScopeName(t.namespace, t.group) : shimScopeName(t.namespace, t.id)]));
    await cleanStrayUnits({
      systemd: this.d.systemd,
      machined: this.d.machined,
      log: this.d.log,
      stateDir: this.d.config.state,
      runcDelete: (namespace, id) => this.forceDeleteWithoutBundle(namespace, id),
    }, owned);
  }

  /** runc (or crun) delete --force of a container whose bundle is gone; the runtime's log goes to a scratch dir. */
  private async forceDeleteWithoutBundle(namespace: string, id: string): Promise<void> {
    const scratch = await mkdtemp(path.join(tmpdir(), 'containerd-ts-delete-'));
    try {
      await this.runcFor(namespace).delete(id, scratch, true).catch(() => this.runcFor(namespace, 'crun').delete(id, scratch, true));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  private exited(task: Task, exit: ExitInfo): void {
    task.exit = exit;
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

  private async makeBundle(namespace: string, id: string, cleanup: CleanupStack): Promise<string> {
    const bundle = path.join(this.d.config.state, 'tasks', namespace, id);
    await mkdir(path.dirname(bundle), { recursive: true, mode: 0o711 });
    // A leftover bundle without a task is debris of a crash: take it away before reusing the name.
    await unmountAll(path.join(bundle, 'rootfs'));
    await rm(bundle, { recursive: true, force: true });
    await mkdir(path.join(bundle, 'rootfs'), { recursive: true, mode: 0o711 });
    cleanup.push('remove bundle', () => rm(bundle, { recursive: true, force: true }));
    return bundle;
  }

  /**
   * Mounts the rootfs at <bundle>/rootfs: the mounts the client sent, else
   * the container's snapshot. A container with neither (`ctr run --rootfs`)
   * uses the absolute root.path of its spec as it is.
   */
  private async mountRootfs(namespace: string, snapshotKey: string, given: MountSpec[] | undefined, spec: RuntimeSpec, bundle: string, cleanup: CleanupStack): Promise<string> {
    const target = path.join(bundle, 'rootfs');
    if ((!given || given.length === 0) && !snapshotKey) {
      if (!spec.root?.path || !path.isAbsolute(spec.root.path)) throw invalidArgument('container has no snapshot, no rootfs mounts and no absolute root.path');
      return spec.root.path;
    }
    const mounts = given && given.length > 0 ? given : await this.d.rootfs.mounts(namespace, snapshotKey);
    await mountAll(mounts, target);
    cleanup.push('unmount rootfs', () => unmountAll(target));
    return target;
  }

  private async writeSpec(spec: RuntimeSpec, bundle: string, rootfs: string, id: string): Promise<void> {
    spec.root = { ...spec.root, path: rootfs };
    // Every container is a systemd scope: a cgroupfs-style path (what `ctr run` sends
    // without --runc-systemd-cgroup, e.g. "/default/c1") becomes our slice:containerd:<id>.
    const asked = spec.linux.cgroupsPath;
    if (asked && !asked.includes(':')) spec.linux.cgroupsPath = undefined;
    withSystemdScope(this.d.config.slice, id)(spec);
    if (!/^[A-Za-z0-9_.-]+\.slice:containerd:/.test(spec.linux.cgroupsPath!) || !spec.linux.cgroupsPath!.endsWith(`:containerd:${id}`)) {
      throw invalidArgument(`cgroupsPath "${spec.linux.cgroupsPath}" must be "<slice>:containerd:${id}" (systemd cgroup driver)`);
    }
    const user = spec.annotations?.[USER_ANNOTATION];
    if (user) {
      const u = await resolveUser(rootfs, user);
      withUser(u.uid, u.gid, u.additionalGids)(spec);
    }
    await writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
  }

  /** A failed unit of the same name would make runc silently skip the scope; an active one is a conflict. */
  private async clearStaleScope(scope: string): Promise<void> {
    await this.d.systemd.resetFailedUnit(scope);
    const state = await this.d.systemd.unitState(scope);
    if (state && state.activeState !== 'inactive') {
      throw alreadyExists(`systemd unit ${scope} already exists (${state.activeState}); stop it or pick another container id`);
    }
  }

  /**
   * A shim for the task: a new one (moved into its own scope by `placed`),
   * or, for a task in a shim group that already has a live shim, that one
   * serving this task too.
   */
  private async startShim(namespace: string, id: string, bundle: string, runtime: string, group: string | undefined, cleanup: CleanupStack): Promise<{ shim: ShimClient; placed: Promise<void> }> {
    const assignment = {
      namespace, id, bundle, runtime,
      runtimeRoot: path.join(this.d.config.state, 'runc', namespace),
      ...(group ? { group: { name: group, dir: groupDir(this.d.config.state, namespace, group) } } : {}),
    };
    const member = group ? this.liveGroupMember(namespace, group) : undefined;
    let shim: ShimClient;
    let placed = Promise.resolve();
    if (member) {
      await member.shim.call('adopt', { ...assignment, systemdCgroup: true });
      shim = await ShimClient.connect(bundle);
      shim.pid = member.shim instanceof ShimClient ? member.shim.pid : 0;
    } else {
      shim = await this.shims.start(assignment);
      const scopeName = group ? shimGroupScopeName(namespace, group) : shimScopeName(namespace, id);
      placed = moveShimToScope(this.d.systemd, scopeName, shim.pid, this.d.config.slice, `containerd-ts shim for ${namespace}/${group ? `group ${group}` : id}`);
    }
    cleanup.push('stop shim', async () => {
      await shim.call('delete', {}).catch(() => undefined);
      await shim.call('shutdown', {}).catch(() => undefined);
      shim.close();
    });
    return { shim, placed };
  }

  /** A task of `group` whose shim still serves (its process is the group's shim). */
  private liveGroupMember(namespace: string, group: string): Task | undefined {
    return [...this.tasks.values()].find((t) => t.namespace === namespace && t.group === group && !(t.shim instanceof LostShim));
  }

  private async registerMachine(id: string, pid: number, rootfs: string, cleanup: CleanupStack): Promise<string | undefined> {
    if (!this.d.config.registerMachines) return undefined;
    if (!isValidMachineName(id)) {
      this.d.log.warn('container id is not a valid machine name; not registering with machined', { id });
      return undefined;
    }
    await this.d.machined.registerMachine({ name: id, leaderPid: pid, service: 'containerd-ts', class: 'container', rootDirectory: rootfs });
    cleanup.push('terminate machine', () => this.d.machined.terminateMachine(id));
    return id;
  }

  private async stopScope(scope: string): Promise<void> {
    try {
      const state = await this.d.systemd.unitState(scope);
      if (state && state.activeState !== 'inactive') await this.d.systemd.stopUnit(scope);
      await this.d.systemd.resetFailedUnit(scope);
    } catch (err) {
      if (!isRuntimeError(err, 'NotFound')) throw err;
    }
  }
}

function parseSpec(value: Buffer | undefined, id: string): RuntimeSpec {
  if (!value || value.length === 0) throw invalidArgument(`container "${id}" has no runtime spec`);
  try {
    const spec = JSON.parse(value.toString('utf8')) as RuntimeSpec;
    if (!spec.process?.args?.length) throw new Error('process.args is empty');
    spec.linux ??= { namespaces: [] };
    return spec;
  } catch (err) {
    throw invalidArgument(`container "${id}" has an invalid runtime spec: ${(err as Error).message}`);
  }
}

/** The exit reported for a task whose shim was gone when the daemon started and left no exit record. */
function lostExit(pid: number): ExitInfo {
  return { pid, status: 255, signal: null, exitedAt: new Date().toISOString(), oomKilled: false, reason: 'the shim was gone when the daemon started; exit status unknown' };
}

/** The OCI runtime binary a container asks for (containerd's runc options binary_name: runc or crun). */
function runtimeBinary(options: AnyRecord | undefined, fallback: string): string {
  if (!options || options.typeUrl !== TYPE_URLS.runcV1Options || options.value.length === 0) return fallback;
  const name = decodeMessage(TYPE_URLS.runcV1Options, options.value).binary_name;
  if (!name) return fallback;
  if (!['runc', 'crun'].includes(path.basename(name))) throw invalidArgument(`runtime binary "${name}" is not supported: use runc or crun`);
  return name;
}

/** Where a detached container's output goes (kept until the container is deleted). */
export function logPath(root: string, namespace: string, id: string): string {
  return path.join(root, 'logs', namespace, `${id}.log`);
}
