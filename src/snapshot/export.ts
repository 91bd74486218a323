/**
 * Writes images as an OCI image layout archive (containerd's
 * images/archive/exporter.go): `blobs/sha256/<hex>`, `oci-layout`,
 * `index.json` with one entry per name (annotated with
 * `io.containerd.image.name` and `org.opencontainers.image.ref.name`), and
 * docker's `manifest.json`, so `ctr images import`, `skopeo copy
 * oci-archive:`, `docker load` and our own import all read it. It only needs
 * a content Provider: the CLI passes one that reads over gRPC
 * (Content.Read), so export needs no RPC of its own. Every blob is verified
 * against its digest while it is copied.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createRequire } from 'node:module';
import type tar from 'tar-stream';
import { internal, invalidArgument, isRuntimeError, notFound } from '../errors.js';
import {
  Annotations,
  IMAGE_LAYOUT_VERSION,
  MediaTypes,
  isIndex,
  isIndexMediaType,
  isManifest,
  isManifestMediaType,
  parseJsonBlob,
  type Descriptor,
  type Index,
  type Manifest,
} from '../oci/image-types.js';
import { formatReference, parseReference } from '../oci/distribution/reference.js';
import { onlyPlatform, selectManifest, type PlatformMatcher } from '../oci/platform.js';
import type { Provider } from './content.js';
import { digestFromHash, newDigester, validateDigest } from './digest.js';
import { providerSource } from './image-resolve.js';

/** One image to export: its record's name and target. */
export interface ExportImage {
  name: string;
  target: Descriptor;
}

/** Export choices; the default is the host platform only, as `ctr images export`. */
export interface ExportOptions {
  /** Which manifests of an index to include (default: the host platform). */
  platform?: PlatformMatcher;
  /** Every manifest of every index (all their content must be in the store). */
  allPlatforms?: boolean;
}

/** What was written, for the CLI to report. */
export interface ExportSummary {
  blobs: number;
  bytes: number;
}

/** One docker `manifest.json` entry (docker save's format). */
interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

/** Plans the archive (failing before a byte is written if content is missing), then streams it to `out`. */
export async function exportOciArchive(provider: Provider, images: ExportImage[], out: Writable, options: ExportOptions = {}): Promise<ExportSummary> {
  if (images.length === 0) throw invalidArgument('nothing to export: name at least one image');
  const plan = await planExport(provider, images, options);
  // Loaded here, not at the top: the CLI bundles this module and every other command would pay tar-stream's load (~20 ms).
  const { pack: newPack } = createRequire(import.meta.url)('tar-stream') as typeof tar;
  const pack = newPack();
  const writing = pipeline(pack, out);
  try {
    let bytes = 0;
    for (const desc of plan.blobs.values()) {
      await addBlob(pack, provider, desc);
      bytes += desc.size;
    }
    await addFile(pack, 'oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: IMAGE_LAYOUT_VERSION })));
    await addFile(pack, 'index.json', Buffer.from(JSON.stringify(plan.index)));
    await addFile(pack, 'manifest.json', Buffer.from(JSON.stringify(plan.dockerManifest)));
    pack.finalize();
    await writing;
    return { blobs: plan.blobs.size, bytes };
  } catch (err) {
    pack.destroy(err as Error);
    await writing.catch(() => undefined);
    throw err;
  }
}

interface ExportPlan {
  /** Every blob, in the order written, keyed by digest (each once). */
  blobs: Map<string, Descriptor>;
  index: Index;
  dockerManifest: DockerManifestEntry[];
}

/** Walks every image down to its layers and decides what goes in. */
async function planExport(provider: Provider, images: ExportImage[], options: ExportOptions): Promise<ExportPlan> {
  const source = providerSource(provider);
  const matcher = options.platform ?? onlyPlatform();
  const blobs = new Map<string, Descriptor>();
  const entries: Descriptor[] = [];
  const docker = new Map<string, DockerManifestEntry>();
  const addManifest = async (desc: Descriptor, imageName: string): Promise<Manifest> => {
    const manifest = parseJsonBlob<Manifest>(await source(desc), `manifest ${desc.digest}`, isManifest);
    for (const child of [manifest.config, ...manifest.layers]) {
      await requireBlob(provider, child, imageName);
      blobs.set(child.digest, child);
    }
    blobs.set(desc.digest, desc);
    return manifest;
  };
  for (const image of images) {
    const { target } = image;
    let primary: { desc: Descriptor; manifest: Manifest };
    if (isIndexMediaType(target.mediaType)) {
      const index = parseJsonBlob<Index>(await source(target), `index ${target.digest}`, isIndex);
      const chosen = selectManifest(index.manifests, matcher);
      const wanted = options.allPlatforms ? index.manifests.filter((m) => isManifestMediaType(m.mediaType)) : chosen ? [chosen] : [];
      if (chosen === undefined && !options.allPlatforms) {
        throw notFound(`image ${image.name} has no manifest for platform ${matcher.description} (export it with --all-platforms or --platform)`, { fields: { image: image.name } });
      }
      const manifests = new Map<string, Manifest>();
      for (const m of wanted) manifests.set(m.digest, await addManifest(m, image.name));
      blobs.set(target.digest, target);
      const first = chosen ?? wanted[0];
      if (first === undefined) throw invalidArgument(`index ${target.digest} of image ${image.name} lists no manifest`);
      primary = { desc: first, manifest: manifests.get(first.digest) as Manifest };
    } else if (isManifestMediaType(target.mediaType)) {
      primary = { desc: target, manifest: await addManifest(target, image.name) };
    } else {
      throw invalidArgument(`image ${image.name} points at ${target.mediaType}, which is neither a manifest nor an index`);
    }
    entries.push({ mediaType: target.mediaType, digest: target.digest, size: target.size, annotations: nameAnnotations(image.name) });
    const entry = docker.get(primary.desc.digest) ?? {
      Config: blobPath(primary.manifest.config.digest),
      RepoTags: [],
      Layers: primary.manifest.layers.map((l) => blobPath(l.digest)),
    };
    const tag = familiarTag(image.name);
    if (tag !== undefined && !entry.RepoTags.includes(tag)) entry.RepoTags.push(tag);
    docker.set(primary.desc.digest, entry);
  }
  return {
    blobs,
    index: { schemaVersion: 2, mediaType: MediaTypes.ImageIndex, manifests: entries },
    dockerManifest: [...docker.values()],
  };
}

/** NotFound naming the image when a blob it needs is not in the store. */
async function requireBlob(provider: Provider, desc: Descriptor, imageName: string): Promise<void> {
  try {
    const info = await provider.info(validateDigest(desc.digest));
    if (info.size !== desc.size) throw invalidArgument(`blob ${desc.digest} of image ${imageName} is ${info.size} bytes, its descriptor says ${desc.size}`);
  } catch (err) {
    if (isRuntimeError(err, 'NotFound')) {
      throw notFound(`blob ${desc.digest} of image ${imageName} is not in the content store (was it pulled for another platform, or with --skip-unpack of a different platform?)`, {
        fields: { digest: desc.digest, image: imageName },
      });
    }
    throw err;
  }
}

/** containerd's annotations: the full name, and the tag as the OCI ref name. */
function nameAnnotations(name: string): Record<string, string> {
  const annotations: Record<string, string> = { [Annotations.ContainerdImageName]: name };
  const tag = tagOf(name);
  annotations[Annotations.RefName] = tag ?? name;
  return annotations;
}

function tagOf(name: string): string | undefined {
  try {
    return parseReference(name).tag;
  } catch {
    return undefined;
  }
}

/** docker's RepoTags form: `busybox:latest`, `127.0.0.1:5000/app:1`; digest-only names have no tag. */
export function familiarTag(name: string): string | undefined {
  let ref;
  try {
    ref = parseReference(name);
  } catch {
    return undefined;
  }
  if (ref.tag === undefined || ref.digest !== undefined) return undefined;
  const full = formatReference(ref);
  if (ref.domain !== 'docker.io') return full;
  const path = ref.path.startsWith('library/') && ref.path.split('/').length === 2 ? ref.path.slice('library/'.length) : ref.path;
  return `${path}:${ref.tag}`;
}

function blobPath(digest: string): string {
  return `blobs/sha256/${validateDigest(digest).slice('sha256:'.length)}`;
}

/** Copies one blob into the tar, checking its size and digest on the way. */
async function addBlob(pack: tar.Pack, provider: Provider, desc: Descriptor): Promise<void> {
  const digest = validateDigest(desc.digest);
  const reader = await provider.reader(digest);
  const entry = pack.entry({ name: blobPath(digest), size: desc.size, mode: 0o444, type: 'file', mtime: new Date(0) });
  const hash = newDigester();
  let seen = 0;
  try {
    for await (const chunk of reader as AsyncIterable<Buffer>) {
      hash.update(chunk);
      seen += chunk.length;
      if (seen > desc.size) break;
      if (!entry.write(chunk)) await once(entry, 'drain');
    }
  } finally {
    reader.destroy();
  }
  const actual = digestFromHash(hash);
  if (seen !== desc.size || actual !== digest) {
    const err = internal(`blob ${digest} in the content store does not match its digest (got ${actual}, ${seen} bytes): the store is damaged`, { fields: { digest, actual } });
    entry.destroy(err);
    throw err;
  }
  await new Promise<void>((resolve, reject) => {
    entry.once('error', reject);
    entry.end(resolve);
  });
}

function addFile(pack: tar.Pack, name: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    pack.entry({ name, size: data.length, mode: 0o444, mtime: new Date(0) }, data, (err) => (err ? reject(err) : resolve()));
  });
}
