import { expect } from 'chai';
import { open as openLmdb, type RootDatabase } from 'lmdb';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pullImage } from '../../src/daemon/images/pull.js';
import { chainIds } from '../../src/snapshot/chain-id.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { NamespacedContentStore } from '../../src/daemon/metadata/content.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { NamespaceStore } from '../../src/daemon/metadata/namespaces.js';
import type { Digest } from '../../src/snapshot/digest.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import type { Info } from '../../src/snapshot/snapshotter.js';
import { FakeRegistry, addImage, sha256 } from '../support/registry-fake.js';
import { makeTar, removeTempDir, tempDir } from './snapshot-helpers.js';
import { FAST_RETRY, fakePullDaemon } from '../support/fake-pull-daemon.js';
import { rejection } from '../support/rejection.js';
import { ExtractorPool } from '../../src/snapshot/apply-pool.js';
import { StreamingUnpack } from '../../src/snapshot/unpack-stream.js';
import { writeBlob } from '../../src/snapshot/content-helpers.js';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

describe('daemon/images/pull with unpack (layers extracted while they download)', function () {
  this.timeout(30_000);
  let reg: FakeRegistry;
  let dir: string;
  let content: FsContentStore;
  let db: RootDatabase<unknown, string>;
  let snap: OverlaySnapshotter;

  beforeEach(async () => {
    reg = await new FakeRegistry().start();
    dir = await tempDir('pull-unpack');
    content = await FsContentStore.open(join(dir, 'content'));
    db = openLmdb<unknown, string>({ path: join(dir, 'meta.lmdb') });
    snap = new OverlaySnapshotter({ root: join(dir, 'snap'), db });
  });
  afterEach(async () => {
    await reg.stop();
    await db.close();
    await removeTempDir(dir);
  });

  const snapshots = async (): Promise<Info[]> => {
    const all: Info[] = [];
    await snap.walk((i) => void all.push(i));
    return all;
  };

  /** The files of committed snapshot `name`, read through a view. */
  async function readFromSnapshot(name: string, file: string): Promise<Buffer> {
    const mounts = await snap.view(`view-${Math.random()}`, name);
    const m = mounts[0]!;
    const fsDir = m.type === 'bind' ? m.source : (m.options.find((o) => o.startsWith('lowerdir='))!.slice('lowerdir='.length).split(':')[0] as string);
    return readFile(join(fsDir, file));
  }

  const big = randomBytes(300_000);
  const layerTars = async () => [
    await makeTar([{ name: 'base', type: 'directory' }, { name: 'base/big', content: big }, { name: 'base/gone', content: 'x' }]),
    await makeTar([{ name: 'base/.wh.gone', content: '' }, { name: 'top', content: 'second layer' }]),
  ];

  it('commits every layer as its chain-ID snapshot with the layer files, and leaves no staging snapshot', async () => {
    const { daemon, images } = fakePullDaemon(content, snap);
    const tars = await layerTars();
    addImage(reg, 'app', 'latest', tars);
    await pullImage(daemon, 'ns', `${reg.host}/app`, { registry: FAST_RETRY });
    const chain = chainIds(tars.map((t) => sha256(t) as Digest));
    const infos = await snapshots();
    expect(infos.map((i) => [i.name, i.kind, i.parent]).sort()).to.deep.equal(
      [
        [`ns/${chain[0]}`, 'committed', undefined],
        [`ns/${chain[1]}`, 'committed', `ns/${chain[0]}`],
      ].sort(),
    );
    expect((await readFromSnapshot(`ns/${chain[0]}`, 'base/big')).equals(big)).to.equal(true);
    expect((await readFromSnapshot(`ns/${chain[1]}`, 'top')).toString()).to.equal('second layer');
    expect(images.size).to.equal(1);
  });

  it('pulls into a second namespace from the blobs the first downloaded: no layer fetched, every layer unpacked there', async () => {
    const meta = new MetadataDb(join(dir, 'ns-meta'));
    try {
      const namespaced = await NamespacedContentStore.open(meta, content, new NamespaceStore(meta));
      const { daemon } = fakePullDaemon(namespaced, snap);
      const tars = await layerTars();
      const img = addImage(reg, 'app', 'latest', tars);
      const layerGets = () => reg.log.filter((l) => img.layers.some((layer) => l.url.endsWith(`/blobs/${layer.digest}`))).length;
      await pullImage(daemon, 'a', `${reg.host}/app`, { registry: FAST_RETRY });
      const fetched = layerGets();
      await pullImage(daemon, 'b', `${reg.host}/app`, { registry: FAST_RETRY });
      expect(layerGets()).to.equal(fetched);
      const chain = chainIds(tars.map((t) => sha256(t) as Digest));
      expect((await readFromSnapshot(`b/${chain[0]}`, 'base/big')).equals(big)).to.equal(true);
      expect((await readFromSnapshot(`b/${chain[1]}`, 'top')).toString()).to.equal('second layer');
      expect((await namespaced.forNamespace('b').list()).map((i) => i.digest)).to.include.members(img.layers.map((l) => l.digest));
      expect((await snapshots()).filter((i) => i.kind !== 'committed' && i.name.startsWith('b/')).map((i) => i.name)).to.deep.equal([]); // no staging snapshot left
    } finally {
      await meta.close();
    }
  });

  it('a layer that does not match its digest leaves no snapshot, no blob and no image', async () => {
    const { daemon, images } = fakePullDaemon(content, snap);
    const tars = await layerTars();
    const img = addImage(reg, 'app', 'latest', tars);
    // Same size, valid tar, other bytes: it extracts fine while streaming, then fails verification.
    const forged = await makeTar([{ name: 'base', type: 'directory' }, { name: 'base/big', content: randomBytes(300_000) }, { name: 'base/gone', content: 'y' }]);
    expect(forged.length).to.equal(tars[0]!.length);
    reg.blobs.set(img.layers[0]!.digest, forged);
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/app`, { registry: FAST_RETRY }));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include('digest mismatch');
    expect(await snapshots()).to.deep.equal([]);
    expect((await content.list()).map((i) => i.digest)).to.not.include(img.layers[0]!.digest);
    expect(await content.listStatuses()).to.deep.equal([]);
    expect(images.size).to.equal(0);
  });

  it('a blob that fails verification after its layer was extracted and committed (the same tar inside) leaves no snapshot, no blob and no image', async () => {
    const tar = await makeTar([{ name: 'base', type: 'directory' }, { name: 'base/big', content: big }]);
    const gz = gzipSync(tar);
    const config = reg.addBlob(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }), 'application/vnd.oci.image.config.v1+json');
    const layer = reg.addBlob(gz, 'application/vnd.oci.image.layer.v1.tar+gzip');
    const manifestType = 'application/vnd.oci.image.manifest.v1+json';
    reg.addManifest('gz', { schemaVersion: 2, mediaType: manifestType, config, layers: [layer] }, manifestType, ['latest']);
    // Another gzip header mtime: same size, same tar (so the diffID matches and the layer commits), other digest.
    const forged = Buffer.from(gz);
    forged[4] = (forged[4] as number) ^ 0xff;
    reg.blobs.set(layer.digest, forged);
    // The blob's verification waits until the layer's snapshot is committed: the unpack does not wait for the blob.
    let snapshotCommitted!: () => void;
    let layerCommitted = false;
    const committed = new Promise<void>((resolve) => (snapshotCommitted = resolve));
    const commitSnapshot = snap.commit.bind(snap);
    snap.commit = async (...args: Parameters<OverlaySnapshotter['commit']>) => {
      await commitSnapshot(...args);
      layerCommitted = true;
      snapshotCommitted();
    };
    const slowContent = Object.create(content) as FsContentStore;
    slowContent.writer = async (options) => {
      const w = await content.writer(options);
      if (options.expected?.digest !== layer.digest) return w;
      const commitBlob = w.commit.bind(w);
      w.commit = async (...args) => {
        await Promise.race([committed, new Promise((r) => setTimeout(r, 3000))]);
        return commitBlob(...args);
      };
      return w;
    };
    const { daemon, images } = fakePullDaemon(slowContent, snap);
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/gz`, { registry: FAST_RETRY }));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include('digest mismatch');
    expect(layerCommitted, 'the layer was committed before the blob was verified').to.equal(true);
    expect(await snapshots()).to.deep.equal([]);
    expect((await content.list()).map((i) => i.digest)).to.not.include(layer.digest);
    expect(images.size).to.equal(0);
  });

  it('a connection cut mid-layer resumes the download and unpacks the layer once, from the verified blob', async () => {
    const { daemon } = fakePullDaemon(content, snap);
    const tars = await layerTars();
    const img = addImage(reg, 'app', 'latest', tars);
    reg.fault(new RegExp(`/blobs/${img.layers[0]!.digest}$`), { times: 1, cutAfter: 150_000 });
    await pullImage(daemon, 'ns', `${reg.host}/app`, { registry: FAST_RETRY });
    const ranged = reg.log.filter((r) => r.url.endsWith(img.layers[0]!.digest) && r.range !== undefined);
    expect(ranged.map((r) => r.range)).to.deep.equal(['bytes=150000-']);
    const chain = chainIds(tars.map((t) => sha256(t) as Digest));
    const infos = await snapshots();
    expect(infos.map((i) => i.kind)).to.deep.equal(['committed', 'committed']);
    expect((await readFromSnapshot(`ns/${chain[0]}`, 'base/big')).equals(big)).to.equal(true);
  });

  it('a hostile layer fails the pull and leaves no snapshot', async () => {
    const { daemon, images } = fakePullDaemon(content, snap);
    const evil = await makeTar([{ name: '../escape', content: 'pwned' }]);
    addImage(reg, 'app', 'latest', [evil]);
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/app`, { registry: FAST_RETRY }));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include('../escape');
    expect(await snapshots()).to.deep.equal([]);
    expect(images.size).to.equal(0);
  });

  it('reuses committed layers on a second pull', async () => {
    const { daemon } = fakePullDaemon(content, snap);
    addImage(reg, 'app', 'latest', await layerTars());
    await pullImage(daemon, 'ns', `${reg.host}/app`, { registry: FAST_RETRY });
    const before = (await snapshots()).map((i) => i.name).sort();
    await pullImage(daemon, 'ns', `${reg.host}/app`, { registry: FAST_RETRY });
    expect((await snapshots()).map((i) => i.name).sort()).to.deep.equal(before);
  });

  it('two concurrent pulls of the same image share the downloads and end with one set of snapshots', async () => {
    const { daemon } = fakePullDaemon(content, snap);
    const tars = await layerTars();
    addImage(reg, 'app', 'latest', tars);
    await Promise.all([pullImage(daemon, 'ns', `${reg.host}/app`, { registry: FAST_RETRY }), pullImage(daemon, 'ns', `${reg.host}/app`, { registry: FAST_RETRY })]);
    const chain = chainIds(tars.map((t) => sha256(t) as Digest));
    expect((await snapshots()).map((i) => `${i.name} ${i.kind}`).sort()).to.deep.equal([`ns/${chain[0]} committed`, `ns/${chain[1]} committed`].sort());
    expect((await readFromSnapshot(`ns/${chain[0]}`, 'base/big')).equals(big)).to.equal(true);
  });

  it('with every extraction thread busy, a layer is applied from the store once one is free, and the chain is the same', async () => {
    const pool = new ExtractorPool({ size: 1 });
    try {
      const tars = [...(await layerTars()), await makeTar([{ name: 'third', content: 'three' }])];
      const mediaType = 'application/vnd.oci.image.layer.v1.tar';
      const layers = tars.map((t) => ({ mediaType, digest: sha256(t), size: t.length }));
      for (const t of tars) await writeBlob(content, Readable.from([t]), { ref: `t-${sha256(t)}`, expected: { digest: sha256(t) as Digest, size: t.length } });
      const diffIds = tars.map((t) => sha256(t));
      const unpack = new StreamingUnpack({ content, snapshotter: snap, layers, diffIds, keyPrefix: 'ns/', pool });
      const applies = [await unpack.begin(0), await unpack.begin(1), await unpack.begin(2)];
      expect(applies.map((a) => a !== undefined)).to.deep.equal([true, false, false]); // one thread: the others wait for the store
      await applies[0]!.write(tars[0]!);
      await Promise.all([unpack.complete(2, false), unpack.complete(1, false), unpack.complete(0, true)]);
      const { chainId } = await unpack.finish();
      const chain = chainIds(diffIds as Digest[]);
      expect(chainId).to.equal(chain[2]);
      expect((await snapshots()).map((i) => `${i.name} ${i.kind} ${i.parent}`).sort()).to.deep.equal(
        [`ns/${chain[0]} committed undefined`, `ns/${chain[1]} committed ns/${chain[0]}`, `ns/${chain[2]} committed ns/${chain[1]}`].sort(),
      );
      expect((await readFromSnapshot(`ns/${chain[0]}`, 'base/big')).equals(big)).to.equal(true);
      expect((await readFromSnapshot(`ns/${chain[2]}`, 'third')).toString()).to.equal('three');
      expect(pool.threads).to.be.at.most(1);
    } finally {
      await pool.drain();
    }
  });
});
