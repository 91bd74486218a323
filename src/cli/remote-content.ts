/**
 * The daemon's content store seen from the CLI: a read-only content Provider
 * over containerd's Content service (Info, Read), so client-side code such as
 * the archive exporter and `images inspect` use the same interface as the
 * daemon does locally, and need no RPC of their own.
 */
import { Readable } from 'node:stream';
import { fromServiceError } from '../grpc-codes.js';
import { invalidArgument } from '../errors.js';
import { MAX_JSON_BLOB_BYTES } from '../oci/image-types.js';
import { fromTimestamp } from '../timestamp.js';
import type { Info, Provider } from '../snapshot/content.js';
import { validateDigest, type Digest } from '../snapshot/digest.js';
import type { DaemonClient } from './client.js';

/** A Provider reading through `client`'s Content service. */
export function remoteContent(client: DaemonClient): Provider {
  const info = async (digest: Digest): Promise<Info> => {
    const res = await client.call('content', 'Info', { digest });
    const i = res.info;
    if (!i) throw invalidArgument(`the daemon returned no info for ${digest}`);
    return { digest: validateDigest(i.digest), size: Number(i.size), createdAt: fromTimestamp(i.created_at), updatedAt: fromTimestamp(i.updated_at), labels: i.labels ?? {} };
  };
  const reader = async (digest: Digest, options: { offset?: number } = {}): Promise<Readable> => {
    const call = client.service('content').Read({ digest, offset: String(options.offset ?? 0), size: '0' });
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        for await (const msg of call as AsyncIterable<{ data: Buffer }>) yield Buffer.from(msg.data);
      } catch (err) {
        throw fromServiceError(err);
      } finally {
        // A reader closed early cancels the stream; the resulting CANCELLED is expected.
        call.on('error', () => undefined);
        call.cancel();
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  };
  const readAll = async (digest: Digest, options: { maxBytes?: number } = {}): Promise<Buffer> => {
    const max = options.maxBytes ?? MAX_JSON_BLOB_BYTES;
    const { size } = await info(digest);
    if (size > max) throw invalidArgument(`blob ${digest} is ${size} bytes, over the ${max} byte limit`, { fields: { digest, size } });
    const parts: Buffer[] = [];
    for await (const chunk of await reader(digest)) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  };
  return { info, reader, readAll };
}
