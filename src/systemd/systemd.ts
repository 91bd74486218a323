/**
 * The runtime's view of systemd (org.freedesktop.systemd1): the few Manager
 * calls and unit properties needed to verify, tune, stop and clean up the
 * `containerd-<id>.scope` units runc creates. Interface first, D-Bus
 * implementation below it.
 */
import { constants as osConstants } from 'node:os';
import { invalidArgument, isRuntimeError, internal } from '../errors.js';
import { SystemBus, type BusCall } from './bus.js';
import { arr, num, str, struct, u64OrNull } from './decode.js';
import { MANAGER_IFACE, SYSTEMD_DEST, SYSTEMD_PATH, runJob, type JobResult } from './jobs.js';
import { toDBusProperties, unitProperty, type UnitProperty } from './properties.js';

/** A loaded unit's three state columns (as in `systemctl list-units`). */
export interface UnitState {
  activeState: string;
  subState: string;
  loadState: string;
}

/** What the daemon verifies and polls on a container's scope; `null` = unset (UINT64_MAX). */
export interface ScopeProperties {
  memoryMax: bigint | null;
  memoryLimit: bigint | null;
  cpuQuotaPerSecUSec: bigint | null;
  tasksMax: bigint | null;
  memoryCurrent: bigint | null;
  tasksCurrent: bigint | null;
  cpuUsageNSec: bigint | null;
  /** Only counted on the unified hierarchy (systemd reads io.stat). */
  ioReadBytes: bigint | null;
  ioWriteBytes: bigint | null;
  controlGroup: string;
  activeState: string;
}

/** One row of ListUnitsByPatterns. */
export interface UnitInfo {
  name: string;
  description: string;
  loadState: string;
  activeState: string;
  subState: string;
  following: string;
  path: string;
  jobId: number;
  jobType: string;
  jobPath: string;
}

/** Which processes of a unit KillUnit signals. */
export type KillWhom = 'all' | 'main';

/** Per-call options for job-waiting methods. */
export interface JobOptions {
  /** How long to wait for the job (ms); default 30 s like runc. */
  timeoutMs?: number;
}

/** The systemd operations the runtime uses; every failure is a RuntimeError. */
export interface Systemd {
  /** The unit NAME (e.g. `containerd-x.scope`) whose cgroup holds `pid`; NotFound if none. */
  getUnitByPid(pid: number): Promise<string>;
  /** Clears a failed unit so the name can be reused; no-op when the unit is not loaded. */
  resetFailedUnit(name: string): Promise<void>;
  /** Active/sub/load state of a loaded unit, or null when systemd has no such unit loaded. */
  unitState(name: string): Promise<UnitState | null>;
  /** A scope's limits, counters and cgroup; NotFound when the unit is not loaded. */
  readScopeProperties(name: string): Promise<ScopeProperties>;
  /** SetUnitProperties; `runtime` = true keeps the change out of /etc (what runc does). */
  setUnitProperties(name: string, runtime: boolean, props: readonly UnitProperty[]): Promise<void>;
  /**
   * Stops a unit and waits for its job (subscribing first), then resets it if
   * failed and waits briefly for systemd to unload it. false = was not loaded.
   */
  stopUnit(name: string, options?: JobOptions): Promise<boolean>;
  /** Sends `signal` to the unit's processes (`all`) or its main process (`main`). */
  killUnit(name: string, whom: KillWhom, signal: NodeJS.Signals | number): Promise<void>;
  /** Creates a transient scope holding `pids` and waits for its start job; AlreadyExists if the name is taken. */
  startTransientScope(name: string, pids: readonly number[], props: readonly UnitProperty[], options?: JobOptions): Promise<void>;
  /**
   * Moves `pids` into the cgroup of an active scope or service
   * (AttachProcessesToUnit: no job, no new unit). NotFound when the unit is
   * not loaded, FailedPrecondition when it is not active.
   */
  attachProcesses(name: string, pids: readonly number[]): Promise<void>;
  /** The processes in a unit's cgroup (GetUnitProcesses); NotFound when the unit is not loaded. */
  unitProcesses(name: string): Promise<UnitProcess[]>;
  /** Loaded units whose names match the glob pattern(s), optionally filtered by state. */
  listUnitsByPattern(pattern: string | readonly string[], states?: readonly string[]): Promise<UnitInfo[]>;
  /** Releases the bus connection if this instance opened it. */
  close(): void;
}

/** One process of a unit's cgroup. */
export interface UnitProcess {
  pid: number;
  /** The cgroup path below the controller root, e.g. `/system.slice/x.scope`. */
  cgroup: string;
  /** Its command line as systemd read it (arguments joined by spaces). */
  cmdline: string;
}

/** Options for `createSystemd`. */
export interface SystemdOptions {
  /** Share a connection (e.g. with Machined); when omitted a private one is opened and `close()` closes it. */
  bus?: SystemBus;
  /** Default job timeout in ms (30 s). */
  jobTimeoutMs?: number;
}

/** Builds the D-Bus backed Systemd. */
export function createSystemd(options: SystemdOptions = {}): Systemd {
  return new DBusSystemd(options);
}

const UNIT_IFACE = 'org.freedesktop.systemd1.Unit';
const SCOPE_IFACE = 'org.freedesktop.systemd1.Scope';
const DEFAULT_JOB_TIMEOUT_MS = 30_000;
const UNLOAD_WAIT_MS = 2_000;

/** Systemd over the system bus (systemd 252's org.freedesktop.systemd1.Manager). */
export class DBusSystemd implements Systemd {
  private readonly bus: SystemBus;
  private readonly ownsBus: boolean;
  private readonly jobTimeoutMs: number;

  constructor(options: SystemdOptions = {}) {
    this.bus = options.bus ?? new SystemBus();
    this.ownsBus = options.bus === undefined;
    this.jobTimeoutMs = options.jobTimeoutMs ?? DEFAULT_JOB_TIMEOUT_MS;
  }

  async getUnitByPid(pid: number): Promise<string> {
    if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument('invalid pid', { fields: { pid } });
    const [path] = await this.manager('GetUnitByPID', 'u', [pid]);
    const id = await this.bus.getProperty(SYSTEMD_DEST, str(path, 'unit path'), UNIT_IFACE, 'Id');
    return str(id, 'Unit.Id');
  }

  async resetFailedUnit(name: string): Promise<void> {
    try {
      await this.manager('ResetFailedUnit', 's', [name]);
    } catch (err) {
      if (!isRuntimeError(err, 'NotFound')) throw err;
    }
  }

  async unitState(name: string): Promise<UnitState | null> {
    const path = await this.unitPath(name);
    if (path === null) return null;
    const get = (p: string) => this.bus.getProperty(SYSTEMD_DEST, path, UNIT_IFACE, p);
    const [active, sub, load] = await Promise.all([get('ActiveState'), get('SubState'), get('LoadState')]);
    return { activeState: str(active, 'ActiveState'), subState: str(sub, 'SubState'), loadState: str(load, 'LoadState') };
  }

  async readScopeProperties(name: string): Promise<ScopeProperties> {
    const [path] = await this.manager('GetUnit', 's', [name]);
    const unitPath = str(path, 'unit path');
    const [scope, active] = await Promise.all([
      this.bus.getAllProperties(SYSTEMD_DEST, unitPath, SCOPE_IFACE),
      this.bus.getProperty(SYSTEMD_DEST, unitPath, UNIT_IFACE, 'ActiveState'),
    ]);
    const t = (k: string) => u64OrNull(scope[k], `Scope.${k}`);
    const optional = (k: string) => (scope[k] === undefined ? null : t(k));
    return {
      memoryMax: t('MemoryMax'),
      memoryLimit: t('MemoryLimit'),
      cpuQuotaPerSecUSec: t('CPUQuotaPerSecUSec'),
      tasksMax: t('TasksMax'),
      memoryCurrent: t('MemoryCurrent'),
      tasksCurrent: t('TasksCurrent'),
      cpuUsageNSec: t('CPUUsageNSec'),
      ioReadBytes: optional('IOReadBytes'),
      ioWriteBytes: optional('IOWriteBytes'),
      controlGroup: str(scope['ControlGroup'], 'Scope.ControlGroup'),
      activeState: str(active, 'Unit.ActiveState'),
    };
  }

  async setUnitProperties(name: string, runtime: boolean, props: readonly UnitProperty[]): Promise<void> {
    await this.manager('SetUnitProperties', 'sba(sv)', [name, runtime, toDBusProperties(props)]);
  }

  async stopUnit(name: string, options: JobOptions = {}): Promise<boolean> {
    const timeoutMs = options.timeoutMs ?? this.jobTimeoutMs;
    let result: JobResult;
    try {
      result = await runJob(this.bus, this.managerCall('StopUnit', 'ss', [name, 'replace']), timeoutMs);
    } catch (err) {
      if (isRuntimeError(err, 'NotFound')) return false;
      throw err;
    }
    // As runc does: a scope that ends failed (e.g. stop timed out) stays loaded until reset.
    await this.resetFailedUnit(name).catch(() => undefined);
    const state = await this.waitUnloaded(name, Math.min(UNLOAD_WAIT_MS, timeoutMs));
    if (result !== 'done' && result !== 'unknown' && state !== null && state.activeState !== 'inactive' && state.activeState !== 'failed') {
      throw internal(`stopping ${name}: job ${result}, unit still ${state.activeState}`, { fields: { unit: name, jobResult: result } });
    }
    return true;
  }

  async killUnit(name: string, whom: KillWhom, signal: NodeJS.Signals | number): Promise<void> {
    await this.manager('KillUnit', 'ssi', [name, whom, signalNumber(signal)]);
  }

  async startTransientScope(name: string, pids: readonly number[], props: readonly UnitProperty[], options: JobOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? this.jobTimeoutMs;
    const properties = toDBusProperties([unitProperty.pids(pids), ...props]);
    const call = this.managerCall('StartTransientUnit', 'ssa(sv)a(sa(sv))', [name, 'replace', properties, []]);
    let result: JobResult;
    try {
      result = await runJob(this.bus, call, timeoutMs);
    } catch (err) {
      if (isRuntimeError(err, 'DeadlineExceeded')) await this.resetFailedUnit(name).catch(() => undefined);
      throw err;
    }
    if (result === 'done') return;
    if (result === 'unknown' && (await this.unitState(name))?.activeState === 'active') return;
    await this.resetFailedUnit(name).catch(() => undefined);
    throw internal(`error creating systemd unit ${name}: job ${result}`, { fields: { unit: name, jobResult: result } });
  }

  async attachProcesses(name: string, pids: readonly number[]): Promise<void> {
    if (pids.length === 0 || pids.some((p) => !Number.isInteger(p) || p <= 0)) throw invalidArgument('invalid pids', { fields: { unit: name } });
    await this.manager('AttachProcessesToUnit', 'ssau', [name, '', [...pids]]);
  }

  async unitProcesses(name: string): Promise<UnitProcess[]> {
    const [rows] = await this.manager('GetUnitProcesses', 's', [name]);
    return arr(rows, 'GetUnitProcesses').map((row) => {
      const r = struct(row, 3, 'unit process');
      return { cgroup: str(r[0], 'cgroup'), pid: num(r[1], 'pid'), cmdline: str(r[2], 'cmdline') };
    });
  }

  async listUnitsByPattern(pattern: string | readonly string[], states: readonly string[] = []): Promise<UnitInfo[]> {
    const patterns = typeof pattern === 'string' ? [pattern] : [...pattern];
    const [rows] = await this.manager('ListUnitsByPatterns', 'asas', [[...states], patterns]);
    return arr(rows, 'ListUnitsByPatterns').map((row) => {
      const r = struct(row, 10, 'unit row');
      return {
        name: str(r[0], 'name'),
        description: str(r[1], 'description'),
        loadState: str(r[2], 'loadState'),
        activeState: str(r[3], 'activeState'),
        subState: str(r[4], 'subState'),
        following: str(r[5], 'following'),
        path: str(r[6], 'path'),
        jobId: num(r[7], 'jobId'),
        jobType: str(r[8], 'jobType'),
        jobPath: str(r[9], 'jobPath'),
      };
    });
  }

  close(): void {
    if (this.ownsBus) this.bus.close();
  }

  private managerCall(member: string, signature: string, body: unknown[]): BusCall {
    return { destination: SYSTEMD_DEST, path: SYSTEMD_PATH, interface: MANAGER_IFACE, member, signature, body };
  }

  private manager(member: string, signature: string, body: unknown[]): Promise<unknown[]> {
    return this.bus.call(this.managerCall(member, signature, body));
  }

  /** GetUnit: the object path of a loaded unit, or null when systemd has none by that name. */
  private async unitPath(name: string): Promise<string | null> {
    try {
      const [path] = await this.manager('GetUnit', 's', [name]);
      return str(path, 'unit path');
    } catch (err) {
      if (isRuntimeError(err, 'NotFound')) return null;
      throw err;
    }
  }

  /** Polls until systemd garbage-collects the unit; returns its last state (null = gone). */
  private async waitUnloaded(name: string, maxMs: number): Promise<UnitState | null> {
    const until = Date.now() + maxMs;
    for (;;) {
      const state = await this.unitState(name).catch(() => null);
      if (state === null || Date.now() >= until) return state;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A signal name or number as the `i` KillUnit expects. */
function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') {
    if (!Number.isInteger(signal) || signal <= 0 || signal > 64) throw invalidArgument('invalid signal', { fields: { signal } });
    return signal;
  }
  const n = osConstants.signals[signal];
  if (n === undefined) throw invalidArgument(`unknown signal ${signal}`, { fields: { signal } });
  return n;
}
