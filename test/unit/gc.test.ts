import { expect } from 'chai';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { GarbageCollector } from '../../src/daemon/gc/collector.js';
import { contentService } from '../../src/daemon/grpc/content-service.js';
import { ContainerStore } from '../../src/daemon/metadata/containers.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { ImageStore } from '../../src/daemon/metadata/images.js';
import { LEASE_EXPIRE_LABEL, LeaseStore } from '../../src/daemon/metadata/leases.js';
import { NamespacedContentStore } from '../../src/daemon/metadata/content.js';
import { NamespaceStore } from '../../src/daemon/metadata/namespaces.js';
import { chainIds } from '../../src/snapshot/chain-id.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { writeBlob } from '../../src/snapshot/content-helpers.js';
import { digestOf, type Digest } from '../../src/snapshot/digest.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip';

/**
 * The garbage collector on real parts (namespaced content over the
 * filesystem store, overlay snapshotter metadata, LMDB records) in a temp
 * dir: what survives a run is exactly what images, containers, leases and
 * GC labels refer to, per namespace; a blob file goes when no namespace has it.
 */
describe('daemon/gc (mark and sweep)', function () {
  // Real files and LMDB: a run with several images takes well over mocha's 2 s on a busy machine.
  this.timeout(10_000);
  let dir: string;
  let db: MetadataDb;
  let backend: FsContentStore;
  let content: NamespacedContentStore;
  let snapshotter: OverlaySnapshotter;
  let images: ImageStore;
  let containers: ContainerStore;
  let leases: LeaseStore;
  let gc: GarbageCollector;

  beforeEach(async () => {
    dir = await tempDir('gc');
    db = new MetadataDb(dir);
    backend = await FsContentStore.open(`${dir}/content`);
    content = await NamespacedContentStore.open(db, backend, new NamespaceStore(db));
    snapshotter = new OverlaySnapshotter({ root: dir, db: db.snapshots });
    images = new ImageStore(db);
    containers = new ContainerStore(db);
    leases = new LeaseStore(db);
    gc = new GarbageCollector({ images, containers, leases, content, snapshotter, expiryCheckMs: 0, activeGraceMs: 0 });
  });
  afterEach(async () => {
    gc.stop();
    await db.close();
    await removeTempDir(dir);
  });

  const put = async (data: string | Buffer, labels: Record<string, string> = {}, ns = 'default'): Promise<Digest> => {
    const buf = Buffer.from(data);
    const digest = digestOf(buf);
    await writeBlob(content.forNamespace(ns), Readable.from([buf]), { ref: `t-${digest}`, expected: { digest, size: buf.length }, labels });
    return digest;
  };
  /** Whether namespace `ns` has a record of the digest. */
  const has = async (digest: string, ns = 'default') => (await content.forNamespace(ns).list()).some((i) => i.digest === digest);
  /** Whether the blob file is in the shared store. */
  const onDisk = async (digest: string) => (await backend.list()).some((i) => i.digest === digest);
  const snapshotKeys = async () => {
    const keys: string[] = [];
    await snapshotter.walk((i) => void keys.push(i.name));
    return keys.sort();
  };

  /** An image of `layers` (raw layer strings), stored without GC labels, with its layers unpacked as committed snapshots. */
  async function makeImage(ns: string, name: string, layers: string[]) {
    const layerDigests = await Promise.all(layers.map((l) => put(l, {}, ns)));
    const diffIds = layers.map((l) => digestOf(`diff:${l}`));
    const config = await put(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }), {}, ns);
    const manifestDoc = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 1 },
      layers: layerDigests.map((d) => ({ mediaType: LAYER, digest: d, size: 1 })),
    });
    const manifest = await put(manifestDoc, {}, ns);
    let parent: string | undefined;
    const chain = chainIds(diffIds).map((c) => `${ns}/${c}`);
    for (const key of chain) {
      if (!(await snapshotKeys()).includes(key)) {
        await snapshotter.prepare(`${key}-extract`, parent);
        await snapshotter.commit(key, `${key}-extract`);
      }
      parent = key;
    }
    images.create(ns, { name, labels: {}, target: { mediaType: MANIFEST, digest: manifest, size: Buffer.byteLength(manifestDoc) } });
    return { layerDigests, config, manifest, chain };
  }

  it('keeps what images refer to (manifest JSON, config, layers, chain snapshots) and removes the rest', async () => {
    const img = await makeImage('default', 'a', ['layer-1', 'layer-2']);
    const stray = await put('nobody refers to me');
    await snapshotter.prepare('default/stray-extract');
    await snapshotter.commit('default/stray', 'default/stray-extract');

    const result = await gc.collect();

    for (const d of [img.manifest, img.config, ...img.layerDigests]) expect(await has(d), d).to.equal(true);
    expect(await has(stray)).to.equal(false);
    expect(await onDisk(stray)).to.equal(false);
    expect(result.content).to.deep.equal([`default/${stray}`]);
    expect(result.blobs).to.deep.equal([stray]);
    expect(await snapshotKeys()).to.deep.equal([...img.chain].sort());
  });

  it('deleting one of two images that share a layer keeps the shared layer and its snapshot', async () => {
    const a = await makeImage('default', 'a', ['shared', 'only-a']);
    const b = await makeImage('default', 'b', ['shared']);
    images.delete('default', 'a');

    await gc.collect();

    expect(await has(a.layerDigests[0] as string)).to.equal(true);
    expect(await has(a.layerDigests[1] as string)).to.equal(false);
    expect(await has(a.manifest)).to.equal(false);
    expect(await has(b.manifest)).to.equal(true);
    expect(await snapshotKeys()).to.deep.equal(b.chain);
    images.delete('default', 'b');
    await gc.collect();
    expect(await content.forNamespace('default').list()).to.deep.equal([]);
    expect(await backend.list()).to.deep.equal([]);
    expect(await snapshotKeys()).to.deep.equal([]);
  });

  it('follows an index to its manifests, and gc.ref labels to content and snapshots', async () => {
    const img = await makeImage('ns1', 'a', ['l1']);
    images.delete('ns1', 'a');
    const indexDoc = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MANIFEST, digest: img.manifest, size: 1 }] });
    const index = await put(indexDoc, {}, 'ns1');
    images.create('ns1', { name: 'via-index', labels: {}, target: { mediaType: INDEX, digest: index, size: indexDoc.length } });
    const extra = await put('extra', {}, 'ns1');
    const labelled = await put('labelled', { 'containerd.io/gc.ref.content.extra': extra }, 'ns1');
    await snapshotter.prepare('ns1/kept-extract');
    await snapshotter.commit('ns1/kept', 'ns1/kept-extract');
    await content.forNamespace('ns1').update(index, { 'containerd.io/gc.ref.content.x': labelled, 'containerd.io/gc.ref.snapshot.overlayfs': 'kept' });

    await gc.collect();

    for (const d of [index, img.manifest, img.config, ...img.layerDigests, labelled, extra]) expect(await has(d, 'ns1'), d).to.equal(true);
    expect(await snapshotKeys()).to.deep.equal([...img.chain, 'ns1/kept'].sort());
  });

  it("keeps a container's snapshot with its parents", async () => {
    const img = await makeImage('default', 'a', ['l1']);
    await snapshotter.prepare('default/c1', img.chain[0]);
    images.delete('default', 'a');
    containers.create('default', {
      id: 'c1',
      labels: {},
      image: 'a',
      runtime: { name: 'io.containerd.runc.v2' },
      spec: { typeUrl: 'x', value: Buffer.from('{}') },
      snapshotter: 'overlayfs',
      snapshotKey: 'c1',
      extensions: {},
    });
    await gc.collect();
    expect(await snapshotKeys()).to.deep.equal(['default/c1', img.chain[0]]);
    containers.delete('default', 'c1');
    await gc.collect();
    expect(await snapshotKeys()).to.deep.equal([]);
  });

  it('a lease keeps its content and snapshots until it is deleted; an expired lease is deleted and keeps nothing', async () => {
    const blob = await put('leased');
    const expiredBlob = await put('expired');
    await snapshotter.prepare('default/leased-snap');
    leases.create('default', 'l1');
    leases.addResource('default', 'l1', { type: 'content', id: blob });
    leases.addResource('default', 'l1', { type: 'snapshots/overlayfs', id: 'leased-snap' });
    leases.create('default', 'old', { [LEASE_EXPIRE_LABEL]: new Date(Date.now() - 1000).toISOString() });
    leases.addResource('default', 'old', { type: 'content', id: expiredBlob });

    const result = await gc.collect();
    expect(result.leases).to.deep.equal(['default/old']);
    expect(leases.list('default').map((l) => l.id)).to.deep.equal(['l1']);
    expect(await has(blob)).to.equal(true);
    expect(await has(expiredBlob)).to.equal(false);
    expect(await snapshotKeys()).to.deep.equal(['default/leased-snap']);

    leases.delete('default', 'l1');
    await gc.collect();
    expect(await has(blob)).to.equal(false);
    expect(await snapshotKeys()).to.deep.equal([]);
  });

  it('keeps content labelled containerd.io/gc.root', async () => {
    const root = await put('root', { 'containerd.io/gc.root': 'true' });
    await gc.collect();
    expect(await has(root)).to.equal(true);
  });

  it('a collection waits for a hold, so content created and then leased inside it survives', async () => {
    leases.create('default', 'l1');
    let digest = '' as Digest;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const held = gc.withHold(async () => {
      digest = await put('made under a hold');
      await released;
      leases.addResource('default', 'l1', { type: 'content', id: digest });
    });
    await new Promise((r) => setTimeout(r, 10));
    const run = gc.collect();
    await new Promise((r) => setTimeout(r, 20));
    release();
    await held;
    await run;
    expect(await has(digest)).to.equal(true);
  });

  it('a Content.Update that comes while a collection runs waits for it: a label is never reported set on a blob the sweep removes', async () => {
    const victim = await put('unreferenced until labelled');
    await put('a root, so the mark reads labels', { 'containerd.io/gc.root': 'true' });
    // The update arrives mid-run, while the mark reads the root's labels (slowly).
    let update: Promise<unknown> | undefined;
    const hooked: typeof content = Object.create(content);
    hooked.forNamespace = (ns) => {
      const real = content.forNamespace(ns);
      update ??= new Promise((resolve) => {
        const call = { request: { info: { digest: victim, labels: { 'containerd.io/gc.root': 'true' } }, update_mask: { paths: ['labels.containerd.io/gc.root'] } }, metadata: new grpc.Metadata() };
        call.metadata.set('containerd-namespace', 'default');
        service.Update(call as never, (err) => resolve(err ?? 'updated'));
      });
      const slow: typeof real = Object.create(real);
      slow.info = async (digest) => {
        await new Promise((r) => setTimeout(r, 30));
        return real.info(digest);
      };
      return slow;
    };
    const hookedGc = new GarbageCollector({ images, containers, leases, content: hooked, snapshotter, expiryCheckMs: 0, activeGraceMs: 0 });
    const service = contentService(content, leases, hookedGc);
    try {
      await hookedGc.collect();
      const outcome = await update;
      expect(outcome, 'the mark never read labels: the test hook did not run').to.not.equal(undefined);
      if (outcome === 'updated') expect(await has(victim), 'Update reported gc.root set, yet the sweep removed the blob').to.equal(true);
      // Held, the update waited for the run, which had swept the unreferenced record.
      expect((outcome as grpc.ServiceError).code).to.equal(grpc.status.NOT_FOUND);
      expect(await has(victim)).to.equal(false);
    } finally {
      hookedGc.stop();
    }
  });

  it('removes unleased ingests once stale, keeps leased ones (in the lease\'s namespace) and ones held by a writer', async () => {
    const store = content.forNamespace('default');
    const other = content.forNamespace('other');
    const stale = await store.writer({ ref: 'stale' });
    await stale.write(Buffer.from('partial'));
    await stale.close();
    const leased = await store.writer({ ref: 'leased' });
    await leased.write(Buffer.from('partial'));
    await leased.close();
    const sameRef = await other.writer({ ref: 'leased' });
    await sameRef.write(Buffer.from('partial'));
    await sameRef.close();
    const open = await store.writer({ ref: 'open' });
    await open.write(Buffer.from('partial'));
    const legacy = await backend.writer({ ref: 'written-before-namespaces' });
    await legacy.write(Buffer.from('partial'));
    await legacy.close();
    leases.create('default', 'l1');
    leases.addResource('default', 'l1', { type: 'ingests', id: 'leased' });
    const strict = new GarbageCollector({ images, containers, leases, content, snapshotter, expiryCheckMs: 0, ingestMaxAgeMs: -1000 });
    const result = await strict.collect();
    strict.stop();
    expect(result.ingests.sort()).to.deep.equal(['default/stale', 'other/leased', 'written-before-namespaces']);
    expect((await store.listStatuses()).map((s) => s.ref).sort()).to.deep.equal(['leased', 'open']);
    expect(await other.listStatuses()).to.deep.equal([]);
    await open.abort();
  });

  it('removes a namespace\'s records nothing in it refers to, and a blob file only when no namespace has it', async () => {
    const a = await makeImage('ns-a', 'img', ['shared-layer', 'a-only']);
    const b = await makeImage('ns-b', 'img', ['shared-layer']);
    const strayInB = await put('a-only', {}, 'ns-b'); // the same bytes as a's layer, unreferenced in ns-b
    expect(strayInB).to.equal(a.layerDigests[1]);

    let result = await gc.collect();
    expect(result.content).to.deep.equal([`ns-b/${strayInB}`]);
    expect(result.blobs).to.deep.equal([]); // ns-a still has it
    expect(await has(strayInB, 'ns-b')).to.equal(false);
    expect(await has(strayInB, 'ns-a')).to.equal(true);
    expect(await onDisk(strayInB)).to.equal(true);

    images.delete('ns-b', 'img');
    result = await gc.collect();
    expect(await has(b.manifest, 'ns-b')).to.equal(false);
    expect(await has(a.layerDigests[0] as string, 'ns-b')).to.equal(false);
    expect(await content.forNamespace('ns-b').list()).to.deep.equal([]);
    for (const d of [a.manifest, a.config, ...a.layerDigests]) expect(await has(d, 'ns-a'), d).to.equal(true);
    expect(await onDisk(a.layerDigests[0] as string)).to.equal(true);
    // b's manifest and config differ from a's (other layers): their files go with b's records.
    expect(result.blobs.sort()).to.deep.equal([b.config, b.manifest].sort());
    expect(await snapshotKeys()).to.deep.equal([...a.chain].sort());

    images.delete('ns-a', 'img');
    result = await gc.collect();
    expect(await backend.list()).to.deep.equal([]);
    expect(result.blobs.sort()).to.deep.equal([a.manifest, a.config, ...a.layerDigests].sort());
  });

  it('a lease or a gc.root label keeps content only in its own namespace', async () => {
    const blob = await put('leased in a', {}, 'ns-a');
    await put('leased in a', {}, 'ns-b');
    const rooted = await put('rooted in b', { 'containerd.io/gc.root': 'x' }, 'ns-b');
    await put('rooted in b', {}, 'ns-a');
    leases.create('ns-a', 'l');
    leases.addResource('ns-a', 'l', { type: 'content', id: blob });
    await gc.collect();
    expect(await has(blob, 'ns-a')).to.equal(true);
    expect(await has(blob, 'ns-b')).to.equal(false);
    expect(await has(rooted, 'ns-b')).to.equal(true);
    expect(await has(rooted, 'ns-a')).to.equal(false);
  });

  it('keeps a blob file a shared writer is about to commit in another namespace', async () => {
    const digest = await put('about to be shared', {}, 'ns-a');
    const w = await content.forNamespace('ns-b').writer({ ref: 'r', expected: { digest, size: Buffer.byteLength('about to be shared') } });
    expect(w.offset()).to.equal(Buffer.byteLength('about to be shared'));
    const result = await gc.collect(); // ns-a's record goes (nothing refers to it), the file stays for the writer
    expect(result.content).to.deep.equal([`ns-a/${digest}`]);
    expect(await onDisk(digest)).to.equal(true);
    await w.commit();
    expect(await has(digest, 'ns-b')).to.equal(true);
    leases.create('ns-b', 'l');
    leases.addResource('ns-b', 'l', { type: 'content', id: digest });
    await gc.collect();
    expect(await onDisk(digest)).to.equal(true);
  });

  it('collects once after start-up, when the grace has passed: a crashed pull\'s staging snapshot goes without any delete', async () => {
    const soon = new GarbageCollector({ images, containers, leases, content, snapshotter, expiryCheckMs: 0, activeGraceMs: -4_950 });
    await snapshotter.prepare('default/extract-staging-1');
    soon.collectAfterStartup(); // grace -4950 ms + 5 s = 50 ms from now
    expect(await snapshotKeys()).to.deep.equal(['default/extract-staging-1']);
    for (let i = 0; i < 50 && (await snapshotKeys()).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    soon.stop();
    expect(await snapshotKeys()).to.deep.equal([]);
  });

  it('keeps a young active snapshot nobody refers to yet (a client between Prepare and Containers.Create)', async () => {
    const graceful = new GarbageCollector({ images, containers, leases, content, snapshotter, expiryCheckMs: 0 });
    await snapshotter.prepare('default/just-made');
    await graceful.collect();
    graceful.stop();
    expect(await snapshotKeys()).to.deep.equal(['default/just-made']);
    await gc.collect();
    expect(await snapshotKeys()).to.deep.equal([]);
  });
});
