/**
 * Imports an image archive into the content store, recognising its format
 * by what it holds: an OCI image layout (`oci-layout`, `index.json`,
 * `blobs/sha256/*`; what `ctr images export` and `skopeo copy oci-archive:`
 * write) or a `docker save` archive (`manifest.json`, `<id>.json` configs,
 * layer tars; see import-docker.ts). Blobs named by digest are verified
 * against the name, every file is hashed, references are checked; then only
 * what the chosen platforms need is committed, at once, with containerd's GC
 * reference labels. Any failure (bad blob, truncated archive, missing blob)
 * commits nothing and leaves no ingest behind. Blobs that were already in the
 * store before the import are never touched (beyond added labels).
 */
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { invalidArgument, isRuntimeError, notFound } from '../errors.js';
import {
  Annotations,
  IMAGE_LAYOUT_VERSION,
  isImageConfig,
  isIndex,
  isIndexMediaType,
  MAX_JSON_BLOB_BYTES,
  parseJsonBlob,
  type Descriptor,
  type ImageConfig,
  type ImageLayout,
  type Index,
  type Manifest,
} from '../oci/image-types.js';
import { onlyPlatform, selectManifest, type PlatformMatcher } from '../oci/platform.js';
import type { ContentStore } from './content.js';
import { decompressStream } from './decompress.js';
import { digestFromHex, validateDigest, type Digest } from './digest.js';
import { resolveManifest } from './image-resolve.js';
import { resolveDockerImages, type ArchiveFiles } from './import-docker.js';
import { BlobStager, GC_REF_CONTENT, archivePath } from './import-stage.js';
import { forEachTarEntry } from './tar-entries.js';
/** One named image found in the archive. */
export interface ImportedImage {
  name: string;
  /** The index.json entry: what an image record should point at (may be a multi-platform index). */
  target: Descriptor;
  /** The single-platform manifest `target` resolves to for the wanted platform (absent only with allPlatforms when none matches). */
  manifest?: Descriptor;
}

/** What an import produced. */
export interface ImportResult {
  format: 'oci' | 'docker';
  images: ImportedImage[];
}

/** Import tunables. */
export interface ImportOptions {
  /** Which platform to resolve, verify and keep (default: the host, linux/amd64). */
  platform?: PlatformMatcher;
  /** Keep every manifest of every index (all must be in the archive), not only the platform's. */
  allPlatforms?: boolean;
  /** Prefix for tag-only ref names, as `ctr images import --base-name` (default `import-YYYY-MM-DD`). */
  baseName?: string;
}

/** Reads the archive (OCI layout or docker save), verifies it, commits what the images need, and names them. */
export async function importImageArchive(stream: Readable, content: ContentStore, options: ImportOptions = {}): Promise<ImportResult> {
  const stager = new BlobStager(content);
  try {
    const files = await readArchive(stream, stager);
    const selected = new Map<Digest, Record<string, string>>();
    let result: ImportResult;
    if (files.small.has('index.json')) {
      const layout = files.small.get('oci-layout');
      if (layout === undefined) throw invalidArgument('image archive has index.json but no oci-layout file: not an OCI image layout');
      checkLayout(layout);
      result = { format: 'oci', images: await resolveImages(files.small.get('index.json') as Buffer, stager, options, selected) };
    } else if (files.small.has('manifest.json')) {
      result = { format: 'docker', images: await resolveDockerImages(files, stager, selected) };
    } else {
      throw invalidArgument('image archive has neither oci-layout and index.json (an OCI image layout) nor manifest.json (a docker save archive)');
    }
    await stager.commitSelected(selected);
    return result;
  } finally {
    await stager.abortAll();
  }
}

/** The OCI-only name, kept for callers that predate docker archives (the format is still detected). */
export const importOciArchive = importImageArchive;

/** Top-level files kept in memory rather than staged as blobs. */
const SMALL_FILES = new Set(['oci-layout', 'index.json', 'manifest.json', 'repositories']);

/** Streams the tar: blobs and other files go to the stager, the few small files are kept, symlinks recorded. */
async function readArchive(stream: Readable, stager: BlobStager): Promise<ArchiveFiles> {
  const files: ArchiveFiles = { small: new Map(), paths: new Map(), links: new Map() };
  const plain = await decompressStream(stream, 'image archive');
  await forEachTarEntry(
    plain,
    async (header, body) => {
      if (!['symlink', 'link', 'file', 'contiguous-file'].includes(header.type ?? '')) return;
      const name = archivePath(header.name, 'archive entry');
      if (header.type === 'symlink' || header.type === 'link') {
        // docker save links a repeated layer to its first copy: `<id2>/layer.tar -> ../<id1>/layer.tar`.
        const target = header.type === 'symlink' ? posix.join(posix.dirname(name), header.linkname ?? '') : (header.linkname ?? '');
        files.links.set(name, archivePath(target, `link ${name}`));
        return;
      }
      if (SMALL_FILES.has(name)) {
        files.small.set(name, await readSmall(body, header.size, name));
        return;
      }
      const m = /^blobs\/sha256\/([^/]+)$/.exec(name);
      if (m !== null) {
        const digest = digestFromHex(m[1] as string);
        if (!stager.has(digest)) await stager.stage(digest, header.size, body);
        files.paths.set(name, digest);
        return;
      }
      files.paths.set(name, await stager.stageFile(header.size, body));
    },
    'image archive',
  );
  return files;
}

function checkLayout(data: Buffer): void {
  const layout = parseJsonBlob<ImageLayout>(data, 'oci-layout');
  if (layout.imageLayoutVersion !== IMAGE_LAYOUT_VERSION) {
    throw invalidArgument(`unsupported OCI image layout version ${JSON.stringify(layout.imageLayoutVersion)}`);
  }
}

/** Checks every index.json entry down to its layers, selects what to keep, and names the images. */
async function resolveImages(indexData: Buffer, stager: BlobStager, options: ImportOptions, selected: Map<Digest, Record<string, string>>): Promise<ImportedImage[]> {
  const index = parseJsonBlob<Index>(indexData, 'index.json', isIndex);
  const matcher = options.platform ?? onlyPlatform();
  const read = (d: Descriptor) => stager.read(d);
  const images: ImportedImage[] = [];
  for (const target of index.manifests) {
    await selectTree(target, stager, matcher, options.allPlatforms === true, selected, 0);
    let manifest: Descriptor | undefined;
    try {
      manifest = (await resolveManifest(read, target, matcher)).descriptor;
    } catch (err) {
      // With allPlatforms an index need not offer this machine's platform: it is stored, not unpacked.
      if (!(options.allPlatforms && isRuntimeError(err, 'NotFound'))) throw err;
    }
    const name = imageName(target.annotations ?? {}, options.baseName);
    if (name !== undefined) images.push({ name, target, ...(manifest ? { manifest } : {}) });
  }
  return images;
}

/**
 * Marks `desc` and what it references for commit: an index's chosen
 * manifests (the platform's, or all), a manifest's config and layers; each
 * checked present with its size, each parent labelled with its children.
 */
async function selectTree(desc: Descriptor, stager: BlobStager, matcher: PlatformMatcher, all: boolean, selected: Map<Digest, Record<string, string>>, depth: number): Promise<void> {
  if (depth > 4) throw invalidArgument(`indexes nested deeper than 4 levels at ${desc.digest}`);
  const digest = validateDigest(desc.digest);
  stager.requirePresent(desc);
  const labels: Record<string, string> = {};
  const doc = parseJsonBlob<Record<string, unknown>>(await stager.read(desc), `document ${digest}`);
  if (isIndexMediaType(desc.mediaType) || Array.isArray(doc.manifests)) {
    const idx = doc as unknown as Index;
    if (!isIndex(idx)) throw invalidArgument(`index ${digest} is malformed`, { fields: { digest } });
    const chosen = all ? everyPlatform(idx) : [selectManifest(idx.manifests, matcher) ?? nestedIndex(idx)].filter((m) => m !== undefined);
    if (chosen.length === 0) throw notFound(`index ${digest} has no manifest for platform ${matcher.description}`, { fields: { digest } });
    for (const child of chosen) {
      labels[`${GC_REF_CONTENT}.m.${idx.manifests.indexOf(child)}`] = child.digest;
      await selectTree(child, stager, matcher, all, selected, depth + 1);
    }
  } else {
    const manifest = doc as unknown as Manifest;
    const config = parseJsonBlob<ImageConfig>(await stager.read(manifest.config), `image config ${manifest.config.digest}`, isImageConfig);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalidArgument(`image config ${manifest.config.digest} lists ${config.rootfs.diff_ids.length} diff_ids for ${manifest.layers.length} layers`);
    }
    selected.set(validateDigest(manifest.config.digest), selected.get(validateDigest(manifest.config.digest)) ?? {});
    labels[`${GC_REF_CONTENT}.config`] = manifest.config.digest;
    manifest.layers.forEach((layer, i) => {
      stager.requirePresent(layer);
      labels[`${GC_REF_CONTENT}.l.${i}`] = layer.digest;
      selected.set(validateDigest(layer.digest), selected.get(validateDigest(layer.digest)) ?? {});
    });
  }
  selected.set(digest, { ...(selected.get(digest) ?? {}), ...labels });
}

/** allPlatforms' choice: entries with a platform and nested indexes (not attestations), or all when none says its platform. */
function everyPlatform(idx: Index): Descriptor[] {
  const platformed = idx.manifests.filter((m) => m.platform !== undefined || isIndexMediaType(m.mediaType));
  return platformed.length > 0 ? platformed : idx.manifests;
}

/** An index nested without a platform (what resolveManifest follows). */
function nestedIndex(idx: Index): Descriptor | undefined {
  return idx.manifests.find((m) => isIndexMediaType(m.mediaType) && m.platform === undefined);
}

/**
 * ctr 1.6's rule: io.containerd.image.name is used as-is; otherwise the OCI
 * ref name, prefixed with the base name when it is only a tag.
 */
export function imageName(annotations: Record<string, string>, baseName?: string): string | undefined {
  const containerdName = annotations[Annotations.ContainerdImageName];
  if (containerdName) return containerdName;
  const ref = annotations[Annotations.RefName];
  if (!ref) return undefined;
  if (/[/:@]/.test(ref)) return ref;
  return `${baseName ?? `import-${new Date().toISOString().slice(0, 10)}`}:${ref}`;
}

async function readSmall(body: AsyncIterable<Buffer>, size: number, name: string): Promise<Buffer> {
  if (size > MAX_JSON_BLOB_BYTES) throw invalidArgument(`${name} is ${size} bytes, over the ${MAX_JSON_BLOB_BYTES} byte limit`);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}
