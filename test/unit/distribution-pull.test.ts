import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { RuntimeError } from '../../src/errors.js';
import type { Daemon } from '../../src/daemon/daemon.js';
import { pullImage, type PullProgress } from '../../src/daemon/images/pull.js';
import { inflightCount } from '../../src/daemon/images/pull-inflight.js';
import type { ImageRecord } from '../../src/daemon/metadata/db.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import type { Digest } from '../../src/snapshot/digest.js';
import { FakeRegistry, addImage } from '../support/registry-fake.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';

async function rejection(p: Promise<unknown>): Promise<RuntimeError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RuntimeError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

/** Just what pullImage touches of a Daemon, with the real content store. */
function fakeDaemon(content: FsContentStore) {
  const images = new Map<string, ImageRecord>();
  const events: string[] = [];
  const daemon = {
    content,
    namespaces: { ensure: () => undefined },
    images: {
      get: (ns: string, name: string) => {
        const r = images.get(`${ns}/${name}`);
        if (!r) throw new RuntimeError('NotFound', 'no');
        return r;
      },
      put: (ns: string, rec: Omit<ImageRecord, 'createdAt' | 'updatedAt'>) => {
        const full = { ...rec, createdAt: '', updatedAt: '' };
        images.set(`${ns}/${rec.name}`, full);
        return full;
      },
    },
    events: { publish: (_ns: string, topic: string) => events.push(topic) },
    log: { info: () => undefined },
  };
  return { daemon: daemon as unknown as Daemon, images, events };
}

const FAST = { retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 5, jitter: 0 } };

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
    const { daemon, images, events } = fakeDaemon(store);
    const img = addImage(reg, 'library/app', 'v1', [randomBytes(1000), randomBytes(2000)], { index: true });
    const seen: PullProgress[] = [];
    const rec = await pullImage(daemon, 'ns', `${reg.host}/library/app:v1`, { unpack: false, registry: FAST }, (p) => seen.push(p));
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
    await pullImage(daemon, 'ns', `${reg.host}/library/app:v1`, { unpack: false, registry: FAST }, (p) => again.push(p));
    expect(again.filter((p) => p.status === 'exists').map((p) => p.digest).sort()).to.deep.equal(img.layers.map((l) => l.digest).sort());
    expect(events).to.deep.equal(['imageCreate', 'imageUpdate']);
  });

  it('shares one download between concurrent pulls of the same blob', async () => {
    const { daemon } = fakeDaemon(store);
    const img = addImage(reg, 'app', 'latest', [randomBytes(3_000_000)]);
    const layerPath = `/v2/app/blobs/${img.layers[0]!.digest}`;
    await Promise.all([1, 2, 3].map((n) => pullImage(daemon, `ns${n}`, `${reg.host}/app`, { unpack: false, registry: FAST })));
    expect(reg.log.filter((l) => l.url === layerPath)).to.have.length(1);
    expect(inflightCount()).to.equal(0);
  });

  it('records nothing for an unknown tag (NotFound)', async () => {
    const { daemon, images } = fakeDaemon(store);
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/app:missing`, { unpack: false, registry: FAST }));
    expect(err.kind).to.equal('NotFound');
    expect(images.size).to.equal(0);
    expect(await store.list()).to.deep.equal([]);
  });

  it('commits nothing when a layer does not match its digest', async () => {
    const { daemon, images } = fakeDaemon(store);
    const img = addImage(reg, 'app', 'latest', [randomBytes(1000), randomBytes(1000)]);
    reg.blobs.set(img.layers[1]!.digest, randomBytes(1000));
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/app`, { unpack: false, registry: FAST }));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include('digest mismatch');
    expect(images.size).to.equal(0);
    const stored = (await store.list()).map((i) => i.digest);
    expect(stored).to.not.include(img.layers[1]!.digest);
    expect(stored).to.not.include(img.manifest.digest);
    expect(await store.listStatuses()).to.deep.equal([]);
  });

  it('chooses the platform asked for, and names the available ones when none fits', async () => {
    const { daemon } = fakeDaemon(store);
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
    await pullImage(daemon, 'ns', `${reg.host}/multi`, { unpack: false, registry: FAST, platform: { os: 'linux', architecture: 'arm64' } });
    const stored = (await store.list()).map((i) => i.digest);
    expect(stored).to.include(arm.layers[0]!.digest).and.not.include(amd.layers[0]!.digest);
    const err = await rejection(pullImage(daemon, 'ns', `${reg.host}/multi`, { unpack: false, registry: FAST, platform: { os: 'linux', architecture: 'ppc64le' } }));
    expect(err.kind).to.equal('NotFound');
    expect(err.message).to.include('linux/ppc64le').and.include('available: linux/amd64, linux/arm64');
  });

  it('downloads at most maxConcurrentDownloads layers at once', async () => {
    const { daemon } = fakeDaemon(store);
    const layers = [1, 2, 3, 4, 5].map(() => randomBytes(200_000));
    addImage(reg, 'wide', 'latest', layers);
    let active = 0;
    let peak = 0;
    const seen = new Map<string, string>();
    await pullImage(daemon, 'ns', `${reg.host}/wide`, { unpack: false, registry: FAST, maxConcurrentDownloads: 2 }, (p) => {
      const before = seen.get(p.digest);
      if (p.status === 'downloading' && before !== 'downloading') active++;
      if ((p.status === 'done' || p.status === 'exists') && before === 'downloading') active--;
      seen.set(p.digest, p.status);
      peak = Math.max(peak, active);
    });
    expect(peak).to.be.at.most(2);
  });
});
