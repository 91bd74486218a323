import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { closeOnExecUnder } from '../../shim/native.js';

/**
 * The single LMDB environment under the root dir. Each store gets its own
 * named database; keys are `<namespace>/<name>` so a namespace's records sit
 * together and a prefix range lists them. Every multi-key change runs in
 * `transactionSync`, so a crash never leaves half of one.
 */
export class MetadataDb {
  readonly root: RootDatabase;
  readonly namespaces: Database<NamespaceRecord, string>;
  readonly images: Database<ImageRecord, string>;
  readonly containers: Database<ContainerRecord, string>;
  readonly snapshots: Database;
  readonly leases: Database<LeaseRecord, string>;
  /** Each namespace's content records (`<namespace>/<digest>`); the blobs themselves are in the shared content directory. */
  readonly content: Database<ContentRecord, string>;
  /** Versions of the stores' layouts, so a migration runs once (`content`: see metadata/content.ts). */
  readonly schema: Database<number, string>;

  constructor(rootDir: string) {
    const dir = path.join(rootDir, 'metadata');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.root = open({ path: path.join(dir, 'meta.lmdb'), maxDbs: 16 });
    this.namespaces = this.root.openDB<NamespaceRecord, string>({ name: 'namespaces' });
    this.images = this.root.openDB<ImageRecord, string>({ name: 'images' });
    this.containers = this.root.openDB<ContainerRecord, string>({ name: 'containers' });
    this.snapshots = this.root.openDB({ name: 'snapshots' });
    this.leases = this.root.openDB<LeaseRecord, string>({ name: 'leases' });
    this.content = this.root.openDB<ContentRecord, string>({ name: 'content' });
    this.schema = this.root.openDB<number, string>({ name: 'schema' });
    // Shims and runc must not inherit the environment's descriptors.
    closeOnExecUnder(dir);
  }

  /** Runs `fn` as one write transaction. */
  transaction<T>(fn: () => T): T {
    return this.root.transactionSync(fn);
  }

  async close(): Promise<void> {
    await this.root.close();
  }
}

/** Key of a record inside a namespace. */
export const nsKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** Range options listing every record of one namespace. */
export const nsRange = (namespace: string) => ({ start: `${namespace}/`, end: `${namespace}/\uffff` });

/** A protobuf Any kept as bytes: specs and runtime options are stored exactly as clients sent them. */
export interface AnyRecord {
  typeUrl: string;
  value: Buffer;
}

export interface NamespaceRecord {
  name: string;
  labels: Record<string, string>;
}

export interface DescriptorRecord {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface ImageRecord {
  name: string;
  labels: Record<string, string>;
  target: DescriptorRecord;
  createdAt: string;
  updatedAt: string;
}

export interface ContainerRecord {
  id: string;
  labels: Record<string, string>;
  image: string;
  runtime: { name: string; options?: AnyRecord };
  spec?: AnyRecord;
  snapshotter: string;
  snapshotKey: string;
  createdAt: string;
  updatedAt: string;
  extensions: Record<string, AnyRecord>;
}

/** One resource a lease keeps alive: `content` (a digest), `snapshots/<snapshotter>` (a key) or `ingests` (a ref). */
export interface LeaseResourceRecord {
  type: string;
  id: string;
}

export interface LeaseRecord {
  id: string;
  labels: Record<string, string>;
  createdAt: string;
  resources: LeaseResourceRecord[];
}

/** A namespace's record of one blob (containerd's metadata content bucket): what Info answers in that namespace. */
export interface ContentRecord {
  size: number;
  createdAt: string;
  updatedAt: string;
  labels: Record<string, string>;
}
