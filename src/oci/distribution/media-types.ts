/**
 * Which manifest media types we ask registries for and how a response's
 * Content-Type is read: OCI and Docker schema2 manifests and indexes are
 * understood; schema1 is refused with a clear message; a generic type
 * (application/json, none) is decided from the document itself.
 */
import { invalidArgument } from '../../errors.js';
import { DockerMediaTypes, MediaTypes, isIndexMediaType, isManifestMediaType } from '../image-types.js';

/** The Accept header for manifests, most specific first (as containerd sends it). */
export const MANIFEST_ACCEPT = [
  MediaTypes.ImageIndex,
  DockerMediaTypes.ManifestList,
  MediaTypes.ImageManifest,
  DockerMediaTypes.Manifest,
  '*/*;q=0.8',
].join(', ');

const SCHEMA1 = new Set(['application/vnd.docker.distribution.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v1+prettyjws']);

/** The media type without parameters, lower case: `application/json; charset=utf-8` → `application/json`. */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** True for the four manifest/index types we can pull. */
export function isKnownManifestType(mediaType: string): boolean {
  return isIndexMediaType(mediaType) || isManifestMediaType(mediaType);
}

/** Throws InvalidArgument for Docker schema1 (deprecated, unsigned content we cannot verify the same way). */
export function rejectSchema1(mediaType: string, what: string): void {
  if (SCHEMA1.has(mediaType)) {
    throw invalidArgument(`${what} is a Docker schema 1 manifest (${mediaType}); only schema 2 and OCI images can be pulled`, { fields: { mediaType } });
  }
}

/**
 * The media type of a fetched manifest document: the Content-Type when it
 * names a known type, else the document's own `mediaType`, else its shape
 * (`manifests` → index, `config` → manifest). Non-JSON is InvalidArgument.
 */
export function manifestMediaType(contentType: string | undefined, data: Buffer, what: string): string {
  const header = bareMediaType(contentType);
  rejectSchema1(header, what);
  if (isKnownManifestType(header)) return header;
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch {
    throw invalidArgument(`${what} is not JSON (Content-Type ${JSON.stringify(header || 'none')})`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw invalidArgument(`${what} is not a JSON object`);
  const d = doc as { mediaType?: unknown; manifests?: unknown; config?: unknown; schemaVersion?: unknown };
  if (typeof d.mediaType === 'string') {
    rejectSchema1(d.mediaType, what);
    if (isKnownManifestType(d.mediaType)) return d.mediaType;
  }
  if (d.schemaVersion === 1) rejectSchema1(SCHEMA1.values().next().value as string, what);
  if (Array.isArray(d.manifests)) return MediaTypes.ImageIndex;
  if (d.config !== undefined) return MediaTypes.ImageManifest;
  throw invalidArgument(`${what} is neither an image index nor a manifest (Content-Type ${JSON.stringify(header || 'none')})`);
}
