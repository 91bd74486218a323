import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ShimClient, type ShimConnection } from '../../shim/client.js';
import type { ExitInfo } from '../../shim/protocol.js';
import type { Machined } from '../../systemd/machined.js';
import type { Systemd } from '../../systemd/systemd.js';
import type { Logger } from '../logger.js';
import { LostShim } from './lost-shim.js';
import { killStrayShims } from './stray-shims.js';
import { cleanStrayUnits } from './stray-units.js';
import type { Task } from './task.js';
import type { TaskHost } from './task-host.js';
import { StepTimer } from './step-timer.js';
import { readExitRecord, readTaskRecord, type TaskRecord } from './task-record.js';

export interface RecoveryDeps {
  stateDir: string;
  host: TaskHost;
  systemd: Systemd;
  machined: Machined;
  log: Logger;
  /** Takes a found task into the daemon's table; `connected`: its shim answered (follow it). */
  adopt(task: Task, connected: boolean): void;
  /** The units (container and shim group scopes) that the adopted tasks own. */
  ownedUnits(): Set<string>;
  /** The shims' working directories (bundles, group directories) of the adopted tasks. */
  ownedShimHomes(): Set<string>;
}

/**
 * Finds the tasks a previous daemon left running: shims reconnected,
 * exits that happened while it was down read from disk, half-made tasks
 * (no record: the daemon died mid-create) removed with everything they hold,
 * units no task owns stopped when provably ours (see stray-units.ts), and
 * shims no task owns killed (stray-shims.ts).
 */
export async function recoverTasks(d: RecoveryDeps): Promise<void> {
  const timer = new StepTimer();
  const { found, debris } = await findTasks(d.stateDir);
  timer.mark('find');
  for (const f of found) {
    const { namespace, id, pid, scope, machine, stdio, runtime, group } = f.record;
    const shim = f.shim ?? new LostShim(id, f.bundle, f.exit ?? lostExit(pid), d.host.runcFor(namespace, runtime));
    const task: Task = { namespace, id, pid, bundle: f.bundle, scope, machine, stdio, runtime, group, exit: f.exit, shim };
    d.adopt(task, Boolean(f.shim));
    if (!f.shim) {
      task.exit ??= lostExit(pid);
      await d.host.release(task, true);
    }
    // A running task found again is the usual case: one line each only at debug (the summary below counts them).
    // Fifty journal lines were journald's work on the other CPU while the shims answered.
    const fields = { namespace, id, pid, shim: f.shim ? 'connected' : 'gone', status: task.exit?.status };
    if (f.shim && !task.exit) d.log.debug('task recovered', fields);
    else d.log.info('task recovered', fields);
  }
  timer.mark('adopt');
  for (const bundle of debris) await d.host.removeDebris(bundle);
  timer.mark('debris');
  await cleanStrayUnits({
    systemd: d.systemd,
    machined: d.machined,
    log: d.log,
    stateDir: d.stateDir,
    runcDelete: (namespace, id) => d.host.forceDeleteWithoutBundle(namespace, id),
  }, d.ownedUnits());
  timer.mark('stray-units');
  await killStrayShims({ systemd: d.systemd, log: d.log }, d.ownedShimHomes());
  timer.mark('stray-shims');
  const running = found.filter((f) => f.shim && !f.exit).length;
  d.log.info('tasks recovered', { count: found.length, running, ...timer.summary() });
}

/** The exit reported for a task whose shim was gone when the daemon started and left no exit record. */
function lostExit(pid: number): ExitInfo {
  return { pid, status: 255, signal: null, exitedAt: new Date().toISOString(), oomKilled: false, reason: 'the shim was gone when the daemon started; exit status unknown' };
}

/** One task found in the state dir at start-up: reconnected, or with its shim gone. */
export interface FoundTask {
  record: TaskRecord;
  bundle: string;
  shim?: ShimConnection;
  /** The exit, when the shim reported one or left it on disk. */
  exit?: ExitInfo;
}

/**
 * Finds every task a previous daemon left in `<state>/tasks/<ns>/<id>`:
 * connects to its shim when it still serves, otherwise reads the exit the
 * shim persisted. Bundles without a task record are debris of a create the
 * daemon did not finish; they are returned for clean-up.
 */
export async function findTasks(stateDir: string): Promise<{ found: FoundTask[]; debris: string[] }> {
  const root = path.join(stateDir, 'tasks');
  const bundles: string[] = [];
  for (const ns of list(root)) for (const id of list(path.join(root, ns))) bundles.push(path.join(root, ns, id));
  // Shims answer independently: asking them all at once keeps a restart with many containers short.
  const results = await mapLimit(bundles, 16, async (bundle) => {
    const record = readTaskRecord(bundle);
    if (!record) return { debris: bundle };
    const shim = await ShimClient.connect(bundle).catch(() => undefined);
    if (shim) {
      // The pid the shim wrote when it began serving this bundle (a recycled shim may be handed on later).
      shim.pid = readShimPid(bundle);
      const state = await shim.call('state', {}).catch(() => undefined);
      return { found: { record, bundle, shim, exit: state?.exit } };
    }
    return { found: { record, bundle, exit: await readExitRecord(bundle) } };
  });
  return {
    found: results.flatMap((r) => (r.found ? [r.found] : [])),
    debris: results.flatMap((r) => (r.debris ? [r.debris] : [])),
  };
}

/** `fn` over `items` with at most `limit` running at once; results in the items' order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function readShimPid(bundle: string): number {
  try {
    const pid = Number(readFileSync(path.join(bundle, 'shim.pid'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

/** Synchronous: the state dir is a tmpfs (/run). */
function list(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}
