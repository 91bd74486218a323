/**
 * The snapshotter interface (containerd's core/snapshots/snapshotter.go): a
 * tree of filesystem snapshots addressed by opaque keys. Committed snapshots
 * are immutable parents; active ones are writable and become committed with
 * `commit`; views are read-only. The caller puts namespaces into the keys.
 * The overlayfs implementation is overlay.ts.
 */

/**
 * Label of an active snapshot whose contents are thrown away with it
 * (`ctr-ts run --rm` sets it): the overlay snapshotter then mounts it with
 * overlayfs's `volatile` option, so unmounting skips syncing the whole upper
 * filesystem (tens of ms on a busy disk). podman does the same for `--rm`.
 * After a host crash such a snapshot's contents are undefined.
 */
export const VOLATILE_LABEL = 'io.containerd-ts.snapshot.volatile';

/** What a snapshot is: writable, read-only, or an immutable parent. */
export type Kind = 'active' | 'view' | 'committed';

/** A mount to perform, in the shape containerd's mount.Mount and the gRPC Mount use. */
export interface Mount {
  /** Filesystem type: `overlay` or `bind` here. */
  type: string;
  source: string;
  options: string[];
}

/** Metadata of one snapshot (containerd's snapshots.Info). */
export interface Info {
  /** The key (active/view) or name (committed). */
  name: string;
  /** The committed parent, if any. */
  parent?: string;
  kind: Kind;
  labels: Record<string, string>;
  created: Date;
  updated: Date;
}

/** Disk use of one snapshot's own layer (not its parents). */
export interface Usage {
  /** Bytes of disk blocks used. */
  size: number;
  /** Distinct inodes. */
  inodes: number;
}

/** The operations every snapshotter provides. */
export interface Snapshotter {
  /** Metadata of a snapshot; NotFound if absent. */
  stat(key: string): Promise<Info>;
  /** Replaces the labels of a snapshot (the only mutable field). */
  update(key: string, labels: Record<string, string>): Promise<Info>;
  /** Disk use; computed now for active snapshots, recorded at commit for committed ones. */
  usage(key: string): Promise<Usage>;
  /** The mounts of an active snapshot or view; FailedPrecondition for committed ones. */
  mounts(key: string): Promise<Mount[]>;
  /**
   * Creates a writable snapshot on top of committed `parent`. AlreadyExists if
   * `key` is taken; NotFound if the parent is absent; InvalidArgument if the
   * parent is not committed.
   */
  prepare(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]>;
  /** Like prepare, but read-only and never committable. */
  view(key: string, parent?: string, labels?: Record<string, string>): Promise<Mount[]>;
  /** Turns active snapshot `key` into committed snapshot `name`; `key` disappears. */
  commit(name: string, key: string, labels?: Record<string, string>): Promise<void>;
  /** Deletes a snapshot and its directory; FailedPrecondition if it has children. */
  remove(key: string): Promise<void>;
  /** Calls `fn` for every snapshot, parents not necessarily first. */
  walk(fn: (info: Info) => void | Promise<void>): Promise<void>;
}
