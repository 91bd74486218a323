import { open } from 'node:fs/promises';
import { invalidArgument, failedPrecondition } from '../../errors.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';

export const logsOptions: Record<string, OptionSpec> = {
  follow: { type: 'boolean', short: 'f', description: 'keep printing new output until the task stops' },
};

const POLL_MS = 200;

/**
 * `ctr-ts logs [-f] ID`: the output of a detached container, from the log
 * file the daemon gave it (its path is the task's stdout). Kept until the
 * container is deleted.
 */
export async function logs(client: DaemonClient, args: Parsed): Promise<number> {
  const id = args.positionals[0];
  if (!id) throw invalidArgument('usage: ctr-ts logs [-f] ID');
  const { process: proc } = await client.call('tasks', 'Get', { container_id: id, exec_id: '' });
  const file = proc?.stdout;
  if (!file || !file.endsWith('.log')) throw failedPrecondition(`task ${id} was started with its output attached (not detached): it has no log`);
  const handle = await open(file, 'r');
  try {
    let offset = 0;
    const drain = async () => {
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const { bytesRead } = await handle.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) return;
        offset += bytesRead;
        process.stdout.write(buf.subarray(0, bytesRead));
      }
    };
    await drain();
    while (args.options.follow) {
      const { process: now } = await client.call('tasks', 'Get', { container_id: id, exec_id: '' });
      await new Promise((r) => setTimeout(r, POLL_MS));
      await drain();
      if (now?.status === 'STOPPED') break;
    }
  } finally {
    await handle.close();
  }
  return 0;
}
