import { fromTimestamp } from '../../timestamp.js';
import { unpackAnyIfKnown } from '../../wire/any.js';
import type { Envelope } from '../../proto-types.js';
import { fromServiceError } from '../../grpc-codes.js';
import type { OptionSpec, Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';

export const eventsOptions: Record<string, OptionSpec> = {
  filter: { type: 'string', short: 'f', multiple: true, description: 'containerd event filter, e.g. topic=="/tasks/exit"', placeholder: 'F' },
};

/** `ctr-ts events`: one line per event, as `ctr events` prints them, until interrupted. */
export async function events(client: DaemonClient, args: Parsed): Promise<number> {
  const filters = (args.options.filter as string[] | undefined) ?? [];
  const stream = client.service('events').Subscribe({ filters });
  process.on('SIGINT', () => stream.cancel());
  try {
    for await (const e of stream as AsyncIterable<Envelope>) process.stdout.write(formatEvent(e) + '\n');
  } catch (err) {
    if ((err as { code?: number }).code === 1) return 0; // cancelled by the user
    throw fromServiceError(err);
  }
  return 0;
}

/** `<time> <namespace> <topic> <json>` */
export function formatEvent(e: Envelope): string {
  const when = fromTimestamp(e.timestamp).toISOString();
  const type = e.event?.type_url ?? '';
  const decoded = e.event ? unpackAnyIfKnown(e.event) : undefined;
  const body = decoded ? JSON.stringify(decoded) : `(${type})`;
  return `${when} ${e.namespace} ${e.topic} ${body}`;
}
