import type { ImageConfig, Manifest } from '../oci/image-types.js';
import type { Descriptor as WireDescriptor } from '../proto-types.js';
import { readConfig, resolveManifest } from '../snapshot/image-resolve.js';
import type { DaemonClient } from './client.js';

/** Reads a whole blob from the daemon's content store (Content.Read stream). */
export async function readBlob(client: DaemonClient, digest: string): Promise<Buffer> {
  const stream = client.service('content').Read({ digest, offset: '0', size: '0' });
  const chunks: Buffer[] = [];
  for await (const msg of stream as AsyncIterable<{ data: Buffer }>) chunks.push(Buffer.from(msg.data));
  return Buffer.concat(chunks);
}

/**
 * Resolves an image record's target to this platform's manifest and config,
 * with the same resolver the daemon uses, reading over gRPC like `ctr`.
 */
export async function resolveImageConfig(client: DaemonClient, target: WireDescriptor): Promise<{ manifest: Manifest; config: ImageConfig }> {
  const source = (desc: { digest: string }) => readBlob(client, desc.digest);
  const { manifest } = await resolveManifest(source, { mediaType: target.media_type, digest: target.digest, size: Number(target.size) });
  return { manifest, config: await readConfig(source, manifest) };
}
