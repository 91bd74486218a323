import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { pullImage, type PullProgress } from '../../src/daemon/images/pull.js';
import { inflightCount } from '../../src/daemon/images/pull-inflight.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { NamespacedContentStore } from '../../src/daemon/metadata/content.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { NamespaceStore } from '../../src/daemon/metadata/namespaces.js';
import type { Digest } from '../../src/snapshot/digest.js';
import { FakeRegistry, addImage } from '../support/registry-fake.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';
import { FAST_RETRY, fakePullDaemon } from '../support/fake-pull-daemon.js';
import { rejection } from '../support/rejection.js';

describe('daemon/images/pull (without unpack) against an in-process registry', function () {
  this.timeout(20_000);
  let reg: FakeRegistry;
  let dir: string;
  let store: FsContentStore;

  beforeEach(async () => {
    reg = await new FakeRegistry().start();
    dir = await tempDir('pull');
    store = await FsContentStore.open(dir);
  });
  afterEach(async () => {
    await reg.stop();
    await removeTempDir(dir);
  });

  it('stores index, manifest, config and layers with GC labels, then records the image', async () => {
    const { daemon, images, events } = fakePullDaemon(store);
    const img = addImage(reg, 'library/app', 'v1', [randomBytes(1000), randomBytes(2000)], { index: true });
    const seen: PullProgress[] = [];
    const rec = await pullImage(daemon, 'ns', `${reg.host}/library/app:v1`, { unpack: false, registry: FAST_RETRY }, (p) => seen.push(p));
    expect(rec.name).to.equal(`${reg.host}/library/app:v1`);
    expect(rec.target).to.deep.equal({ mediaType: img.index!.mediaType, digest: img.index!.digest, size: img.index!.size });
    expect(images.size).to.equal(1);
    expect(events).to.deep.equal(['imageCreate']);
    const stored = (await store.list()).map((i) => i.digest).sort();
    expect(stored).to.deep.equal([img.index!.digest, img.manifest.digest, img.config.digest, ...img.layers.map((l) => l.digest)].sort());
    const manifestInfo = await store.info(img.manifest.digest as Digest);
    expect(manifestInfo.labels['containerd.io/gc.ref.content.config']).to.equal(img.config.digest);
    expect(manifestInfo.labels['containerd.io/gc.ref.content.l.1']).to.equal(img.layers[1]!.digest);
    expect((await store.info(img.index!.digest as Digest)).labels['containerd.io/gc.ref.content.m.0']).to.equal(img.manifest.digest);
    expect((await store.info(img.layers[0]!.digest as Digest)).labels[`containerd.io/distribution.source.${reg.host}`]).to.equal('library/app');
    for (const l of img.layers) expect(seen.some((p) => p.digest === l.digest && p.status === 'done')).to.equal(true);
    expect(seen[0]).to.include({ digest: img.index!.digest, status: 'resolved' });
    // Pulled again: nothing is downloaded, the layers "exist".
    const again: PullProgress[] = [];
    await pullImage(daemon, 'ns', `${reg.host}/library/app:v1`, { unpack: false, registry: FAST_RETRY }, (p) => again.push(p));
    expect(again.filter((p) => p.status === 'exists').map((p) => p.digest).sort()).to.deep.equal(img.layers.map((l) => l.digest).sort());
    expect(events).to.deep.equal(['imageCreate', 'imageUpdate']);
  });

  it('shares one download between concurrent pulls of the same blob', async () => {
    const { daemon } = fakePullDaemon(store);
    const img = addImage(reg, 'app', 'latest', [randomBytes(3_000_000)]);
    const layerPath = `/v2/app/blobs/${img.layers[0]!.digest}`;
    await Promise.all([1, 2, 3].map((n) => pullImage(daemon, `ns${n}`, `${reg.host}/app`, { unpack: false, registry: FAST_RETRY })));
    expect(reg.log.filter((l) => l.url === layerPath)).to.have.length(1);
    expect(inflightCount()).to.equal(0);
  });

  it('pulls into a second namespace without downloading a blob again; concurrent pulls in several namespaces share one download', async () => {
    const db = new MetadataDb(dir);
    try {
      const content = await NamespacedContentStore.open(db, await FsContentStore.open(`${dir}/ns-content`), new NamespaceStore(db));
      const { daemon } = fakePullDaemon(content);
      const img = addImage(reg, 'app', 'v1', [randomBytes(100_000), randomBytes(2000)], { index: true });
      const blobGets = () => reg.log.filter((l) => l.method === 'GET' && l.url.includes('/blobs/')).length;
      const all = [img.index!.digest, img.manifest.digest, img.config.digest, ...img.layers.map((l) => l.digest)].sort();
      await pullImage(daemon, 'a', `${reg.host}/app:v1`, { unpack: false, registry: FAST_RETRY });
      const afterA = blobGets();
      expect((await content.forNamespace('b').list()).map((i) => i.digest)).to.deep.equal([]);
      const seen: PullProgress[] = [];
      await pullImage(daemon, 'b', `${reg.host}/app:v1`, { unpack: false, registry: FAST_RETRY }, (p) => seen.push(p));
      expect(blobGets() - afterA).to.equal(1); // the config (read before any content is looked at); no layer
      expect(seen.filter((p) => p.status === 'exists').map((p) => p.digest).sort()).to.deep.equal(img.layers.map((l) => l.digest).sort());
      expect((await content.forNamespace('b').list()).map((i) => i.digest).sort()).to.deep.equal(all);
      const manifestInB = await content.forNamespace('b').info(img.manifest.digest as Digest);
      expect(manifestInB.labels['containerd.io/gc.ref.content.config']).to.equal(img.config.digest);

      const big = addImage(reg, 'big', 'latest', [randomBytes(3_000_000)]);
      const layerPath = `/v2/big/blobs/${big.layers[0]!.digest}`;
      await Promise.all(['n1', 'n2', 'n3'].map((ns) => pullImage(daemon, ns, `${reg.host}/big`, { unpack: false, registry: FAST_RETRY })));
      expect(reg.log.filter((l) => l.url === layerPath)).to.have.length(1);
      for (const ns of ['n1', 'n2', 'n3']) expect((await content.forNamespace(ns).info(big.layers[0]!.digest as Digest)).size).to.equal(3_000_000);
    } finally {
      await db.close();
    }
  });

  it('records nothing for an unknown tag (NotFound)', async () => {
    const { daemon, images } = fakePullDaemon(store);
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/app:missing`, { unpack: false, registry: FAST_RETRY }));
    expect(err.kind).to.equal('NotFound');
    expect(images.size).to.equal(0);
    expect(await store.list()).to.deep.equal([]);
  });

  it('commits nothing when a layer does not match its digest', async () => {
    const { daemon, images } = fakePullDaemon(store);
    const img = addImage(reg, 'app', 'latest', [randomBytes(1000), randomBytes(1000)]);
    reg.blobs.set(img.layers[1]!.digest, randomBytes(1000));
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/app`, { unpack: false, registry: FAST_RETRY }));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include('digest mismatch');
    expect(images.size).to.equal(0);
    const stored = (await store.list()).map((i) => i.digest);
    expect(stored).to.not.include(img.layers[1]!.digest);
    expect(stored).to.not.include(img.manifest.digest);
    expect(await store.listStatuses()).to.deep.equal([]);
  });

  it('chooses the platform asked for, and names the available ones when none fits', async () => {
    const { daemon } = fakePullDaemon(store);
    const amd = addImage(reg, 'multi', 'amd', [randomBytes(10)], { arch: 'amd64' });
    const arm = addImage(reg, 'multi', 'arm', [randomBytes(10)], { arch: 'arm64' });
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [
        { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    };
    reg.addManifest('multi', index, index.mediaType, ['latest']);
    await pullImage(daemon, 'ns', `${reg.host}/multi`, { unpack: false, registry: FAST_RETRY, platform: { os: 'linux', architecture: 'arm64' } });
    const stored = (await store.list()).map((i) => i.digest);
    expect(stored).to.include(arm.layers[0]!.digest).and.not.include(amd.layers[0]!.digest);
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/multi`, { unpack: false, registry: FAST_RETRY, platform: { os: 'linux', architecture: 'ppc64le' } }));
    expect(err.kind).to.equal('NotFound');
    expect(err.message).to.include('linux/ppc64le').and.include('available: linux/amd64, linux/arm64');
  });

  it('downloads at most maxConcurrentDownloads layers at once', async () => {
    const { daemon } = fakePullDaemon(store);
    const layers = [1, 2, 3, 4, 5].map(() => randomBytes(200_000));
    addImage(reg, 'wide', 'latest', layers);
    let active = 0;
    let peak = 0;
    const seen = new Map<string, string>();
    await pullImage(daemon, 'ns', `${reg.host}/wide`, { unpack: false, registry: FAST_RETRY, maxConcurrentDownloads: 2 }, (p) => {
      const before = seen.get(p.digest);
      if (p.status === 'downloading' && before !== 'downloading') active++;
      if ((p.status === 'done' || p.status === 'exists') && before === 'downloading') active--;
      seen.set(p.digest, p.status);
      peak = Math.max(peak, active);
    });
    expect(peak).to.be.at.most(2);
  });

  it('--all-platforms stores every manifest of the index with its config and layers, labelled from the index', async () => {
    const { daemon } = fakePullDaemon(store);
    const amd = addImage(reg, 'multi', 'amd', [randomBytes(10)], { arch: 'amd64' });
    const arm = addImage(reg, 'multi', 'arm', [randomBytes(10), randomBytes(20)], { arch: 'arm64' });
    const index = reg.addManifest(
      'multi',
      {
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          { ...arm.manifest, platform: { os: 'linux', architecture: 'arm64' } },
          { ...amd.manifest, platform: { os: 'linux', architecture: 'amd64' } },
        ],
      },
      'application/vnd.oci.image.index.v1+json',
      ['latest'],
    );
    await pullImage(daemon, 'ns', `${reg.host}/multi`, { unpack: false, registry: FAST_RETRY });
    expect((await store.list()).map((i) => i.digest)).to.not.include(arm.manifest.digest);
    await pullImage(daemon, 'ns', `${reg.host}/multi`, { unpack: false, registry: FAST_RETRY, allPlatforms: true });
    const stored = (await store.list()).map((i) => i.digest);
    for (const d of [amd.manifest, amd.config, ...amd.layers, arm.manifest, arm.config, ...arm.layers, index]) expect(stored, d.digest).to.include(d.digest);
    const labels = (await store.info(index.digest as Digest)).labels;
    expect(labels['containerd.io/gc.ref.content.m.0']).to.equal(arm.manifest.digest);
    expect(labels['containerd.io/gc.ref.content.m.1']).to.equal(amd.manifest.digest);
    expect((await store.info(arm.manifest.digest as Digest)).labels['containerd.io/gc.ref.content.l.1']).to.equal(arm.layers[1]!.digest);
  });

  describe('mirrors', () => {
    let mirror: FakeRegistry;
    beforeEach(async () => {
      mirror = await new FakeRegistry().start();
    });
    afterEach(() => mirror.stop());

    const viaMirrors = (upstream: string, mirrors: string[]) => ({ ...FAST_RETRY, hosts: { [upstream]: { insecure: false, mirrors } } });

    it('pulls from the first mirror that has the image; the record keeps the upstream name; upstream is never asked', async () => {
      const { daemon, images } = fakePullDaemon(store);
      const img = addImage(mirror, 'library/app', 'v1', [randomBytes(5000)], { index: true });
      const rec = await pullImage(daemon, 'ns', `${reg.host}/library/app:v1`, { unpack: false, registry: viaMirrors(reg.host, [mirror.host]) });
      expect(rec.name).to.equal(`${reg.host}/library/app:v1`);
      expect(rec.target.digest).to.equal(img.index!.digest);
      expect([...images.keys()]).to.deep.equal([`ns/${reg.host}/library/app:v1`]);
      expect((await store.list()).map((i) => i.digest)).to.include(img.layers[0]!.digest);
      expect(reg.log).to.deep.equal([]);
      expect(mirror.log.some((l) => l.url === `/v2/library/app/blobs/${img.layers[0]!.digest}`)).to.equal(true);
    });

    it('skips a mirror that is down or lacks the image, with a log line, and falls back to the upstream', async () => {
      const { daemon, warnings } = fakePullDaemon(store);
      const down = await new FakeRegistry().start();
      const downHost = down.host;
      await down.stop();
      const img = addImage(reg, 'app', 'v1', [randomBytes(5000)]);
      const rec = await pullImage(daemon, 'ns', `${reg.host}/app:v1`, { unpack: false, registry: viaMirrors(reg.host, [downHost, mirror.host]) });
      expect(rec.target.digest).to.equal(img.manifest.digest);
      expect((await store.list()).map((i) => i.digest)).to.include(img.layers[0]!.digest);
      expect(warnings.some((w) => w.includes(downHost) && w.includes('resolve'))).to.equal(true);
      expect(warnings.some((w) => w.includes(mirror.host) && /not found/.test(w))).to.equal(true);
      // The unreachable mirror is not asked again in this pull; the one that only lacked the image is asked for the blobs too.
      expect(warnings.filter((w) => w.includes(downHost))).to.have.length(1);
    });

    it('falls back to the upstream for a blob the mirror lacks or serves corrupted', async () => {
      const { daemon } = fakePullDaemon(store);
      const layers = [randomBytes(4000), randomBytes(4000)];
      const up = addImage(reg, 'app', 'v1', layers);
      addImage(mirror, 'app', 'v1', layers);
      mirror.blobs.delete(up.layers[0]!.digest);
      mirror.blobs.set(up.layers[1]!.digest, randomBytes(4000));
      await pullImage(daemon, 'ns', `${reg.host}/app:v1`, { unpack: false, registry: viaMirrors(reg.host, [mirror.host]) });
      const stored = (await store.list()).map((i) => i.digest);
      for (const l of up.layers) expect(stored).to.include(l.digest);
      expect(reg.log.filter((l) => l.url.includes('/blobs/')).map((l) => l.url).sort()).to.deep.equal(up.layers.map((l) => `/v2/app/blobs/${l.digest}`).sort());
      expect(await store.listStatuses()).to.deep.equal([]);
    });

    it('reports the upstream error when every mirror and the upstream fail', async () => {
      const { daemon, images } = fakePullDaemon(store);
      const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/nothing:v1`, { unpack: false, registry: viaMirrors(reg.host, [mirror.host]) }));
      expect(err.kind).to.equal('NotFound');
      expect(err.message).to.include(reg.host);
      expect(images.size).to.equal(0);
    });
  });
});
