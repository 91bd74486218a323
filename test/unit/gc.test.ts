import { expect } from 'chai';
import { Readable } from 'node:stream';
import { GarbageCollector } from '../../src/daemon/gc/collector.js';
import { ContainerStore } from '../../src/daemon/metadata/containers.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { ImageStore } from '../../src/daemon/metadata/images.js';
import { LEASE_EXPIRE_LABEL, LeaseStore } from '../../src/daemon/metadata/leases.js';
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
 * The garbage collector on real parts (filesystem content store, overlay
 * snapshotter metadata, LMDB records) in a temp dir: what survives a run
 * is exactly what images, containers, leases and GC labels refer to.
 */
describe('daemon/gc (mark and sweep)', () => {
  let dir: string;
  let db: MetadataDb;
  let content: FsContentStore;
  let snapshotter: OverlaySnapshotter;
  let images: ImageStore;
  let containers: ContainerStore;
  let leases: LeaseStore;
  let gc: GarbageCollector;

  beforeEach(async () => {
    dir = await tempDir('gc');
    db = new MetadataDb(dir);
    content = await FsContentStore.open(`${dir}/content`);
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

  const put = async (data: string | Buffer, labels: Record<string, string> = {}): Promise<Digest> => {
    const buf = Buffer.from(data);
    const digest = digestOf(buf);
    await writeBlob(content, Readable.from([buf]), { ref: `t-${digest}`, expected: { digest, size: buf.length }, labels });
    return digest;
  };
  const has = async (digest: string) => (await content.list()).some((i) => i.digest === digest);
  const snapshotKeys = async () => {
    const keys: string[] = [];
    await snapshotter.walk((i) => void keys.push(i.name));
    return keys.sort();
  };

  /** An image of `layers` (raw layer strings), stored without GC labels, with its layers unpacked as committed snapshots. */
  async function makeImage(ns: string, name: string, layers: string[]) {
    const layerDigests = await Promise.all(layers.map((l) => put(l)));
    const diffIds = layers.map((l) => digestOf(`diff:${l}`));
    const config = await put(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds } }));
    const manifestDoc = JSON.stringify({
      schemaVersion: 2,
      mediaType: MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config, size: 1 },
      layers: layerDigests.map((d) => ({ mediaType: LAYER, digest: d, size: 1 })),
    });
    const manifest = await put(manifestDoc);
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
    expect(result.content).to.deep.equal([stray]);
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
    expect(await content.list()).to.deep.equal([]);
    expect(await snapshotKeys()).to.deep.equal([]);
  });

  it('follows an index to its manifests, and gc.ref labels to content and snapshots', async () => {
    const img = await makeImage('ns1', 'a', ['l1']);
    images.delete('ns1', 'a');
    const indexDoc = JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MANIFEST, digest: img.manifest, size: 1 }] });
    const index = await put(indexDoc);
    images.create('ns1', { name: 'via-index', labels: {}, target: { mediaType: INDEX, digest: index, size: indexDoc.length } });
    const extra = await put('extra');
    const labelled = await put('labelled', { 'containerd.io/gc.ref.content.extra': extra });
    await snapshotter.prepare('ns1/kept-extract');
    await snapshotter.commit('ns1/kept', 'ns1/kept-extract');
    await content.update(index, { 'containerd.io/gc.ref.content.x': labelled, 'containerd.io/gc.ref.snapshot.overlayfs': 'kept' });

    await gc.collect();

    for (const d of [index, img.manifest, img.config, ...img.layerDigests, labelled, extra]) expect(await has(d), d).to.equal(true);
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

  it('removes unleased ingests once stale, keeps leased ones and ones held by a writer', async () => {
    const stale = await content.writer({ ref: 'stale' });
    await stale.write(Buffer.from('partial'));
    await stale.close();
    const leased = await content.writer({ ref: 'leased' });
    await leased.write(Buffer.from('partial'));
    await leased.close();
    const open = await content.writer({ ref: 'open' });
    await open.write(Buffer.from('partial'));
    leases.create('default', 'l1');
    leases.addResource('default', 'l1', { type: 'ingests', id: 'leased' });
    const strict = new GarbageCollector({ images, containers, leases, content, snapshotter, expiryCheckMs: 0, ingestMaxAgeMs: -1000 });
    const result = await strict.collect();
    strict.stop();
    expect(result.ingests).to.deep.equal(['stale']);
    expect((await content.listStatuses()).map((s) => s.ref).sort()).to.deep.equal(['leased', 'open']);
    await open.abort();
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
