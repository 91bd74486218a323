import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { execa } from 'execa';
import { loadContainerdApi } from '../../src/proto.js';
import type { ContentClient, Init, WriteContentRequest, WriteContentResponse } from '../../src/proto-types.js';
import { REGISTRY_BIN, startRegistry, type Registry } from '../support/registry.js';
import { pushBlob, pushImage, pushManifest, type PushTarget } from '../support/registry-push.js';
import { REPO, SOCKET, closeBus, ctr, ctrTs, eventually, killDaemon, leftovers, systemdAvailable } from './helpers.js';
import { layerOf, randomTarEntry as randomEntry, sha256 } from '../support/layers.js';

/**
 * The real containerd 1.6 `ctr` pulling, running, exporting, importing and
 * removing images against our daemon (Content.Write, Leases, Snapshots,
 * Diff.Apply, Images), and the garbage collector freeing what a removed
 * image alone used. Everything runs in namespace `ctrimg` and is removed
 * again; the registry is Debian's docker-registry on loopback. The images
 * are busybox plus a random file, so no blob file is shared with images other
 * tests keep in other namespaces (a file stays while any namespace has it).
 */
const NS = 'ctrimg';
const LAYOUT = join(REPO, 'test/fixtures/out/busybox-layout');
const c = (args: string[]) => ctr(['-n', NS, ...args]);

/** The busybox fixture's entries (its tar without the trailing zero blocks) and config. */
function busyboxFixture(): { entries: Buffer; config: Record<string, unknown> } {
  const blob = (d: string) => readFileSync(join(LAYOUT, 'blobs/sha256', d.slice(7)));
  const index = JSON.parse(readFileSync(join(LAYOUT, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const manifest = JSON.parse(blob(index.manifests[0]!.digest).toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
  let tar = gunzipSync(blob(manifest.layers[0]!.digest));
  while (tar.length >= 512 && tar.subarray(tar.length - 512).every((b) => b === 0)) tar = tar.subarray(0, tar.length - 512);
  return { entries: tar, config: JSON.parse(blob(manifest.config.digest).toString()) as Record<string, unknown> };
}

/** Digests in `ctr content ls`. */
async function blobs(): Promise<string[]> {
  const r = await c(['content', 'ls', '-q']);
  return r.stdout.split('\n').filter(Boolean);
}

/** Snapshot keys in `ctr snapshots ls` of our namespace. */
async function snapshots(): Promise<string[]> {
  const r = await c(['snapshots', 'ls']);
  return r.stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]!).filter(Boolean);
}

/** A raw Content.Write stream (what ctr's remote writer does), optionally under a lease. */
function writeStream(lease?: string) {
  const api = loadContainerdApi();
  const client = new api.services.content.Client(`unix://${SOCKET}`, grpc.credentials.createInsecure()) as unknown as ContentClient & grpc.Client;
  const md = new grpc.Metadata();
  md.set('containerd-namespace', NS);
  if (lease) md.set('containerd-lease', lease);
  const call = (client as unknown as { Write(md: grpc.Metadata): grpc.ClientDuplexStream<Init<WriteContentRequest>, WriteContentResponse> }).Write(md);
  const answers: Array<(r: WriteContentResponse | grpc.ServiceError) => void> = [];
  call.on('data', (r: WriteContentResponse) => answers.shift()?.(r));
  call.on('error', (e: grpc.ServiceError) => answers.splice(0).forEach((a) => a(e)));
  const ended = new Promise<void>((resolve) => {
    call.on('status', () => resolve());
  });
  return {
    send: (msg: Init<WriteContentRequest>) =>
      new Promise<WriteContentResponse>((resolve, reject) => {
        answers.push((r) => ('code' in r && typeof r.code === 'number' && 'details' in r ? reject(r) : resolve(r as WriteContentResponse)));
        call.write(msg);
      }),
    end: async () => {
      call.end();
      await ended;
      client.close();
    },
    /** Drops the stream without ending it (the daemon is gone). */
    abandon: () => {
      call.on('error', () => undefined);
      client.close();
    },
  };
}

describe('the real ctr against containerd-ts: pull, run, export/import, rm and garbage collection (integration)', function () {
  this.timeout(180_000);
  let registry: Registry | undefined;
  let tmp = '';
  let busybox = '';
  let two = '';
  type Pushed = Awaited<ReturnType<typeof pushImage>>;
  let bb: Pushed;
  let sharing: Pushed;

  before(async function () {
    if (!systemdAvailable() || !existsSync(REGISTRY_BIN) || !existsSync(LAYOUT)) this.skip();
    tmp = await mkdtemp(join(tmpdir(), 'ctrd-ts-ctrimg-'));
    registry = await startRegistry();
    const fixture = busyboxFixture();
    const base = layerOf(Buffer.concat([fixture.entries, randomEntry('unique.bin')]));
    const extra = layerOf(randomEntry('random.bin'));
    bb = await pushImage({ base: `http://${registry.host}`, repo: 'library/busybox' }, 'latest', [base], fixture.config);
    sharing = await pushImage({ base: `http://${registry.host}`, repo: 'library/two' }, 'latest', [base, extra], fixture.config);
    busybox = `${registry.host}/library/busybox:latest`;
    two = `${registry.host}/library/two:latest`;
  });

  after(async () => {
    for (const name of [busybox, two]) if (name) await c(['images', 'rm', '--sync', name]);
    for (const lease of (await c(['leases', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await c(['leases', 'rm', '--sync', lease]);
    await ctr(['namespaces', 'rm', NS]);
    await registry?.stop();
    if (tmp) await rm(tmp, { recursive: true, force: true });
    closeBus();
  });

  it('ctr images pull --plain-http stores the blobs and unpacks; ctr run --rm runs it; no lease is left', async () => {
    const pull = await c(['images', 'pull', '--plain-http', busybox]);
    expect(pull.exitCode, pull.stderr).to.equal(0);
    expect((await c(['images', 'ls', '-q'])).stdout.split('\n')).to.include(busybox);
    expect(await blobs()).to.include.members([bb.manifest, bb.config, ...bb.layers]);
    expect(await snapshots()).to.include(bb.chainBase);
    const info = await c(['content', 'ls']);
    expect(info.stdout).to.contain(`containerd.io/gc.ref.snapshot.overlayfs=${bb.chainBase}`);
    expect((await c(['leases', 'ls', '-q'])).stdout.trim()).to.equal('');

    const run = await c(['run', '--rm', busybox, 'ctrimg-1', 'echo', 'pulled by ctr']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stdout.trim()).to.equal('pulled by ctr');
    expect(await leftovers('ctrimg-1', NS)).to.deep.equal([]);
  });

  it('ctr images export, rm (blobs and snapshot collected), import, and the image runs again', async () => {
    const archive = join(tmp, 'busybox.tar');
    const exp = await c(['images', 'export', archive, busybox]);
    expect(exp.exitCode, exp.stderr).to.equal(0);
    const rmr = await c(['images', 'rm', busybox]);
    expect(rmr.exitCode, rmr.stderr).to.equal(0);
    // Without --sync the collection runs in the background.
    expect(await eventually(async () => !(await blobs()).some((d) => [bb.manifest, bb.config, ...bb.layers].includes(d)))).to.equal(true);
    expect(await snapshots()).to.not.include(bb.chainBase);

    const imp = await c(['images', 'import', archive]);
    expect(imp.exitCode, imp.stderr).to.equal(0);
    expect((await c(['images', 'ls', '-q'])).stdout.split('\n')).to.include(busybox);
    expect(await snapshots()).to.include(bb.chainBase);
    const run = await c(['run', '--rm', busybox, 'ctrimg-2', 'echo', 'imported']);
    expect(run.exitCode, run.stderr).to.equal(0);
    expect(run.stdout.trim()).to.equal('imported');
    expect(await leftovers('ctrimg-2', NS)).to.deep.equal([]);
  });

  it('removing one of two images that share a layer keeps the shared layer and snapshot; removing both frees everything', async () => {
    const pull = await c(['images', 'pull', '--plain-http', two]);
    expect(pull.exitCode, pull.stderr).to.equal(0);
    const run = await c(['run', '--rm', two, 'ctrimg-3', 'sh', '-c', 'test -f /random.bin && test -f /unique.bin && echo both layers']);
    expect(run.stdout.trim(), run.stderr).to.equal('both layers');
    expect(await leftovers('ctrimg-3', NS)).to.deep.equal([]);

    expect((await c(['images', 'rm', '--sync', busybox])).exitCode).to.equal(0);
    const left = await blobs();
    expect(left).to.include.members([...bb.layers, sharing.manifest, sharing.config, ...sharing.layers]);
    expect(left).to.not.include(bb.manifest);
    expect(left).to.not.include(bb.config);
    expect(await snapshots()).to.include(bb.chainBase); // the parent of two's top layer

    expect((await c(['images', 'rm', '--sync', two])).exitCode).to.equal(0);
    const none = await blobs();
    for (const d of [sharing.manifest, sharing.config, ...sharing.layers]) expect(none).to.not.include(d);
    expect(await snapshots()).to.deep.equal([]);
  });

  it('ctr pulls and runs an image with a zstd layer (Diff.Apply decompresses it), and rm frees it', async () => {
    const fixture = busyboxFixture();
    const tar = Buffer.concat([fixture.entries, randomEntry('zstd.bin'), Buffer.alloc(1024)]);
    const { stdout } = await execa('zstd', ['-q', '-c'], { input: tar, encoding: 'buffer' });
    const zst = Buffer.from(stdout);
    const layer = { gz: zst, diffId: sha256(tar), desc: { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd', digest: sha256(zst), size: zst.length } };
    const pushed = await pushImage({ base: `http://${registry!.host}`, repo: 'library/zstd' }, 'latest', [layer], fixture.config);
    const name = `${registry!.host}/library/zstd:latest`;
    const pull = await c(['images', 'pull', '--plain-http', name]);
    expect(pull.exitCode, pull.stderr).to.equal(0);
    const run = await c(['run', '--rm', name, 'ctrimg-z', 'sh', '-c', 'test -f /zstd.bin && echo zstd layer']);
    expect(run.stdout.trim(), run.stderr).to.equal('zstd layer');
    expect(await leftovers('ctrimg-z', NS)).to.deep.equal([]);
    expect((await c(['images', 'rm', '--sync', name])).exitCode).to.equal(0);
    const left = await blobs();
    for (const d of [pushed.manifest, pushed.config, ...pushed.layers]) expect(left).to.not.include(d);
    expect(await snapshots()).to.deep.equal([]);
  });

  it('ctr-ts images pull holds its blobs while pulling, and ctr-ts images rm frees them', async () => {
    const pull = await ctrTs(['-n', NS, 'images', 'pull', '--plain-http', busybox]);
    expect(pull.exitCode, pull.stderr).to.equal(0);
    expect(await blobs()).to.include.members([bb.manifest, bb.config, ...bb.layers]);
    const ours = await ctrTs(['-n', NS, 'content', 'ls']);
    expect(ours.stdout).to.contain(bb.layers[0]);
    expect((await ctrTs(['-n', NS, 'snapshots', 'ls'])).stdout).to.match(new RegExp(`${bb.chainBase}\\s+Committed`));
    const usage = await ctrTs(['-n', NS, 'snapshots', 'usage', bb.chainBase]);
    expect(usage.exitCode, usage.stderr).to.equal(0);
    expect(usage.stdout).to.match(new RegExp(`${bb.chainBase}\\s+[0-9.]+ (KiB|MiB)\\s+[1-9]\\d*`));
    const rmr = await ctrTs(['-n', NS, 'images', 'rm', busybox]);
    expect(rmr.exitCode, rmr.stderr).to.equal(0);
    const left = await blobs();
    for (const d of [bb.manifest, bb.config, ...bb.layers]) expect(left).to.not.include(d);
    expect(await snapshots()).to.deep.equal([]);
  });

  it('Content.Write with a wrong expected digest is rejected and commits nothing', async () => {
    const data = randomBytes(1000);
    const wrong = sha256(Buffer.from('not these bytes'));
    const r = await execa('ctr', ['--address', SOCKET, '-n', NS, 'content', 'ingest', '--expected-digest', wrong, 'ctrimg-bad'], { input: data, reject: false });
    expect(r.exitCode).to.not.equal(0);
    expect(r.stderr).to.match(/digest mismatch|unexpected commit digest/);
    expect(await blobs()).to.not.include(sha256(data));
    expect(await blobs()).to.not.include(wrong);
    expect((await c(['content', 'active'])).stdout).to.not.contain('ctrimg-bad');

    const good = await execa('ctr', ['--address', SOCKET, '-n', NS, 'content', 'ingest', '--expected-digest', sha256(data), 'ctrimg-good'], { input: data, reject: false });
    expect(good.exitCode, good.stderr).to.equal(0);
    expect(await blobs()).to.include(sha256(data));
    const removed = await ctrTs(['-n', NS, 'content', 'rm', sha256(data)]);
    expect(removed.exitCode, removed.stderr).to.equal(0);
    expect(await blobs()).to.not.include(sha256(data));
  });

  it('a lease keeps content written under it from garbage collection until the lease is deleted', async () => {
    const created = await c(['leases', 'create', '--id', 'ctrimg-lease']);
    expect(created.exitCode, created.stderr).to.equal(0);
    const data = randomBytes(2000);
    const digest = sha256(data);
    const w = writeStream('ctrimg-lease');
    const done = await w.send({ action: 'COMMIT', ref: 'ctrimg-leased', data, total: String(data.length), expected: digest });
    await w.end();
    expect(done.digest).to.equal(digest);
    // Any collection (here: deleting another lease synchronously) leaves it alone.
    expect((await c(['leases', 'create', '--id', 'ctrimg-other'])).exitCode).to.equal(0);
    expect((await c(['leases', 'rm', '--sync', 'ctrimg-other'])).exitCode).to.equal(0);
    expect(await blobs()).to.include(digest);
    expect((await c(['leases', 'rm', '--sync', 'ctrimg-lease'])).exitCode).to.equal(0);
    expect(await blobs()).to.not.include(digest);
  });

  it('a write cut by the daemon being SIGKILLed is listed by ctr content active after the restart and resumes at its offset', async () => {
    expect((await c(['leases', 'create', '--id', 'ctrimg-resume'])).exitCode).to.equal(0);
    const data = randomBytes(300_000);
    const digest = sha256(data);
    const first = writeStream('ctrimg-resume');
    await first.send({ action: 'WRITE', ref: 'ctrimg-partial', total: String(data.length), expected: digest, data: data.subarray(0, 100_000) });
    await killDaemon();
    first.abandon();
    // systemd restarts the daemon (Restart=always); wait for it to answer.
    expect(await eventually(async () => (await ctr(['version'])).exitCode === 0, 30_000)).to.equal(true);
    const active = await c(['content', 'active']);
    expect(active.stdout).to.match(/ctrimg-partial\s+100(\.0)?\s?kB/i);
    const again = writeStream('ctrimg-resume');
    const stat = await again.send({ action: 'STAT', ref: 'ctrimg-partial', total: String(data.length), expected: digest });
    expect(stat.offset).to.equal('100000');
    const done = await again.send({ action: 'COMMIT', offset: '100000', data: data.subarray(100_000), total: String(data.length), expected: digest });
    await again.end();
    expect(done.digest).to.equal(digest);
    expect(await blobs()).to.include(digest);
    expect((await c(['leases', 'rm', '--sync', 'ctrimg-resume'])).exitCode).to.equal(0);
    expect(await blobs()).to.not.include(digest);
    expect((await c(['content', 'active'])).stdout).to.not.contain('ctrimg-partial');
  });
});
