import { invalidArgument } from '../../errors.js';
import { table, type Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';

/** `ctr-ts containers ls` */
export async function containersList(client: DaemonClient): Promise<number> {
  const { containers } = await client.call('containers', 'List', { filters: [] });
  process.stdout.write(table(['CONTAINER', 'IMAGE', 'RUNTIME'], containers.map((c) => [c.id, c.image, c.runtime?.name ?? ''])));
  return 0;
}

/** `ctr-ts containers rm ID...`: deletes the record and its snapshot, like `ctr containers rm`. */
export async function containersRemove(client: DaemonClient, args: Parsed): Promise<number> {
  if (args.positionals.length === 0) throw invalidArgument('usage: ctr-ts containers rm ID [ID...]');
  let status = 0;
  for (const id of args.positionals) {
    try {
      const { container } = await client.call('containers', 'Get', { id });
      await client.call('containers', 'Delete', { id });
      if (container?.snapshot_key) {
        await client.call('snapshots', 'Remove', { snapshotter: container.snapshotter, key: container.snapshot_key }).catch(() => {});
      }
    } catch (err) {
      process.stderr.write(`ctr-ts: ${(err as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}
