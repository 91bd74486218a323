import { invalidArgument, notFound } from '../../errors.js';
import { isIndexMediaType, isManifestMediaType, parseJsonBlob, type Descriptor, type ImageConfig, type Index, type Manifest } from '../../oci/image-types.js';
import { formatPlatform, hostPlatform, selectManifest } from '../../oci/platform.js';
import type { ContentStore } from '../../snapshot/content.js';
import { validateDigest } from '../../snapshot/digest.js';

const MAX_INDEX_DEPTH = 4;

/** Follows an image target through indexes to this host's manifest and config, all read from the content store. */
export async function resolveImage(content: ContentStore, target: Descriptor): Promise<{ manifestDescriptor: Descriptor; manifest: Manifest; config: ImageConfig }> {
  let desc = target;
  for (let depth = 0; isIndexMediaType(desc.mediaType); depth++) {
    if (depth >= MAX_INDEX_DEPTH) throw invalidArgument(`image index ${target.digest} nests more than ${MAX_INDEX_DEPTH} levels`);
    const index = parseJsonBlob<Index>(await content.readAll(validateDigest(desc.digest)), `index ${desc.digest}`);
    const match = selectManifest(index.manifests ?? []);
    if (!match) throw notFound(`image ${target.digest} has no manifest for ${formatPlatform(hostPlatform())}`);
    desc = match;
  }
  if (!isManifestMediaType(desc.mediaType)) throw invalidArgument(`unsupported image media type "${desc.mediaType}"`);
  const manifest = parseJsonBlob<Manifest>(await content.readAll(validateDigest(desc.digest)), `manifest ${desc.digest}`);
  const config = parseJsonBlob<ImageConfig>(await content.readAll(validateDigest(manifest.config.digest)), `config ${manifest.config.digest}`);
  return { manifestDescriptor: desc, manifest, config };
}
