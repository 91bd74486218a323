/**
 * Garbage collection of content, snapshots and stale ingests (containerd's
 * gc scheduler + metadata collector, by behaviour). A run: delete expired
 * leases, gather the roots, mark (mark.ts), sweep: each namespace's content
 * records nothing in that namespace refers to, then the shared blobs no
 * namespace has a record of, snapshots, stale ingests. Runs are serialised and
 * exclusive with "holds": an operation that creates something and then
 * references it (a Content.Write commit under a lease, an in-daemon pull or
 * import) takes a hold, and a run waits until no hold is out, so it never
 * sees the thing between its creation and its reference.
 */
import { isRuntimeError } from '../../errors.js';
import type { Digest } from '../../snapshot/digest.js';
import type { Info as SnapshotInfo, Snapshotter } from '../../snapshot/snapshotter.js';
import type { ContainerStore } from '../metadata/containers.js';
import type { NamespacedContentStore } from '../metadata/content.js';
import type { ImageStore } from '../metadata/images.js';
import { leaseExpired, LeaseResourceType, type LeaseStore } from '../metadata/leases.js';
import { Holds } from './holds.js';
import { GC_ROOT_LABEL, liveContentKey, markLive, type Roots } from './mark.js';

/** What one run removed. */
export interface GcResult {
  /** Content records, as `<namespace>/<digest>`. */
  content: string[];
  /** Blob files of the shared store, once no namespace had a record of them. */
  blobs: Digest[];
  snapshots: string[];
  ingests: string[];
  leases: string[];
}

/** The stores a collector works on. */
export interface CollectorOptions {
  images: Pick<ImageStore, 'all'>;
  containers: Pick<ContainerStore, 'all'>;
  leases: LeaseStore;
  content: Pick<NamespacedContentStore, 'forNamespace' | 'allRecords' | 'removeRecord' | 'sweepBlobs' | 'allIngests' | 'abortIngest'>;
  snapshotter: Snapshotter;
  log?: { info(msg: string, fields?: object): void; warn(msg: string, fields?: object): void };
  /** Active snapshots and views younger than this survive without a reference (a client between Prepare and Containers.Create). */
  activeGraceMs?: number;
  /** Ingests nobody leases are removed once untouched this long (default 24 h, so a killed download stays resumable). */
  ingestMaxAgeMs?: number;
  /** How often expired leases are looked for (default 60 s; 0 disables the timer). */
  expiryCheckMs?: number;
}

const DEFAULT_ACTIVE_GRACE_MS = 60_000;
const DEFAULT_INGEST_MAX_AGE_MS = 24 * 3600_000;
const DEFAULT_EXPIRY_CHECK_MS = 60_000;
const SNAPSHOTTER = 'overlayfs';

/** Schedules and runs collections. */
export class GarbageCollector {
  private readonly holds = new Holds();
  private running: Promise<GcResult> | undefined;
  /** A run requested while another is going: it starts when that one ends, and serves every request made meanwhile. */
  private next: Promise<GcResult> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private background: NodeJS.Timeout | undefined;
  private startup: NodeJS.Timeout | undefined;

  constructor(private readonly options: CollectorOptions) {
    const every = options.expiryCheckMs ?? DEFAULT_EXPIRY_CHECK_MS;
    if (every > 0) {
      this.timer = setInterval(() => this.collectIfLeasesExpired(), every);
      this.timer.unref();
    }
  }

  /** Runs `fn` while no collection may start (a collection already running is waited for first). */
  withHold<T>(fn: () => Promise<T>): Promise<T> {
    return this.holds.run(fn, () => this.running);
  }

  /** A collection that starts after this call; resolves with what it removed. */
  collect(): Promise<GcResult> {
    if (this.next !== undefined) return this.next;
    const after = this.running ?? Promise.resolve(undefined);
    const run: Promise<GcResult> = after
      .catch(() => undefined)
      .then(async () => {
        // Holds that arrive meanwhile still get in (the run is not yet `running`), so a hold taken
        // inside another never waits on a run that waits on the outer one.
        await this.holds.drain();
        this.next = undefined;
        this.running = run;
        try {
          return await this.runOnce();
        } finally {
          if (this.running === run) this.running = undefined;
        }
      });
    this.next = run;
    return run;
  }

  /**
   * One collection once the active-snapshot grace has passed: what a crash
   * left (the staging snapshots of an interrupted pull, a create's prepared
   * snapshot without its container) goes even if nothing is deleted later.
   */
  collectAfterStartup(): void {
    const delay = (this.options.activeGraceMs ?? DEFAULT_ACTIVE_GRACE_MS) + 5_000;
    const t = setTimeout(() => this.schedule(), delay);
    t.unref();
    this.startup = t;
  }

  /** Requests a collection soon, without waiting (what a delete without `sync` does). */
  schedule(): void {
    if (this.background !== undefined) return;
    this.background = setTimeout(() => {
      this.background = undefined;
      this.collect().catch((err: unknown) => this.options.log?.warn('garbage collection failed', { error: String(err) }));
    }, 50);
    this.background.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    if (this.background !== undefined) clearTimeout(this.background);
    if (this.startup !== undefined) clearTimeout(this.startup);
    this.timer = undefined;
    this.background = undefined;
  }

  private collectIfLeasesExpired(): void {
    const now = new Date();
    if (this.options.leases.all().some(({ record }) => leaseExpired(record, now))) this.schedule();
  }

  private async runOnce(): Promise<GcResult> {
    const { content, snapshotter, log } = this.options;
    const result: GcResult = { content: [], blobs: [], snapshots: [], ingests: [], leases: this.deleteExpiredLeases() };
    const snapshots = new Map<string, SnapshotInfo>();
    await snapshotter.walk((info) => void snapshots.set(info.name, info));
    const records = content.allRecords();
    const roots = this.roots(snapshots);
    for (const { namespace, info } of records) if (info.labels[GC_ROOT_LABEL] !== undefined) roots.content.push({ namespace, digest: info.digest });
    const live = await markLive(roots, {
      contentLabels: async (namespace, digest) => (await content.forNamespace(namespace).info(digest).catch(ignoreNotFound))?.labels,
      readSmall: async (namespace, digest, maxBytes) => content.forNamespace(namespace).readAll(digest, { maxBytes }).catch(() => undefined),
      snapshot: (key) => snapshots.get(key),
    });

    for (const { namespace, info } of records) {
      if (live.content.has(liveContentKey(namespace, info.digest))) continue;
      if (content.removeRecord(namespace, info.digest)) result.content.push(`${namespace}/${info.digest}`);
    }
    try {
      result.blobs = await content.sweepBlobs();
    } catch (err) {
      log?.warn('gc: cannot remove content blobs', { error: String(err) });
    }
    for (const key of removalOrder(snapshots, live.snapshots)) {
      await snapshotter.remove(key).then(
        () => result.snapshots.push(key),
        (err: unknown) => log?.warn('gc: cannot remove snapshot', { key, error: String(err) }),
      );
    }
    const oldest = Date.now() - (this.options.ingestMaxAgeMs ?? DEFAULT_INGEST_MAX_AGE_MS);
    for (const { namespace, status } of await content.allIngests()) {
      const key = namespace === '' ? status.ref : `${namespace}/${status.ref}`;
      if (live.ingests.has(key) || status.updatedAt.getTime() > oldest) continue;
      // Unavailable: a writer holds it right now, so it is not stale.
      await content.abortIngest(namespace, status.ref).then(() => result.ingests.push(key), () => undefined);
    }
    if (result.content.length + result.blobs.length + result.snapshots.length + result.ingests.length + result.leases.length > 0) {
      log?.info('garbage collected', {
        content: result.content.length,
        blobs: result.blobs.length,
        snapshots: result.snapshots.length,
        ingests: result.ingests.length,
        leases: result.leases.length,
      });
    }
    return result;
  }

  private deleteExpiredLeases(): string[] {
    const now = new Date();
    const removed: string[] = [];
    for (const { namespace, record } of this.options.leases.all()) {
      if (!leaseExpired(record, now)) continue;
      try {
        this.options.leases.delete(namespace, record.id);
        removed.push(`${namespace}/${record.id}`);
      } catch {
        // deleted meanwhile
      }
    }
    return removed;
  }

  /** Images, containers, leases, gc.root labels, and young active snapshots. */
  private roots(snapshots: Map<string, SnapshotInfo>): Roots {
    const roots: Roots = { content: [], snapshots: [], ingests: [] };
    for (const { namespace, record } of this.options.images.all()) {
      roots.content.push({ namespace, digest: record.target.digest, mediaType: record.target.mediaType });
    }
    for (const { namespace, record } of this.options.containers.all()) {
      if (record.snapshotKey && (!record.snapshotter || record.snapshotter === SNAPSHOTTER)) roots.snapshots.push(`${namespace}/${record.snapshotKey}`);
    }
    for (const { namespace, record } of this.options.leases.all()) {
      for (const r of record.resources) {
        if (r.type === LeaseResourceType.content) roots.content.push({ namespace, digest: r.id });
        else if (r.type === LeaseResourceType.ingests) roots.ingests.push(`${namespace}/${r.id}`);
        else if (r.type === `${LeaseResourceType.snapshotsPrefix}${SNAPSHOTTER}`) roots.snapshots.push(`${namespace}/${r.id}`);
      }
    }
    const young = Date.now() - (this.options.activeGraceMs ?? DEFAULT_ACTIVE_GRACE_MS);
    for (const [key, info] of snapshots) {
      if (info.labels[GC_ROOT_LABEL] !== undefined) roots.snapshots.push(key);
      else if (info.kind !== 'committed' && info.created.getTime() > young) roots.snapshots.push(key);
    }
    return roots;
  }
}

/** Dead snapshots, children before parents. */
function removalOrder(all: Map<string, SnapshotInfo>, live: Set<string>): string[] {
  const depth = (key: string): number => {
    let d = 0;
    for (let p = all.get(key)?.parent; p !== undefined && d < 1000; p = all.get(p)?.parent) d++;
    return d;
  };
  return [...all.keys()]
    .filter((k) => !live.has(k))
    .map((k) => ({ k, d: depth(k) }))
    .sort((a, b) => b.d - a.d)
    .map(({ k }) => k);
}

function ignoreNotFound(err: unknown): undefined {
  if (isRuntimeError(err, 'NotFound')) return undefined;
  throw err;
}
