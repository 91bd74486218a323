import { fromServiceError } from '../../grpc-codes.js';
import { invalidArgument } from '../../errors.js';
import { fromTimestamp } from '../../timestamp.js';
import type { ContentInfo, ListContentResponse } from '../../proto-types.js';
import { table, type Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { humanSize } from './images.js';

/** `ctr-ts content ls`: every blob with its size, age and labels, as `ctr content ls` prints them. */
export async function contentList(client: DaemonClient): Promise<number> {
  const infos: ContentInfo[] = [];
  const stream = client.service('content').List({ filters: [] });
  try {
    for await (const page of stream as AsyncIterable<ListContentResponse>) infos.push(...page.info);
  } catch (err) {
    throw fromServiceError(err);
  }
  const rows = infos.map((i) => [
    i.digest,
    humanSize(Number(i.size)),
    fromTimestamp(i.created_at).toISOString(),
    Object.entries(i.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-',
  ]);
  process.stdout.write(table(['DIGEST', 'SIZE', 'CREATED', 'LABELS'], rows));
  return 0;
}

/** `ctr-ts content rm DIGEST...`: removes this namespace's records of blobs (the garbage collector removes a file once no namespace has it). */
export async function contentRemove(client: DaemonClient, args: Parsed): Promise<number> {
  if (args.positionals.length === 0) throw invalidArgument('usage: ctr-ts content rm DIGEST [DIGEST...]');
  let status = 0;
  for (const digest of args.positionals) {
    try {
      await client.call('content', 'Delete', { digest });
      process.stdout.write(`${digest}\n`);
    } catch (err) {
      process.stderr.write(`ctr-ts: ${(err as Error).message}\n`);
      status = 1;
    }
  }
  return status;
}
