import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { FsContentStore } from '../snapshot/content-fs.js';
import { OverlaySnapshotter } from '../snapshot/overlay.js';
import type { Snapshotter } from '../snapshot/snapshotter.js';
import type { Comparer } from '../snapshot/differ.js';
import { WalkingDiffer } from '../snapshot/walking-differ.js';
import { listXattrs } from '../shim/native.js';
import { createMachined, type Machined } from '../systemd/machined.js';
import { SystemBus } from '../systemd/bus.js';
import { createSystemd, type Systemd } from '../systemd/systemd.js';
import type { DaemonConfig } from './config.js';
import type { Logger } from './logger.js';
import { ContainerStore } from './metadata/containers.js';
import { NamespacedContentStore } from './metadata/content.js';
import { MetadataDb } from './metadata/db.js';
import { ImageStore } from './metadata/images.js';
import { LeaseStore } from './metadata/leases.js';
import { GarbageCollector } from './gc/collector.js';
import { NamespaceStore } from './metadata/namespaces.js';
import { TaskManager } from './tasks/task-manager.js';
import { EventExchange } from './events/exchange.js';
import { PublishingSnapshotter } from './events/snapshot-events.js';

/**
 * Everything the daemon holds, wired once: metadata stores, content,
 * snapshotter, systemd connection and the task manager. The gRPC layer
 * only looks things up here.
 */
export class Daemon {
  readonly uuid: string;
  readonly images: ImageStore;
  readonly containers: ContainerStore;
  readonly leases: LeaseStore;
  readonly gc: GarbageCollector;
  /** The snapshotter everything but GC uses: it publishes containerd's snapshot events. */
  readonly snapshotter: Snapshotter;
  readonly bus: SystemBus;
  readonly systemd: Systemd;
  readonly machined: Machined;
  readonly tasks: TaskManager;
  readonly events = new EventExchange();
  private readonly overlay: OverlaySnapshotter;

  private constructor(
    readonly config: DaemonConfig,
    readonly log: Logger,
    readonly db: MetadataDb,
    readonly namespaces: NamespaceStore,
    /** Content as namespaces see it: `content.forNamespace(ns)` is the store of a request in `ns`. */
    readonly content: NamespacedContentStore,
  ) {
    this.uuid = loadUuid(config.root);
    this.images = new ImageStore(this.db);
    this.containers = new ContainerStore(this.db);
    this.leases = new LeaseStore(this.db);
    const overlay = new OverlaySnapshotter({ root: config.root, db: this.db.snapshots });
    this.overlay = overlay;
    this.snapshotter = new PublishingSnapshotter(overlay, this.events);
    this.gc = new GarbageCollector({
      images: this.images,
      containers: this.containers,
      leases: this.leases,
      content,
      // containerd's collector removes snapshots without events: it works below the publishing wrapper.
      snapshotter: overlay,
      log,
    });
    this.gc.collectAfterStartup();
    this.bus = new SystemBus({
      // The connection comes back on the next call (see bus.ts); the log says when it went and came.
      onConnectionChange: (change, reason) =>
        change === 'lost' ? this.log.warn('system bus connection lost', { reason }) : this.log.info('system bus reconnected'),
    });
    this.systemd = createSystemd({ bus: this.bus });
    this.machined = createMachined({ bus: this.bus });
    const snapshotter = this.snapshotter;
    this.tasks = new TaskManager({
      config,
      containers: this.containers,
      rootfs: { mounts: (ns, key) => snapshotter.mounts(`${ns}/${key}`) },
      systemd: this.systemd,
      machined: this.machined,
      events: this.events,
      log,
    });
  }

  static async open(config: DaemonConfig, log: Logger): Promise<Daemon> {
    await mkdir(config.root, { recursive: true, mode: 0o711 });
    await mkdir(config.state, { recursive: true, mode: 0o711 });
    const db = new MetadataDb(config.root);
    try {
      const namespaces = new NamespaceStore(db);
      namespaces.ensure('default');
      // Blobs are shared by all namespaces on disk; which namespace has which is in the metadata.
      const backend = await FsContentStore.open(path.join(config.root, 'content'));
      const content = await NamespacedContentStore.open(db, backend, namespaces, log);
      return new Daemon(config, log, db, namespaces, content);
    } catch (err) {
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Start-up work nothing waits for, begun once the daemon serves (main calls
   * this): snapshot directories a crash left without a record (or half
   * deleted) are removed. Listing the snapshot records was ~5-10 ms on the
   * restart's path; the snapshotter skips what creates have in flight.
   */
  afterServing(): void {
    this.overlay.cleanup().then(
      (removed) => removed.length > 0 && this.log.info('removed snapshot directories without a record', { count: removed.length }),
      (err: unknown) => this.log.warn('snapshot cleanup failed', { error: String(err) }),
    );
  }

  /** The differ of Diff.Diff for a request in `namespace`: it writes the layer into that namespace's content. */
  differFor(namespace: string): Comparer {
    return new WalkingDiffer(this.content.forNamespace(namespace), listXattrs);
  }

  async close(): Promise<void> {
    this.gc.stop();
    await this.tasks.settled();
    this.tasks.detach();
    this.bus.close();
    await this.db.close();
  }
}

/** A UUID per root dir, so Introspection.Server stays the same across restarts. */
function loadUuid(root: string): string {
  const file = path.join(root, 'uuid');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const uuid = randomUUID();
  writeFileSync(file, uuid + '\n');
  return uuid;
}
