import { invalidArgument, notFound } from '../errors.js';
import type { ImageConfig, Index, Manifest } from '../oci/image-types.js';
import type { DaemonClient } from './client.js';

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);

/** Reads a whole blob from the daemon's content store (Content.Read stream). */
export async function readBlob(client: DaemonClient, digest: string): Promise<Buffer> {
  const stream = client.service('content').Read({ digest, offset: '0', size: '0' }, client.callMetadata());
  const chunks: Buffer[] = [];
  for await (const msg of stream as AsyncIterable<{ data: Buffer }>) chunks.push(Buffer.from(msg.data));
  return Buffer.concat(chunks);
}

/** Resolves an image record's target to its manifest and config for this platform (linux/amd64). */
export async function resolveImageConfig(client: DaemonClient, target: { digest: string; media_type: string }): Promise<{ manifest: Manifest; config: ImageConfig }> {
  let desc = target;
  for (let depth = 0; INDEX_TYPES.has(desc.media_type); depth++) {
    if (depth > 4) throw invalidArgument('image index nests too deeply');
    const index = JSON.parse((await readBlob(client, desc.digest)).toString('utf8')) as Index;
    const match = index.manifests.find((m) => !m.platform || (m.platform.os === 'linux' && m.platform.architecture === hostArch()));
    if (!match) throw notFound(`image has no manifest for linux/${hostArch()}`);
    desc = { digest: match.digest, media_type: match.mediaType };
  }
  const manifest = JSON.parse((await readBlob(client, desc.digest)).toString('utf8')) as Manifest;
  const config = JSON.parse((await readBlob(client, manifest.config.digest)).toString('utf8')) as ImageConfig;
  return { manifest, config };
}

function hostArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}
