/**
 * The content store: immutable, digest-addressed blobs (layers, manifests,
 * configs) plus in-progress ingests. Small role interfaces, combined into
 * `ContentStore`, as in containerd's core/content/content.go, so a consumer
 * asks only for the role it uses (the applier needs a Provider, the fetcher
 * an Ingester). The implementation rooted at a directory is content-fs.ts.
 */
import type { Readable } from 'node:stream';
import type { Digest } from './digest.js';

/** What the store knows about one committed blob. */
export interface Info {
  digest: Digest;
  size: number;
  createdAt: Date;
  updatedAt: Date;
  labels: Record<string, string>;
}

/** Progress of one ingest, so a client can resume or report it (containerd's Status). */
export interface Status {
  ref: string;
  /** Bytes written so far. */
  offset: number;
  /** Expected total size, when the writer was opened with one. */
  total?: number;
  /** Expected digest, when the writer was opened with one. */
  expected?: Digest;
  startedAt: Date;
  updatedAt: Date;
}

/** The size and digest a writer must end up with; either may be left open. */
export interface Expected {
  digest?: Digest;
  size?: number;
}

/** Options for opening (or resuming) an ingest. */
export interface WriterOptions {
  /** Names the ingest; reopening the same ref resumes it. Any string (it is hashed for the directory name). */
  ref: string;
  expected?: Expected;
}

/** Options for committing an ingest. */
export interface CommitOptions {
  labels?: Record<string, string>;
}

/** Reads committed blobs (containerd's Provider + InfoProvider). */
export interface Provider {
  /** Metadata of a committed blob; NotFound if absent. */
  info(digest: Digest): Promise<Info>;
  /** A stream of the blob from `offset` (default 0); NotFound if absent. */
  reader(digest: Digest, options?: { offset?: number }): Promise<Readable>;
  /** The whole blob in memory; InvalidArgument if larger than `maxBytes` (default 4 MiB). */
  readAll(digest: Digest, options?: { maxBytes?: number }): Promise<Buffer>;
}

/**
 * One in-progress write. Data lands in `ingest/<h(ref)>/data`; `commit`
 * verifies size and sha256 and renames it to `blobs/sha256/<hex>`; on a
 * mismatch the partial data is removed and nothing is committed.
 */
export interface Writer {
  readonly ref: string;
  /** Bytes written so far (resumed ingests start past 0). */
  offset(): number;
  /** sha256 of the bytes written so far. */
  digest(): Digest;
  /** Appends data; InvalidArgument (and the ingest removed) if it would exceed the expected size. */
  write(chunk: Uint8Array): Promise<void>;
  /**
   * Verifies and publishes the blob. `size`/`digest` override the expectation
   * given at open. Mismatch: InvalidArgument naming expected and actual, ingest
   * removed. Blob already present: AlreadyExists, ingest removed.
   */
  commit(expected?: Expected, options?: CommitOptions): Promise<Info>;
  /** Releases the writer and keeps the ingest so the same ref can resume later. */
  close(): Promise<void>;
  /** Releases the writer and removes the ingest. */
  abort(): Promise<void>;
}

/** Starts writes (containerd's Ingester). */
export interface Ingester {
  /**
   * Opens or resumes the ingest `ref`; Unavailable if another writer holds it; AlreadyExists if the expected digest is already committed.
   * A writer may be complete at open (offset = expected size, digest = the expected one): a resumed ingest that has every byte, or,
   * in a namespace's store, a blob another namespace holds (containerd's shared content). Commit it without writing (`isComplete`).
   */
  writer(options: WriterOptions): Promise<Writer>;
}

/** True when `writer` already holds exactly the expected blob, so it is committed without any data. */
export function isComplete(writer: Writer, expected: Expected | undefined): boolean {
  return (
    expected?.digest !== undefined && expected.size !== undefined && writer.offset() === expected.size && writer.digest() === expected.digest
  );
}

/** Looks after ingests that are not held by a writer (containerd's IngestManager). */
export interface IngestManager {
  status(ref: string): Promise<Status>;
  listStatuses(): Promise<Status[]>;
  /** Removes an ingest's partial data; NotFound if there is none. */
  abort(ref: string): Promise<void>;
}

/** Lists, relabels and deletes committed blobs (containerd's Manager). */
export interface Manager {
  list(): Promise<Info[]>;
  /** Replaces the labels of a blob (labels are optional metadata, persisted beside the blob). */
  update(digest: Digest, labels: Record<string, string>): Promise<Info>;
  /** Removes a blob; NotFound if absent. */
  delete(digest: Digest): Promise<void>;
}

/** Everything together: what the daemon hands to the content gRPC service. */
export interface ContentStore extends Provider, Ingester, IngestManager, Manager {}
