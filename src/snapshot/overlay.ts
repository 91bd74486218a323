/**
 * The overlayfs snapshotter (containerd's plugins/snapshots/overlay): each
 * snapshot is `<root>/snapshots/<id>/{fs,work}`; metadata lives in the LMDB
 * database the caller passes. A committed-parent chain becomes
 * `lowerdir=<nearest>:...:<base>`, an active snapshot adds upperdir/workdir;
 * a parentless active snapshot is an rw bind of its fs dir and a
 * single-parent view an ro bind of the parent's fs dir.
 */
import { chownSync, existsSync, lstatSync, mkdirSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { Database, Key } from 'lmdb';
import { failedPrecondition, internal, invalidArgument } from '../errors.js';
import { diskUsage } from './disk-usage.js';
import { SnapshotMetadata, toInfo, type SnapshotRecord } from './overlay-store.js';
import { VOLATILE_LABEL, type Info, type Mount, type Snapshotter, type Usage } from './snapshotter.js';

/** Constructor options: where snapshot directories live and the metadata database. */
export interface OverlayOptions {
  root: string;
  db: Database<unknown, Key>;
}

/** A removed snapshot's directory while it is being deleted: no record's id, so cleanup() takes it. */
const REMOVING_PREFIX = 'removing-';

/** containerd adds `index=off` whenever the kernel has the overlay index feature, so lowers can be shared. */
const INDEX_PARAM = '/sys/module/overlay/parameters/index';

/** A Snapshotter backed by overlayfs directories and LMDB metadata. */
export class OverlaySnapshotter implements Snapshotter {
  private readonly meta: SnapshotMetadata;
  private readonly snapshotsDir: string;
  private readonly inFlight = new Set<number>();
  /** Deletions running after remove() answered, by directory name. */
  private readonly removals = new Map<string, Promise<void>>();
  private readonly indexOff: boolean;

  constructor(options: OverlayOptions) {
    if (!isAbsolute(options.root)) throw invalidArgument(`overlay snapshotter root must be an absolute path, got ${JSON.stringify(options.root)}`);
    this.meta = new SnapshotMetadata(options.db);
    this.snapshotsDir = join(options.root, 'snapshots');
    mkdirSync(this.snapshotsDir, { recursive: true, mode: 0o700 });
    this.indexOff = existsSync(INDEX_PARAM);
  }

  /** The directory of snapshot `id` (its fs dir is the upper layer / bind source). */
  private dir(id: number): string {
    return join(this.snapshotsDir, String(id));
  }

  private fsDir(id: number): string {
    return join(this.dir(id), 'fs');
  }

  private workDir(id: number): string {
    return join(this.dir(id), 'work');
  }

  async stat(key: string): Promise<Info> {
    return toInfo(key, this.meta.mustGet(key));
  }

  async update(key: string, labels: Record<string, string>): Promise<Info> {
    return toInfo(key, this.meta.setLabels(key, { ...labels }));
  }

  async usage(key: string): Promise<Usage> {
    const r = this.meta.mustGet(key);
    if (r.kind === 'committed' && r.usage !== undefined) return r.usage;
    return diskUsage(this.fsDir(r.id));
  }

  async mounts(key: string): Promise<Mount[]> {
    const r = this.meta.mustGet(key);
    if (r.kind === 'committed') throw failedPrecondition(`snapshot ${key} is committed; only active snapshots and views have mounts`, { fields: { key } });
    return this.mountsOf(r);
  }

  prepare(key: string, parent?: string, labels: Record<string, string> = {}): Promise<Mount[]> {
    return this.create('active', key, parent, labels);
  }

  view(key: string, parent?: string, labels: Record<string, string> = {}): Promise<Mount[]> {
    return this.create('view', key, parent, labels);
  }

  async commit(name: string, key: string, labels?: Record<string, string>): Promise<void> {
    const r = this.meta.mustGet(key);
    if (r.kind !== 'active') throw failedPrecondition(`snapshot ${key} is a ${r.kind} snapshot, only active ones can be committed`, { fields: { key } });
    const usage = await diskUsage(this.fsDir(r.id));
    this.meta.commit(name, key, usage, labels === undefined ? undefined : { ...labels });
  }

  async remove(key: string): Promise<void> {
    const r = this.meta.remove(key);
    // Renamed out of the way at once and deleted after the answer: a container's
    // upper may hold many files, and even an empty one costs a run --rm ~6 ms.
    // A deletion a crash interrupted is finished by cleanup().
    const name = `${REMOVING_PREFIX}${r.id}`;
    const doomed = join(this.snapshotsDir, name);
    try {
      await rename(this.dir(r.id), doomed);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw internal(`snapshot ${key} removed from metadata but its directory could not be moved away (cleanup() retries)`, {
        cause: err,
        fields: { key, id: r.id },
      });
    }
    const removal = rm(doomed, { recursive: true, force: true })
      .catch(() => undefined)
      .then(() => void this.removals.delete(name));
    this.removals.set(name, removal);
  }

  /** Resolves once the deletions `remove` left running have finished. */
  async settled(): Promise<void> {
    await Promise.all([...this.removals.values()]);
  }

  async walk(fn: (info: Info) => void | Promise<void>): Promise<void> {
    for (const { key, record } of this.meta.list()) await fn(toInfo(key, record));
  }

  /** Deletes snapshot directories no record refers to (left by a crash between steps). */
  async cleanup(): Promise<string[]> {
    const live = new Set(this.meta.list().map(({ record }) => String(record.id)));
    for (const id of this.inFlight) live.add(String(id));
    const removed: string[] = [];
    for (const name of await readdir(this.snapshotsDir)) {
      if (live.has(name) || this.removals.has(name)) continue;
      const path = join(this.snapshotsDir, name);
      await rm(path, { recursive: true, force: true });
      removed.push(path);
    }
    return removed;
  }

  /**
   * Directory first, record second: a crash in between leaves only an orphan
   * directory (removed by cleanup), never a record without its directory.
   */
  private async create(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Record<string, string>): Promise<Mount[]> {
    const id = this.meta.allocateId();
    this.inFlight.add(id);
    try {
      // Synchronous: five metadata operations on a local disk take microseconds each,
      // where a round trip through libuv's pool each took up to a millisecond under load.
      mkdirSync(this.dir(id), { mode: 0o700 });
      mkdirSync(this.fsDir(id), { mode: 0o755 });
      if (kind === 'active') mkdirSync(this.workDir(id), { mode: 0o711 });
      const parentRecord = parent === undefined ? undefined : this.meta.get(parent);
      if (parentRecord !== undefined) {
        // The upper dir's root takes the owner of the lower root, as containerd does.
        const st = lstatSync(this.fsDir(parentRecord.id));
        chownSync(this.fsDir(id), st.uid, st.gid);
      }
      const record = this.meta.create(key, kind, id, parent, { ...labels });
      return this.mountsOf(record);
    } catch (err) {
      await rm(this.dir(id), { recursive: true, force: true }).catch(() => undefined);
      throw err;
    } finally {
      this.inFlight.delete(id);
    }
  }

  private mountsOf(r: SnapshotRecord): Mount[] {
    const parents = this.meta.parentIds(r);
    if (parents.length === 0) {
      return [{ type: 'bind', source: this.fsDir(r.id), options: ['rbind', r.kind === 'view' ? 'ro' : 'rw'] }];
    }
    if (r.kind === 'view' && parents.length === 1) {
      return [{ type: 'bind', source: this.fsDir(parents[0] as number), options: ['rbind', 'ro'] }];
    }
    const options: string[] = this.indexOff ? ['index=off'] : [];
    if (r.kind === 'active') options.push(`workdir=${this.workDir(r.id)}`, `upperdir=${this.fsDir(r.id)}`);
    if (r.kind === 'active' && r.labels[VOLATILE_LABEL] === 'true') options.push('volatile');
    options.push(`lowerdir=${parents.map((id) => this.fsDir(id)).join(':')}`);
    return [{ type: 'overlay', source: 'overlay', options }];
  }
}
