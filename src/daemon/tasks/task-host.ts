/**
 * What a task holds on the host besides its shim: the bundle directory, the
 * rootfs mount, the scope unit, the machined registration and the files of
 * its output. Each acquire registers its undo on the create's CleanupStack;
 * each release tolerates "already gone", so it can run again after a crash.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { alreadyExists, invalidArgument, isRuntimeError } from '../../errors.js';
import type { RuntimeSpec } from '../../oci/spec-types.js';
import { ShimClient } from '../../shim/client.js';
import type { StdioPaths } from '../../shim/protocol.js';
import { rotatedLogs } from '../../shim/rotating-log.js';
import { Runc } from '../../shim/runc.js';
import type { Machined } from '../../systemd/machined.js';
import { isValidMachineName } from '../../systemd/machined.js';
import type { Systemd } from '../../systemd/systemd.js';
import { scopeUnitName } from '../../systemd/units.js';
import type { DaemonConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { CleanupStack } from './cleanup.js';
import { mountAll, unmountAll, type MountSpec } from './rootfs.js';
import { retireShim } from './shim-placement.js';
import { groupDir } from './shim-scope.js';
import type { Task } from './task.js';

/** Where a task's rootfs comes from when the client sends no mounts. */
export interface RootfsSource {
  mounts(namespace: string, snapshotKey: string): Promise<MountSpec[]>;
}

export interface TaskHostDeps {
  config: DaemonConfig;
  rootfs: RootfsSource;
  systemd: Systemd;
  machined: Machined;
  log: Logger;
}

export class TaskHost {
  constructor(private readonly d: TaskHostDeps) {}

  /**
   * `<state>/tasks/<ns>/<id>` with an empty rootfs dir; a leftover of a crash
   * under that name goes first. Synchronous directory work: the state
   * directory is tmpfs, where each call is microseconds and a pool round
   * trip under load is milliseconds.
   */
  async makeBundle(namespace: string, id: string, cleanup: CleanupStack): Promise<string> {
    const bundle = this.bundlePath(namespace, id);
    if (existsSync(bundle)) {
      await unmountAll(path.join(bundle, 'rootfs'));
      rmSync(bundle, { recursive: true, force: true });
    }
    mkdirSync(path.join(bundle, 'rootfs'), { recursive: true, mode: 0o711 });
    cleanup.push('remove bundle', () => rm(bundle, { recursive: true, force: true }));
    return bundle;
  }

  bundlePath(namespace: string, id: string): string {
    return path.join(this.d.config.state, 'tasks', namespace, id);
  }

  /**
   * Mounts the rootfs at <bundle>/rootfs: the mounts the client sent, else
   * the container's snapshot. A container with neither (`ctr run --rootfs`)
   * uses the absolute root.path of its spec as it is.
   */
  async mountRootfs(namespace: string, snapshotKey: string, given: MountSpec[] | undefined, spec: RuntimeSpec, bundle: string, cleanup: CleanupStack): Promise<string> {
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

  /** A failed unit of the same name would make runc silently skip the scope; an active one is a conflict. */
  async clearStaleScope(scope: string): Promise<void> {
    await this.d.systemd.resetFailedUnit(scope);
    const state = await this.d.systemd.unitState(scope);
    if (state && state.activeState !== 'inactive') {
      throw alreadyExists(`systemd unit ${scope} already exists (${state.activeState}); stop it or pick another container id`);
    }
  }

  /** Registers the container with machined (when configured and the id is a valid machine name). */
  async registerMachine(id: string, pid: number, rootfs: string, cleanup: CleanupStack): Promise<string | undefined> {
    if (!this.d.config.registerMachines) return undefined;
    if (!isValidMachineName(id)) {
      this.d.log.warn('container id is not a valid machine name; not registering with machined', { id });
      return undefined;
    }
    await this.d.machined.registerMachine({ name: id, leaderPid: pid, service: 'containerd-ts', class: 'container', rootDirectory: rootfs });
    cleanup.push('terminate machine', () => this.d.machined.terminateMachine(id));
    return id;
  }

  async stopScope(scope: string): Promise<void> {
    try {
      const state = await this.d.systemd.unitState(scope);
      if (!state) return;
      // An inactive scope needs nothing: the usual case once the container's cgroup has emptied.
      if (state.activeState === 'inactive') return;
      if (state.activeState !== 'failed') await this.d.systemd.stopUnit(scope);
      await this.d.systemd.resetFailedUnit(scope);
    } catch (err) {
      if (!isRuntimeError(err, 'NotFound')) throw err;
    }
  }

  /**
   * A task created without any output (`run -d`, `ctr run -d`, also with a
   * terminal) writes it to a log file that outlives the task and that the
   * shim rotates by size: `ctr-ts logs` and `tasks attach` read it, and it
   * goes when the container is deleted.
   */
  async stdioFor(namespace: string, id: string, requested: StdioPaths): Promise<StdioPaths> {
    const stdio = { stdin: requested.stdin, stdout: requested.stdout, stderr: requested.stderr, terminal: requested.terminal };
    if (stdio.stdout || stdio.stderr) return stdio;
    const log = logPath(this.d.config.root, namespace, id);
    await mkdir(path.dirname(log), { recursive: true, mode: 0o700 });
    for (const old of [log, ...(await rotatedLogs(log))]) await rm(old, { force: true });
    return { ...stdio, stdout: log, stderr: log };
  }

  /** Frees scope, machine and rootfs mount; with `killFirst`, also whatever runc still runs. */
  async release(task: Task, killFirst: boolean): Promise<void> {
    if (killFirst) await this.runcFor(task.namespace, task.runtime).delete(task.id, task.bundle, true).catch(() => {});
    await this.stopScope(task.scope).catch(() => {});
    await this.releaseMachineAndMount(task);
  }

  /** The machine registration and the rootfs mount, side by side: neither needs the other, nor runc's delete, to have finished. */
  async releaseMachineAndMount(task: Task): Promise<void> {
    await Promise.all([this.releaseMachine(task), this.unmountRootfs(task)]);
  }

  unmountRootfs(task: Task): Promise<void> {
    return unmountAll(path.join(task.bundle, 'rootfs'));
  }

  /** Terminates the task's machine once (at the container's exit, or else at delete); never fails. */
  releaseMachine(task: Task): Promise<unknown> {
    task.machineReleased ??= task.machine ? this.d.machined.terminateMachine(task.machine).catch(() => false) : Promise.resolve();
    return task.machineReleased;
  }

  /**
   * The task's bundle, and what only it used: its shim group's directory
   * (the group shim's log) when it was the group's last member, and the
   * stdin FIFO `ctr-ts run -d -i` leaves in `<state>/fifo/<id>-*` for
   * `tasks attach`.
   */
  async removeBundle(task: Task, lastOfGroup: boolean): Promise<void> {
    // A dozen small files on tmpfs, the rootfs already unmounted: synchronous is
    // ~0.2 ms, where the promise version queues behind whatever holds the pool.
    rmSync(task.bundle, { recursive: true, force: true });
    if (task.group && lastOfGroup) await rm(groupDir(this.d.config.state, task.namespace, task.group), { recursive: true, force: true });
    const stdin = task.stdio.stdin;
    if (!stdin || task.stdio.stdout !== logPath(this.d.config.root, task.namespace, task.id)) return;
    const dir = path.dirname(stdin);
    if (path.dirname(dir) === path.join(this.d.config.state, 'fifo') && path.basename(dir).startsWith(`${task.id}-`)) {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * A bundle without a task record: the previous daemon died while creating
   * it. Whatever of it exists (shim, runc container, machine, scope, mount,
   * directory) goes.
   */
  async removeDebris(bundle: string): Promise<void> {
    const id = path.basename(bundle);
    const namespace = path.basename(path.dirname(bundle));
    this.d.log.warn('removing a task the previous daemon did not finish creating', { namespace, id });
    const shim = await ShimClient.connect(bundle).catch(() => undefined);
    if (shim) await retireShim(shim);
    await this.runcFor(namespace).delete(id, bundle, true).catch(() => {});
    const machine = await this.d.machined.getMachine(id).catch(() => null);
    if (machine?.unit === scopeUnitName(id)) await this.d.machined.terminateMachine(id).catch(() => false);
    await this.stopScope(scopeUnitName(id)).catch(() => {});
    await unmountAll(path.join(bundle, 'rootfs'));
    await rm(bundle, { recursive: true, force: true });
  }

  /** runc (or crun) delete --force of a container whose bundle is gone; the runtime's log goes to a scratch dir. */
  async forceDeleteWithoutBundle(namespace: string, id: string): Promise<void> {
    const scratch = await mkdtemp(path.join(tmpdir(), 'containerd-ts-delete-'));
    try {
      await this.runcFor(namespace).delete(id, scratch, true).catch(() => this.runcFor(namespace, 'crun').delete(id, scratch, true));
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** runc as the daemon itself runs it, to clean up after a shim that is gone. */
  runcFor(namespace: string, binary = this.d.config.runtime.binary): Runc {
    return new Runc({ binary, root: path.join(this.d.config.state, 'runc', namespace), systemdCgroup: true });
  }
}

/** Where a detached container's output goes (kept until the container is deleted). */
export function logPath(root: string, namespace: string, id: string): string {
  return path.join(root, 'logs', namespace, `${id}.log`);
}
