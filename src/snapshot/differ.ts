/**
 * The differ interface (containerd's core/diff Comparer): turns the
 * difference between two mount sets into a layer blob in the content store.
 * `lower` is the base (a view of the parent), `upper` the changed tree (an
 * active snapshot's mounts, or a view of a committed one). The layer is a
 * tar of what changed: added and modified entries, deletions as `.wh.<name>`
 * whiteouts, directories that hide everything below them as opaque
 * (`<dir>/.wh..wh..opq`), compressed as the media type says. The
 * implementation is walking-differ.ts; what it walks is diff-changes.ts.
 */
import type { Digest } from './digest.js';
import type { Mount } from './snapshotter.js';

/** The label containerd puts on a compressed layer blob: the digest of its uncompressed tar (its diffID). */
export const UNCOMPRESSED_LABEL = 'containerd.io/uncompressed';

/** What to produce and where to write it (containerd's diff.Config). */
export interface DiffOptions {
  /** Layer media type (default OCI tar+gzip); see `diffCompression` for what is accepted. */
  mediaType?: string;
  /** Ingest ref to write under; default a fresh unique one. An existing partial ingest of that ref is started over. */
  ref?: string;
  /** Labels of the committed blob (the uncompressed label is added for compressed layers). */
  labels?: Record<string, string>;
}

/** The committed layer blob (containerd answers Diff with this descriptor). */
export interface DiffDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar: the layer's diffID (equal to `digest` for an uncompressed layer). */
  uncompressed: Digest;
}

/** Computes a layer from two mount sets. */
export interface Comparer {
  /**
   * Writes the layer that turns `lower` into `upper` and commits it.
   * Unimplemented for a media type or mount type it cannot handle, NotFound
   * when a mount's directory does not exist; on any failure no blob is
   * committed and the ingest is removed.
   */
  compare(lower: Mount[], upper: Mount[], options?: DiffOptions): Promise<DiffDescriptor>;
}

/** Reads all extended attributes of a path without following a symlink (the native addon's llistxattr/lgetxattr). */
export type XattrReader = (path: string) => Array<[string, Buffer]>;
