/**
 * OCI image-spec (v1.1) types and media types, with Docker schema2
 * equivalents, plus a size-capped JSON parser for blobs. These are the shapes
 * the content store, importer, unpacker and distribution client share.
 */
import { invalidArgument } from '../errors.js';

/** OCI media types (image-spec specs-go/v1/mediatype.go). */
export const MediaTypes = {
  Descriptor: 'application/vnd.oci.descriptor.v1+json',
  ImageLayout: 'application/vnd.oci.layout.header.v1+json',
  ImageIndex: 'application/vnd.oci.image.index.v1+json',
  ImageManifest: 'application/vnd.oci.image.manifest.v1+json',
  ImageConfig: 'application/vnd.oci.image.config.v1+json',
  Layer: 'application/vnd.oci.image.layer.v1.tar',
  LayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  LayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  LayerNonDistributable: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  LayerNonDistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  LayerNonDistributableZstd: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  Empty: 'application/vnd.oci.empty.v1+json',
} as const;

/** Docker image manifest v2 schema 2 media types (as containerd's images/mediatypes.go). */
export const DockerMediaTypes = {
  ManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  Manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  Config: 'application/vnd.docker.container.image.v1+json',
  Layer: 'application/vnd.docker.image.rootfs.diff.tar',
  LayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  LayerZstd: 'application/vnd.docker.image.rootfs.diff.tar.zstd',
  LayerForeignGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  LayerForeign: 'application/vnd.docker.image.rootfs.foreign.diff.tar',
} as const;

/** Annotation keys the importer and exporter read. */
export const Annotations = {
  RefName: 'org.opencontainers.image.ref.name',
  ContainerdImageName: 'io.containerd.image.name',
} as const;

/** The image layout version written in `oci-layout`. */
export const IMAGE_LAYOUT_VERSION = '1.0.0';

/** Largest JSON blob (manifest, index, config) accepted into memory. */
export const MAX_JSON_BLOB_BYTES = 4 * 1024 * 1024;

/** The platform a manifest is built for (image-spec specs-go/v1/descriptor.go). */
export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
}

/** Points at content by digest (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  data?: string;
  platform?: Platform;
  artifactType?: string;
}

/** A list of manifests, typically one per platform (image-index.md). */
export interface Index {
  schemaVersion: number;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** One image for one platform: a config and its layers (manifest.md). */
export interface Manifest {
  schemaVersion: number;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** The runtime defaults an image carries (config.md, `config` object). */
export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  ArgsEscaped?: boolean;
}

/** The ordered uncompressed layer digests (config.md, `rootfs`). */
export interface RootFS {
  type: string;
  diff_ids: string[];
}

/** One history entry of an image config. */
export interface History {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

/** The image configuration blob (config.md). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageRuntimeConfig;
  rootfs: RootFS;
  history?: History[];
}

/** The `oci-layout` file of an image layout. */
export interface ImageLayout {
  imageLayoutVersion: string;
}

/** True for index-like media types (OCI index or Docker manifest list). */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType === MediaTypes.ImageIndex || mediaType === DockerMediaTypes.ManifestList;
}

/** True for single-platform manifest media types (OCI or Docker schema2). */
export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType === MediaTypes.ImageManifest || mediaType === DockerMediaTypes.Manifest;
}

/**
 * Parses a JSON blob after checking its size; `check` may validate the shape.
 * Non-JSON, oversize (> 4 MiB) or shape failures are InvalidArgument, so a
 * hostile registry or archive cannot make us buffer or trust garbage.
 */
export function parseJsonBlob<T>(data: Uint8Array | string, what = 'JSON blob', check?: (value: unknown) => value is T): T {
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  if (size > MAX_JSON_BLOB_BYTES) {
    throw invalidArgument(`${what} is ${size} bytes, over the ${MAX_JSON_BLOB_BYTES} byte limit`, { fields: { size } });
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`${what} is not a JSON object`);
  if (check !== undefined && !check(value)) throw invalidArgument(`${what} does not have the expected structure`);
  return value as T;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Shape check for a descriptor (digest string, size number, mediaType string). */
export function isDescriptor(v: unknown): v is Descriptor {
  return (
    isObject(v) &&
    typeof v.mediaType === 'string' &&
    typeof v.digest === 'string' &&
    typeof v.size === 'number' &&
    Number.isSafeInteger(v.size) &&
    v.size >= 0
  );
}

/** Shape check for an image index. */
export function isIndex(v: unknown): v is Index {
  return isObject(v) && v.schemaVersion === 2 && Array.isArray(v.manifests) && v.manifests.every(isDescriptor);
}

/** Shape check for an image manifest. */
export function isManifest(v: unknown): v is Manifest {
  return isObject(v) && v.schemaVersion === 2 && isDescriptor(v.config) && Array.isArray(v.layers) && v.layers.every(isDescriptor);
}

/** Shape check for an image config (only what the runtime relies on). */
export function isImageConfig(v: unknown): v is ImageConfig {
  if (!isObject(v) || !isObject(v.rootfs) || !Array.isArray(v.rootfs.diff_ids)) return false;
  if (!v.rootfs.diff_ids.every((d) => typeof d === 'string')) return false;
  if (v.config !== undefined && v.config !== null && !isObject(v.config)) return false;
  return typeof v.architecture === 'string' && typeof v.os === 'string';
}
