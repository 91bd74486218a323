import { invalidArgument } from '../../errors.js';
import { table, type Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { fromTimestamp } from '../../timestamp.js';

/** `ctr-ts containers ls` */
export async function containersList(client: DaemonClient): Promise<number> {
  const { containers } = await client.call('containers', 'List', { filters: [] });
  process.stdout.write(table(['CONTAINER', 'IMAGE', 'RUNTIME'], containers.map((c) => [c.id, c.image, c.runtime?.name ?? ''])));
  return 0;
}

/**
 * `ctr-ts containers info ID`: the record as JSON, like `ctr containers
 * info`, with the runtime spec decoded (and the task's state when it has one).
 */
export async function containersInfo(client: DaemonClient, args: Parsed): Promise<number> {
  const id = args.positionals[0];
  if (!id || args.positionals.length > 1) throw invalidArgument('usage: ctr-ts containers info ID');
  const { container } = await client.call('containers', 'Get', { id });
  const c = container!;
  const task = await client.call('tasks', 'Get', { container_id: id }).then((r) => r.process, () => null);
  const info = {
    ID: c.id,
    Labels: c.labels,
    Image: c.image,
    Runtime: { Name: c.runtime?.name ?? '', Options: c.runtime?.options ? { type_url: c.runtime.options.type_url } : null },
    SnapshotKey: c.snapshot_key,
    Snapshotter: c.snapshotter,
    CreatedAt: fromTimestamp(c.created_at).toISOString(),
    UpdatedAt: fromTimestamp(c.updated_at).toISOString(),
    Spec: c.spec?.value.length ? JSON.parse(Buffer.from(c.spec.value).toString('utf8')) as unknown : null,
    Task: task ? { Pid: task.pid, Status: task.status, ExitStatus: task.exit_status } : null,
  };
  process.stdout.write(JSON.stringify(info, null, 4) + '\n');
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
