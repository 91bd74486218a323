import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExitInfo, StdioPaths } from '../../shim/protocol.js';

/**
 * What a new daemon needs to find a task again after a restart, kept in the
 * bundle (volatile state, like the task itself): the shim socket is beside
 * it, the rest comes from the shim.
 */
export interface TaskRecord {
  namespace: string;
  id: string;
  pid: number;
  scope: string;
  machine?: string;
  stdio: StdioPaths;
  runtime: string;
  group?: string;
}

const RECORD = 'task.json';

export async function writeTaskRecord(bundle: string, record: TaskRecord): Promise<void> {
  writeFileSync(path.join(bundle, RECORD), JSON.stringify(record)); // tmpfs: see TaskHost.makeBundle
}

/** Synchronous (tmpfs, a few hundred bytes): at start-up, 50 records read through the thread pool took ~10 ms of round trips. */
export function readTaskRecord(bundle: string): TaskRecord | undefined {
  try {
    return JSON.parse(readFileSync(path.join(bundle, RECORD), 'utf8')) as TaskRecord;
  } catch {
    return undefined;
  }
}

/** The exit the shim persisted when it reaped init (it survives the shim). */
export async function readExitRecord(bundle: string): Promise<ExitInfo | undefined> {
  try {
    return JSON.parse(await readFile(path.join(bundle, 'exit.json'), 'utf8')) as ExitInfo;
  } catch {
    return undefined;
  }
}
