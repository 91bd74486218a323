import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { ShimClient, type ShimConnection } from '../../shim/client.js';
import type { ExitInfo } from '../../shim/protocol.js';
import { readExitRecord, readTaskRecord, type TaskRecord } from './task-record.js';

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
  const found: FoundTask[] = [];
  const debris: string[] = [];
  const root = path.join(stateDir, 'tasks');
  for (const ns of await list(root)) {
    for (const id of await list(path.join(root, ns))) {
      const bundle = path.join(root, ns, id);
      const record = await readTaskRecord(bundle);
      if (!record) {
        debris.push(bundle);
        continue;
      }
      const shim = await ShimClient.connect(bundle).catch(() => undefined);
      if (shim) {
        const state = await shim.call('state', {}).catch(() => undefined);
        found.push({ record, bundle, shim, exit: state?.exit });
      } else {
        found.push({ record, bundle, exit: await readExitRecord(bundle) });
      }
    }
  }
  return { found, debris };
}

async function list(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
  } catch {
    return [];
  }
}
