import { readFile, stat } from 'node:fs/promises';
import { invalidArgument, failedPrecondition } from '../../errors.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { LogReader, olderLogs } from '../log-reader.js';

export const logsOptions: Record<string, OptionSpec> = {
  follow: { type: 'boolean', short: 'f', description: 'keep printing new output until the task stops' },
};

export const POLL_MS = 200;

/** The log file of a detached task, or a clear error for a task whose output goes to its client. */
export async function taskLogPath(client: DaemonClient, id: string, hint = ''): Promise<string> {
  const { process: proc } = await client.call('tasks', 'Get', { container_id: id, exec_id: '' });
  const file = proc?.stdout;
  const isFile = file ? await stat(file).then((s) => s.isFile(), () => false) : false;
  if (!file || !isFile) throw failedPrecondition(`task ${id} was started with its output attached (not detached): it has no log${hint}`);
  return file;
}

/**
 * `ctr-ts logs [-f] ID`: the output of a detached container, from the log
 * file the daemon gave it (its path is the task's stdout), rotated files
 * first. Kept until the container is deleted; -f follows across rotations.
 */
export async function logs(client: DaemonClient, args: Parsed): Promise<number> {
  const id = args.positionals[0];
  if (!id) throw invalidArgument('usage: ctr-ts logs [-f] ID');
  const file = await taskLogPath(client, id);
  for (const older of await olderLogs(file)) process.stdout.write(await readFile(older).catch(() => Buffer.alloc(0)));
  const reader = await LogReader.open(file);
  try {
    await reader.drain(process.stdout);
    while (args.options.follow) {
      const { process: now } = await client.call('tasks', 'Get', { container_id: id, exec_id: '' });
      await new Promise((r) => setTimeout(r, POLL_MS));
      await reader.drain(process.stdout);
      if (now?.status === 'STOPPED') break;
    }
  } finally {
    await reader.close();
  }
  return 0;
}
