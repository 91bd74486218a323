/**
 * Imports an OCI image layout archive (`oci-layout`, `index.json`,
 * `blobs/sha256/*`; what `ctr images import` and `skopeo copy oci-archive:`
 * read) into the content store. Every blob is verified against the digest in
 * its file name; references are checked; then everything is committed at
 * once. Any failure (bad blob, truncated archive, missing blob) commits
 * nothing and leaves no ingest behind. Blobs that were already in the store
 * before the import are never touched.
 */
import type { Readable } from 'node:stream';
import { invalidArgument } from '../errors.js';
import {
  Annotations,
  IMAGE_LAYOUT_VERSION,
  isImageConfig,
  isIndex,
  MAX_JSON_BLOB_BYTES,
  parseJsonBlob,
  type Descriptor,
  type ImageConfig,
  type ImageLayout,
  type Index,
} from '../oci/image-types.js';
import { onlyPlatform, type PlatformMatcher } from '../oci/platform.js';
import type { ContentStore } from './content.js';
import { decompressStream } from './decompress.js';
import { digestFromHex } from './digest.js';
import { resolveManifest } from './image-resolve.js';
import { BlobStager } from './import-stage.js';
import { forEachTarEntry } from './tar-entries.js';

/** One named image found in the archive. */
export interface ImportedImage {
  name: string;
  /** The index.json entry: what an image record should point at (may be a multi-platform index). */
  target: Descriptor;
  /** The single-platform manifest `target` resolves to for the wanted platform. */
  manifest: Descriptor;
}

/** What an import produced. */
export interface ImportResult {
  images: ImportedImage[];
}

/** Import tunables. */
export interface ImportOptions {
  /** Which platform to resolve and verify (default: the host, linux/amd64). */
  platform?: PlatformMatcher;
  /** Prefix for tag-only ref names, as `ctr images import --base-name` (default `import-YYYY-MM-DD`). */
  baseName?: string;
}

/** Reads the archive, verifies it, commits its blobs, and names its images. */
export async function importOciArchive(stream: Readable, content: ContentStore, options: ImportOptions = {}): Promise<ImportResult> {
  const stager = new BlobStager(content);
  try {
    const { layout, index } = await readArchive(stream, stager);
    checkLayout(layout);
    const images = await resolveImages(index, stager, options);
    await stager.commitAll();
    return { images };
  } finally {
    await stager.abortAll();
  }
}

/** Streams the tar: blobs go to the stager, the two small files are kept. */
async function readArchive(stream: Readable, stager: BlobStager): Promise<{ layout: Buffer; index: Buffer }> {
  let layout: Buffer | undefined;
  let index: Buffer | undefined;
  const plain = await decompressStream(stream, 'image archive');
  await forEachTarEntry(
    plain,
    async (header, body) => {
      if (header.type !== 'file' && header.type !== 'contiguous-file') return;
      const name = header.name.replace(/^(\.\/)+/, '').replace(/\/+/g, '/');
      if (name === 'oci-layout') layout = await readSmall(body, header.size, name);
      else if (name === 'index.json') index = await readSmall(body, header.size, name);
      else {
        const m = /^blobs\/sha256\/([^/]+)$/.exec(name);
        if (m === null) return;
        const digest = digestFromHex(m[1] as string);
        if (stager.has(digest)) return;
        await stager.stage(digest, header.size, body);
      }
    },
    'image archive',
  );
  if (layout === undefined) throw invalidArgument('image archive has no oci-layout file: not an OCI image layout (docker save archives are not supported)');
  if (index === undefined) throw invalidArgument('image archive has no index.json');
  return { layout, index };
}

function checkLayout(data: Buffer): void {
  const layout = parseJsonBlob<ImageLayout>(data, 'oci-layout');
  if (layout.imageLayoutVersion !== IMAGE_LAYOUT_VERSION) {
    throw invalidArgument(`unsupported OCI image layout version ${JSON.stringify(layout.imageLayoutVersion)}`);
  }
}

/** Checks every index.json entry down to its layers and names the images. */
async function resolveImages(indexData: Buffer, stager: BlobStager, options: ImportOptions): Promise<ImportedImage[]> {
  const index = parseJsonBlob<Index>(indexData, 'index.json', isIndex);
  const matcher = options.platform ?? onlyPlatform();
  const images: ImportedImage[] = [];
  for (const target of index.manifests) {
    const { descriptor, manifest } = await resolveManifest((d) => stager.read(d), target, matcher);
    const config = parseJsonBlob<ImageConfig>(await stager.read(manifest.config), `image config ${manifest.config.digest}`, isImageConfig);
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw invalidArgument(`image config ${manifest.config.digest} lists ${config.rootfs.diff_ids.length} diff_ids for ${manifest.layers.length} layers`);
    }
    for (const layer of manifest.layers) stager.requirePresent(layer);
    const name = imageName(target.annotations ?? {}, options.baseName);
    if (name !== undefined) images.push({ name, target, manifest: descriptor });
  }
  return images;
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
