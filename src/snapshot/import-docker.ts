/**
 * The `docker save` side of the importer: `manifest.json` lists each image's
 * config file, tags and layer files (`<id>/layer.tar` from docker before 25,
 * `<digest>.tar` from skopeo, `blobs/sha256/<hex>` from docker 25+), none of
 * them with media types or descriptors. Like containerd's import, each entry
 * becomes a Docker schema2 manifest built here (layer media types from the
 * compression the file starts with), stored with the config and layers.
 * Checks: every path stays inside the archive, every file is there, a file
 * named by a digest has that digest, an uncompressed layer is its config's
 * diff_id (compressed ones are checked when unpacked).
 */
import { posix } from 'node:path';
import { invalidArgument } from '../errors.js';
import { formatReference, parseReference } from '../oci/distribution/reference.js';
import { DockerMediaTypes, isImageConfig, parseJsonBlob, type Descriptor, type ImageConfig, type Manifest } from '../oci/image-types.js';
import type { Compression } from './decompress.js';
import { validateDigest, type Digest } from './digest.js';
import { GC_REF_CONTENT, archivePath, type BlobStager } from './import-stage.js';
import type { ImportedImage } from './import.js';

/** What reading the archive left: small top-level files, every other file by path, and links. */
export interface ArchiveFiles {
  small: Map<string, Buffer>;
  paths: Map<string, Digest>;
  /** Symlinks and hard links: path → target path (both inside the archive). */
  links: Map<string, string>;
}

/** One entry of docker's manifest.json. */
interface DockerManifestEntry {
  Config: string;
  RepoTags: string[];
  Layers: string[];
}

const LAYER_TYPES: Record<Compression, string> = {
  none: DockerMediaTypes.Layer,
  gzip: DockerMediaTypes.LayerGzip,
  zstd: DockerMediaTypes.LayerZstd,
};

/** Builds, checks and selects every named image of a docker save archive (one platform per image: there is nothing to choose). */
export async function resolveDockerImages(files: ArchiveFiles, stager: BlobStager, selected: Map<Digest, Record<string, string>>): Promise<ImportedImage[]> {
  const entries = parseDockerManifest(files.small.get('manifest.json') as Buffer);
  const images: ImportedImage[] = [];
  for (const [n, entry] of entries.entries()) {
    const what = `image ${n} of manifest.json${entry.RepoTags.length > 0 ? ` (${entry.RepoTags.join(', ')})` : ''}`;
    const names = entry.RepoTags.map((tag) => {
      try {
        return formatReference(parseReference(tag));
      } catch (err) {
        throw invalidArgument(`${what}: RepoTags entry ${JSON.stringify(tag)} is not an image reference: ${(err as Error).message}`);
      }
    });
    if (names.length === 0) continue; // containerd, too, records only tagged images
    const config = fileDescriptor(files, stager, entry.Config, DockerMediaTypes.Config, `config of ${what}`);
    const image = parseJsonBlob<ImageConfig>(await stager.read(config), `config ${entry.Config} of ${what}`, isImageConfig);
    if (image.rootfs.diff_ids.length !== entry.Layers.length) {
      throw invalidArgument(`${what}: its config lists ${image.rootfs.diff_ids.length} diff_ids for ${entry.Layers.length} layers`);
    }
    const layers = entry.Layers.map((path, i) => {
      const digest = fileDigest(files, path, `layer ${i} of ${what}`);
      const compression = stager.compressionOf(digest);
      const diffId = image.rootfs.diff_ids[i] as string;
      if (compression === 'none' && digest !== diffId) {
        throw invalidArgument(`layer ${path} of ${what} hashes to ${digest}, but its config says ${diffId}`, { fields: { expected: diffId, actual: digest } });
      }
      return { mediaType: LAYER_TYPES[compression], digest, size: stager.sizeOf(digest) as number };
    });
    const manifest: Manifest & { mediaType: string } = { schemaVersion: 2, mediaType: DockerMediaTypes.Manifest, config, layers };
    const staged = await stager.stageBuffer(Buffer.from(JSON.stringify(manifest)));
    const target: Descriptor = { mediaType: DockerMediaTypes.Manifest, digest: staged.digest, size: staged.size };
    const labels: Record<string, string> = { [`${GC_REF_CONTENT}.config`]: config.digest };
    layers.forEach((l, i) => (labels[`${GC_REF_CONTENT}.l.${i}`] = l.digest));
    for (const d of [config, ...layers]) selected.set(validateDigest(d.digest), selected.get(validateDigest(d.digest)) ?? {});
    selected.set(validateDigest(target.digest), labels);
    for (const name of names) images.push({ name, target, manifest: target });
  }
  return images;
}

/** manifest.json, shape-checked: an array of {Config, RepoTags?, Layers}. */
function parseDockerManifest(data: Buffer): DockerManifestEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw invalidArgument(`manifest.json of the docker archive is not valid JSON: ${(err as Error).message}`);
  }
  const ok =
    Array.isArray(doc) &&
    doc.every(
      (e: unknown) =>
        e !== null &&
        typeof e === 'object' &&
        typeof (e as DockerManifestEntry).Config === 'string' &&
        Array.isArray((e as DockerManifestEntry).Layers) &&
        (e as DockerManifestEntry).Layers.every((l) => typeof l === 'string') &&
        ((e as { RepoTags?: unknown }).RepoTags == null || (Array.isArray((e as DockerManifestEntry).RepoTags) && (e as DockerManifestEntry).RepoTags.every((t) => typeof t === 'string'))),
    );
  if (!ok) throw invalidArgument('manifest.json of the docker archive is not a list of {"Config", "RepoTags", "Layers"} entries');
  return (doc as Array<Partial<DockerManifestEntry>>).map((e) => ({ Config: e.Config as string, RepoTags: e.RepoTags ?? [], Layers: e.Layers as string[] }));
}

/** The descriptor of a file named in manifest.json. */
function fileDescriptor(files: ArchiveFiles, stager: BlobStager, path: string, mediaType: string, what: string): Descriptor {
  const digest = fileDigest(files, path, what);
  return { mediaType, digest, size: stager.sizeOf(digest) as number };
}

/**
 * The digest of the file at `path` (following links), checked: inside the
 * archive, present, and equal to the digest its name spells if it is named
 * `<64 hex>.json`, `<64 hex>.tar` or `<64 hex>`.
 */
function fileDigest(files: ArchiveFiles, path: string, what: string): Digest {
  let p = archivePath(path, `${what}: path`);
  for (let hops = 0; files.links.has(p); hops++) {
    if (hops >= 8) throw invalidArgument(`${what}: ${path} is a chain of links more than 8 long`);
    p = files.links.get(p) as string;
  }
  const digest = files.paths.get(p);
  if (digest === undefined) throw invalidArgument(`${what}: ${path} is named in manifest.json but missing from the archive`, { fields: { path } });
  const named = /^(?:sha256:)?([0-9a-f]{64})(?:\.json|\.tar)?$/.exec(posix.basename(p));
  if (named !== null && `sha256:${named[1]}` !== digest) {
    throw invalidArgument(`${what}: ${path} does not match its name: it hashes to ${digest}`, { fields: { expected: `sha256:${named[1]}`, actual: digest } });
  }
  return digest;
}
