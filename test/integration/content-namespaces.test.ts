import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { execa } from 'execa';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { REGISTRY_BIN, startRegistry, type Registry } from '../support/registry.js';
import { startThrottleProxy, type ThrottleProxy } from '../support/registry-proxy.js';
import { pushImage, type PushTarget } from '../support/registry-push.js';
import { layerOf, randomTarEntry, sha256 } from '../support/layers.js';
import { BUSYBOX, BUSYBOX_ARCHIVE, REPO, closeBus, ctr, ctrTs, eventually, leftovers, systemdAvailable } from './helpers.js';

/**
 * Content is namespaced as in containerd: the blob files are shared, each
 * namespace has its own records. With the real ctr: an image pulled in one
 * namespace and pulled (or imported) in another is listed by both, is not
 * downloaded again, and outlives its removal from one namespace (files on
 * disk, still runnable); removed from both, its files go; a namespace that
 * never had a blob cannot read it. Namespaces `nsc-*`, removed at the end.
 */
const CONTENT = '/var/lib/containerd-ts/content';
const LAYOUT = join(REPO, 'test/fixtures/out/busybox-layout');
const NAMESPACES = ['nsc-a', 'nsc-b', 'nsc-c', 'nsc-d', 'nsc-e'];
const n = (ns: string) => (args: string[]) => ctr(['-n', ns, ...args]);
const onDisk = (digest: string) => existsSync(join(CONTENT, 'blobs/sha256', digest.slice(7)));

async function blobs(ns: string): Promise<string[]> {
  const r = await n(ns)(['content', 'ls', '-q']);
  return r.stdout.split('\n').filter(Boolean);
}

/** busybox's layer entries plus a random file (so no other test shares the blob), with busybox's config, pushed as `repo:latest`. */
async function pushUniqueBusybox(t: PushTarget) {
  const blob = (d: string) => readFileSync(join(LAYOUT, 'blobs/sha256', d.slice(7)));
  const index = JSON.parse(readFileSync(join(LAYOUT, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifestDoc = JSON.parse(blob(index.manifests[0]!.digest).toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
  let tar = gunzipSync(blob(manifestDoc.layers[0]!.digest));
  while (tar.length >= 512 && tar.subarray(tar.length - 512).every((b) => b === 0)) tar = tar.subarray(0, tar.length - 512);
  const layer = layerOf(Buffer.concat([tar, randomTarEntry('nsc.bin', 200_000)]));
  const config = JSON.parse(blob(manifestDoc.config.digest).toString()) as Record<string, unknown>;
  const pushed = await pushImage(t, 'latest', [layer], config);
  return { manifest: pushed.manifest, config: pushed.config, layer: layer.desc.digest, all: [pushed.manifest, pushed.config, layer.desc.digest] };
}

describe('content namespaces: shared blob files, per-namespace records (integration)', function () {
  this.timeout(180_000);
  let registry: Registry | undefined;
  let proxy: ThrottleProxy | undefined;
  let tmp = '';
  let image = '';
  let pushed: Awaited<ReturnType<typeof pushUniqueBusybox>>;
  const layerGets = () => proxy!.requests.filter((h) => h.startsWith(`get /v2/library/nsc/blobs/${pushed.layer}`)).length;

  before(async function () {
    if (!systemdAvailable() || !existsSync(REGISTRY_BIN) || !existsSync(LAYOUT)) this.skip();
    tmp = await mkdtemp(join(tmpdir(), 'ctrd-ts-nsc-'));
    registry = await startRegistry();
    pushed = await pushUniqueBusybox({ base: `http://${registry.host}`, repo: 'library/nsc' });
    // Unthrottled in effect: it is here to count the requests.
    proxy = await startThrottleProxy(registry.port, 1 << 30);
    image = `${proxy.host}/library/nsc:latest`;
  });

  after(async () => {
    for (const ns of NAMESPACES) {
      for (const name of [image, BUSYBOX]) if (name) await n(ns)(['images', 'rm', '--sync', name]);
      for (const lease of (await n(ns)(['leases', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await n(ns)(['leases', 'rm', '--sync', lease]);
      for (const d of await blobs(ns)) await n(ns)(['content', 'rm', d]);
      await ctr(['namespaces', 'rm', ns]);
    }
    await proxy?.stop();
    await registry?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    closeBus();
  });

  it('ctr pulls the same image in two namespaces: the second downloads no layer, both list it, a third cannot read it', async () => {
    const a = await n('nsc-a')(['images', 'pull', '--plain-http', image]);
    expect(a.exitCode, a.stderr).to.equal(0);
    expect(layerGets()).to.equal(1);
    const b = await n('nsc-b')(['images', 'pull', '--plain-http', image]);
    expect(b.exitCode, b.stderr).to.equal(0);
    expect(layerGets(), 'the layer was fetched again for the second namespace').to.equal(1);
    expect(await blobs('nsc-a')).to.include.members(pushed.all);
    expect(await blobs('nsc-b')).to.include.members(pushed.all);

    const got = await n('nsc-c')(['content', 'get', pushed.layer]);
    expect(got.exitCode).to.not.equal(0);
    expect(got.stderr).to.match(/not found/);
    expect(await blobs('nsc-c')).to.not.include(pushed.layer);
    // Labels are per namespace.
    expect((await n('nsc-b')(['content', 'label', pushed.layer, 'nsc.test=b'])).exitCode).to.equal(0);
    expect((await n('nsc-b')(['content', 'ls'])).stdout.split('\n').find((l) => l.startsWith(pushed.layer))).to.contain('nsc.test=b');
    expect((await n('nsc-a')(['content', 'ls'])).stdout.split('\n').find((l) => l.startsWith(pushed.layer))).to.not.contain('nsc.test=b');
  });

  it('ctr images import in a third namespace of what another namespace holds; removing it there leaves the others intact', async () => {
    const archive = join(tmp, 'nsc.tar');
    const exp = await n('nsc-a')(['images', 'export', archive, image]);
    expect(exp.exitCode, exp.stderr).to.equal(0);
    const imp = await n('nsc-d')(['images', 'import', archive]);
    expect(imp.exitCode, imp.stderr).to.equal(0);
    expect(await blobs('nsc-d')).to.include.members(pushed.all);
    const run = await n('nsc-d')(['run', '--rm', image, 'nsc-d1', 'sh', '-c', 'test -f /nsc.bin && echo imported']);
    expect(run.stdout.trim(), run.stderr).to.equal('imported');
    expect(await leftovers('nsc-d1', 'nsc-d')).to.deep.equal([]);
    expect((await n('nsc-d')(['images', 'rm', '--sync', image])).exitCode).to.equal(0);
    expect(await blobs('nsc-d')).to.deep.equal([]);
    for (const d of pushed.all) expect(onDisk(d), d).to.equal(true);
  });

  it('ctr -n b images rm: after the collection b has no record, a keeps its blobs on disk and still runs the image', async () => {
    const rmb = await n('nsc-b')(['images', 'rm', image]);
    expect(rmb.exitCode, rmb.stderr).to.equal(0);
    // Without --sync the collection runs in the background.
    expect(await eventually(async () => !(await blobs('nsc-b')).some((d) => pushed.all.includes(d)))).to.equal(true);
    expect(await blobs('nsc-a')).to.include.members(pushed.all);
    for (const d of pushed.all) expect(onDisk(d), d).to.equal(true);
    const run = await n('nsc-a')(['run', '--rm', image, 'nsc-a1', 'sh', '-c', 'test -f /nsc.bin && echo still here']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stdout.trim()).to.equal('still here');
    expect(await leftovers('nsc-a1', 'nsc-a')).to.deep.equal([]);
  });

  it('ctr content rm in one namespace removes only that record; removed from every namespace, the blob files go', async () => {
    const pulled = await n('nsc-e')(['images', 'pull', '--plain-http', image]);
    expect(pulled.exitCode, pulled.stderr).to.equal(0);
    expect(layerGets()).to.equal(1);
    const removed = await n('nsc-e')(['content', 'rm', pushed.layer]);
    expect(removed.exitCode, removed.stderr).to.equal(0);
    expect(await blobs('nsc-e')).to.not.include(pushed.layer);
    expect(await blobs('nsc-a')).to.include(pushed.layer);
    expect((await n('nsc-a')(['content', 'get', pushed.layer])).exitCode).to.equal(0);
    expect((await n('nsc-e')(['images', 'rm', '--sync', image])).exitCode).to.equal(0);
    for (const d of pushed.all) expect(onDisk(d), d).to.equal(true);

    expect((await n('nsc-a')(['images', 'rm', '--sync', image])).exitCode).to.equal(0);
    for (const ns of ['nsc-a', 'nsc-b', 'nsc-e']) expect(await blobs(ns), ns).to.not.include.members([pushed.layer]);
    expect(await eventually(async () => pushed.all.every((d) => !onDisk(d)))).to.equal(true);
  });

  it('ctr-ts imports busybox in two namespaces; removing it from one leaves the other runnable', async () => {
    for (const ns of ['nsc-a', 'nsc-b']) {
      const r = await ctrTs(['-n', ns, 'images', 'import', BUSYBOX_ARCHIVE]);
      expect(r.exitCode, r.stderr).to.equal(0);
    }
    const inA = await blobs('nsc-a');
    expect(inA.length).to.be.greaterThan(0);
    expect(await blobs('nsc-b')).to.include.members(inA);
    expect((await ctrTs(['-n', 'nsc-a', 'images', 'rm', BUSYBOX])).exitCode).to.equal(0);
    expect(await blobs('nsc-a')).to.deep.equal([]);
    for (const d of inA) expect(onDisk(d), d).to.equal(true);
    const run = await ctrTs(['-n', 'nsc-b', 'run', '--rm', BUSYBOX, 'nsc-b1', 'echo', 'ok']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stdout.trim()).to.equal('ok');
    expect(await leftovers('nsc-b1', 'nsc-b')).to.deep.equal([]);
  });

  it('a store from before namespaced content: at start-up every blob becomes a record in every namespace with its old labels; the next collection prunes', async () => {
    const inB = await blobs('nsc-b');
    const data = randomBytes(5000);
    const old = sha256(data);
    // What the old layout left: a blob file with a label file, and no content records in the metadata.
    await execa('systemctl', ['stop', 'containerd-ts']);
    try {
      writeFileSync(join(CONTENT, 'blobs/sha256', old.slice(7)), data, { mode: 0o444 });
      mkdirSync(join(CONTENT, 'labels/sha256'), { recursive: true });
      writeFileSync(join(CONTENT, 'labels/sha256', `${old.slice(7)}.json`), JSON.stringify({ 'nsc.old': 'yes' }));
      const db = new MetadataDb('/var/lib/containerd-ts');
      db.content.clearSync();
      db.schema.removeSync('content');
      await db.close();
    } finally {
      await execa('systemctl', ['start', 'containerd-ts']);
    }
    expect(await eventually(async () => (await ctr(['version'])).exitCode === 0, 30_000)).to.equal(true);
    for (const ns of ['default', 'nsc-a', 'nsc-b']) {
      expect((await n(ns)(['content', 'ls'])).stdout.split('\n').find((l) => l.startsWith(old)), ns).to.contain('nsc.old=yes');
      expect(await blobs(ns), ns).to.include.members(inB);
    }
    // Any collection: here deleting a lease synchronously.
    expect((await n('nsc-a')(['leases', 'create', '--id', 'nsc-gc'])).exitCode).to.equal(0);
    expect((await n('nsc-a')(['leases', 'rm', '--sync', 'nsc-gc'])).exitCode).to.equal(0);
    for (const ns of ['default', 'nsc-a', 'nsc-b']) expect(await blobs(ns), ns).to.not.include(old);
    expect(onDisk(old)).to.equal(false);
    expect((await blobs('nsc-a')).filter((d) => inB.includes(d))).to.deep.equal([]); // nsc-a has no image
    expect(await blobs('nsc-b')).to.include.members(inB);
    const run = await ctrTs(['-n', 'nsc-b', 'run', '--rm', BUSYBOX, 'nsc-b2', 'echo', 'ok']);
    expect(run.stdout.trim(), run.stderr).to.equal('ok');
  });
});
