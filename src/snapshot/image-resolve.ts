/**
 * Reads an image's JSON documents out of a content store: follows an index
 * to the manifest for the wanted platform, and loads the config. Every
 * document is size-checked against its descriptor and shape-checked.
 */
import { invalidArgument, notFound } from '../errors.js';
import {
  isImageConfig,
  isIndex,
  isIndexMediaType,
  isManifest,
  isManifestMediaType,
  parseJsonBlob,
  MAX_JSON_BLOB_BYTES,
  type Descriptor,
  type ImageConfig,
  type Index,
  type Manifest,
} from '../oci/image-types.js';
import { onlyPlatform, selectManifest, type PlatformMatcher } from '../oci/platform.js';
import type { Provider } from './content.js';
import { validateDigest } from './digest.js';

/** Where JSON blobs come from: the store, or (for an import in progress) bytes not yet committed. */
export type BlobSource = (desc: Descriptor) => Promise<Buffer>;

/** A BlobSource reading committed content, checking the descriptor's size. */
export function providerSource(provider: Provider): BlobSource {
  return async (desc) => {
    const data = await provider.readAll(validateDigest(desc.digest), { maxBytes: MAX_JSON_BLOB_BYTES });
    if (data.length !== desc.size) {
      throw invalidArgument(`blob ${desc.digest} is ${data.length} bytes, its descriptor says ${desc.size}`, { fields: { digest: desc.digest } });
    }
    return data;
  };
}

/** A manifest together with the descriptor that points at it. */
export interface ResolvedManifest {
  descriptor: Descriptor;
  manifest: Manifest;
}

/** How deep nested indexes may go before we call it a loop. */
const MAX_INDEX_DEPTH = 4;

/**
 * Resolves `target` (a manifest, or an index of manifests) to the manifest
 * for `matcher` (default: the host platform, linux/amd64). NotFound when an
 * index has no matching entry.
 */
export async function resolveManifest(source: BlobSource, target: Descriptor, matcher: PlatformMatcher = onlyPlatform()): Promise<ResolvedManifest> {
  let desc = target;
  for (let depth = 0; depth <= MAX_INDEX_DEPTH; depth++) {
    const data = await source(desc);
    const doc = parseJsonBlob<Record<string, unknown>>(data, `document ${desc.digest}`);
    const kind = documentKind(desc.mediaType, doc);
    if (kind === 'manifest') {
      if (!isManifest(doc)) throw invalidArgument(`manifest ${desc.digest} is malformed`, { fields: { digest: desc.digest } });
      return { descriptor: desc, manifest: doc };
    }
    if (!isIndex(doc)) throw invalidArgument(`index ${desc.digest} is malformed`, { fields: { digest: desc.digest } });
    const chosen = selectManifest((doc as Index).manifests, matcher);
    if (chosen === undefined) {
      throw notFound(`index ${desc.digest} has no manifest for platform ${matcher.description}`, { fields: { digest: desc.digest } });
    }
    desc = chosen;
  }
  throw invalidArgument(`indexes nested deeper than ${MAX_INDEX_DEPTH} levels at ${target.digest}`);
}

/** Loads and checks the config of a manifest. */
export async function readConfig(source: BlobSource, manifest: Manifest): Promise<ImageConfig> {
  return parseConfig(await source(manifest.config), manifest.config.digest);
}

/** The config of a manifest as stored, checked to be one (for a client that parses it again). */
export async function readConfigBytes(source: BlobSource, manifest: Manifest): Promise<Buffer> {
  const data = await source(manifest.config);
  parseConfig(data, manifest.config.digest);
  return data;
}

/** Parses and checks an image config document; `what` names it in errors (its digest, say). */
export function parseConfig(data: Buffer, what: string): ImageConfig {
  return parseJsonBlob<ImageConfig>(data, `image config ${what}`, isImageConfig);
}

function documentKind(mediaType: string, doc: Record<string, unknown>): 'index' | 'manifest' {
  if (isIndexMediaType(mediaType)) return 'index';
  if (isManifestMediaType(mediaType)) return 'manifest';
  const inner = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (isIndexMediaType(inner) || Array.isArray(doc.manifests)) return 'index';
  if (isManifestMediaType(inner) || doc.config !== undefined) return 'manifest';
  throw invalidArgument(`descriptor media type ${JSON.stringify(mediaType)} is neither an image index nor a manifest`);
}
