/**
 * Where the filesystem content store keeps things, in one place so the store,
 * its writer and any future GC agree:
 *   <root>/blobs/sha256/<hex>          committed blobs (mode 0444)
 *   <root>/labels/sha256/<hex>.json    optional labels of a blob
 *   <root>/ingest/<sha256(ref)>/data   partial data of an ingest
 *   <root>/ingest/<sha256(ref)>/meta.json  ref, start time, expectations
 * The ingest directory is named by the hash of the ref (as containerd does),
 * because refs are arbitrary strings that may contain '/' or be very long.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { parseDigest, type Digest } from './digest.js';

/** Paths of one content store root; pure functions, no I/O. */
export class ContentLayout {
  constructor(readonly root: string) {}

  /** The directory holding committed sha256 blobs. */
  blobsDir(): string {
    return join(this.root, 'blobs', 'sha256');
  }

  /** The file of a committed blob. */
  blobPath(digest: Digest): string {
    return join(this.blobsDir(), parseDigest(digest).hex);
  }

  /** The directory holding label files. */
  labelsDir(): string {
    return join(this.root, 'labels', 'sha256');
  }

  /** The label file of a blob. */
  labelsPath(digest: Digest): string {
    return join(this.labelsDir(), `${parseDigest(digest).hex}.json`);
  }

  /** The directory holding all ingests. */
  ingestRoot(): string {
    return join(this.root, 'ingest');
  }

  /** The directory of one ingest, named by sha256(ref). */
  ingestDir(ref: string): string {
    return join(this.ingestRoot(), createHash('sha256').update(ref).digest('hex'));
  }
}

/** What meta.json of an ingest records. */
export interface IngestMeta {
  ref: string;
  startedAt: string;
  total?: number;
  expected?: Digest;
}
