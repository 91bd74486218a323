import { fromServiceError } from '../../grpc-codes.js';
import { invalidArgument } from '../../errors.js';
import type { ListSnapshotsResponse, SnapshotInfo } from '../../proto-types.js';
import { table, type Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { humanSize } from './images.js';
import { SNAPSHOTTER } from './run.js';

/** `ctr-ts snapshots ls`: key, parent and kind, as `ctr snapshots ls` prints them. */
export async function snapshotsList(client: DaemonClient): Promise<number> {
  const infos = await listSnapshots(client);
  process.stdout.write(table(['KEY', 'PARENT', 'KIND'], infos.map((s) => [s.name, s.parent, kindName(s.kind)])));
  return 0;
}

/** `ctr-ts snapshots rm KEY...` */
export async function snapshotsRemove(client: DaemonClient, args: Parsed): Promise<number> {
  if (args.positionals.length === 0) throw invalidArgument('usage: ctr-ts snapshots rm KEY [KEY...]');
  let status = 0;
  for (const key of args.positionals) {
    try {
      await client.call('snapshots', 'Remove', { snapshotter: SNAPSHOTTER, key });
    } catch (err) {
      process.stderr.write(`ctr-ts: ${(err as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}

/** `ctr-ts snapshots usage [KEY...]`: disk use of each snapshot's own layer (all of them without keys). */
export async function snapshotsUsage(client: DaemonClient, args: Parsed): Promise<number> {
  const keys = args.positionals.length > 0 ? args.positionals : (await listSnapshots(client)).map((s) => s.name);
  const rows: string[][] = [];
  for (const key of keys) {
    const u = await client.call('snapshots', 'Usage', { snapshotter: SNAPSHOTTER, key });
    rows.push([key, humanSize(Number(u.size)), String(u.inodes)]);
  }
  process.stdout.write(table(['KEY', 'SIZE', 'INODES'], rows));
  return 0;
}

/** `COMMITTED` -> `Committed`, as ctr shows kinds. */
function kindName(kind: string): string {
  return kind.charAt(0) + kind.slice(1).toLowerCase();
}

async function listSnapshots(client: DaemonClient): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = [];
  const stream = client.service('snapshots').List({ snapshotter: SNAPSHOTTER, filters: [] });
  try {
    for await (const page of stream as AsyncIterable<ListSnapshotsResponse>) out.push(...page.info);
  } catch (err) {
    throw fromServiceError(err);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
