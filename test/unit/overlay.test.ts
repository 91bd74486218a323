import { expect } from 'chai';
import { execa } from 'execa';
import { open as openLmdb, type RootDatabase } from 'lmdb';
import { mkdir, readdir, readFile, stat, writeFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { MediaTypes, type Manifest } from '../../src/oci/image-types.js';
import { chainId, chainIds } from '../../src/snapshot/chain-id.js';
import { writeBlob } from '../../src/snapshot/content-helpers.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { digestOf, type Digest } from '../../src/snapshot/digest.js';
import { writableDir } from '../../src/snapshot/mounts.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import type { Info, Mount } from '../../src/snapshot/snapshotter.js';
import { unpackImage } from '../../src/snapshot/unpack.js';
import { canMountOverlay, listDir, makeTar, removeTempDir, tempDir, type TarEntrySpec } from './snapshot-helpers.js';
import { rejection } from '../support/rejection.js';

/** Mounts `mounts` (one overlay or bind mount) at `target` with mount(8). */
async function mountAll(mounts: Mount[], target: string): Promise<void> {
  const m = mounts[0] as Mount;
  await execa('mount', ['-t', m.type === 'bind' ? 'none' : m.type, '-o', m.options.join(','), m.source, target]);
}

async function walkAll(s: OverlaySnapshotter): Promise<Info[]> {
  const all: Info[] = [];
  await s.walk((i) => {
    all.push(i);
  });
  return all;
}

describe('snapshot/overlay', function () {
  this.timeout(30000);
  let base: string;
  let db: RootDatabase<unknown, string>;
  let snap: OverlaySnapshotter;
  let mountable = false;

  before(async () => {
    const probe = await tempDir('overlay-probe');
    mountable = await canMountOverlay(probe);
  });

  beforeEach(async () => {
    base = await tempDir('overlay');
    db = openLmdb<unknown, string>({ path: join(base, 'meta.lmdb') });
    snap = new OverlaySnapshotter({ root: join(base, 'root'), db });
  });
  afterEach(async () => {
    await db.close();
    await removeTempDir(base);
  });

  const fsDirOf = (mounts: Mount[]) => writableDir(mounts);

  it('prepares, commits and stacks snapshots with containerd-shaped mounts', async () => {
    const m1 = await snap.prepare('ns/a', undefined, { team: 'x' });
    expect(m1).to.have.length(1);
    expect(m1[0]!.type).to.equal('bind');
    expect(m1[0]!.options).to.deep.equal(['rbind', 'rw']);
    const aDir = fsDirOf(m1);
    expect(aDir).to.match(/\/snapshots\/\d+\/fs$/);
    await writeFile(join(aDir, 'from-a'), 'a');
    expect((await snap.stat('ns/a')).kind).to.equal('active');
    await snap.commit('ns/A', 'ns/a');
    expect((await rejection(snap.stat('ns/a'))).kind).to.equal('NotFound');
    const A = await snap.stat('ns/A');
    expect(A).to.include({ name: 'ns/A', kind: 'committed' });
    expect(A.labels).to.deep.equal({ team: 'x' });
    expect((await snap.usage('ns/A')).inodes).to.be.greaterThan(0);

    const m2 = await snap.prepare('ns/b', 'ns/A');
    expect(m2[0]!.type).to.equal('overlay');
    const opts = m2[0]!.options;
    expect(opts.find((o) => o.startsWith('lowerdir='))).to.equal(`lowerdir=${aDir}`);
    expect(opts.some((o) => o.startsWith('upperdir='))).to.equal(true);
    expect(opts.some((o) => o.startsWith('workdir='))).to.equal(true);
    const bDir = fsDirOf(m2);
    await writeFile(join(bDir, 'from-b'), 'b');
    await snap.commit('ns/B', 'ns/b');

    const m3 = await snap.prepare('ns/c', 'ns/B');
    const lower = m3[0]!.options.find((o) => o.startsWith('lowerdir='));
    expect(lower, 'nearest parent first').to.equal(`lowerdir=${bDir}:${aDir}`);
    expect(await snap.mounts('ns/c')).to.deep.equal(m3);

    const v1 = await snap.view('ns/v1', 'ns/A');
    expect(v1).to.deep.equal([{ type: 'bind', source: aDir, options: ['rbind', 'ro'] }]);
    const v2 = await snap.view('ns/v2', 'ns/B');
    expect(v2[0]!.type).to.equal('overlay');
    expect(v2[0]!.options.some((o) => o.startsWith('upperdir='))).to.equal(false);
    expect(v2[0]!.options.find((o) => o.startsWith('lowerdir='))).to.equal(`lowerdir=${bDir}:${aDir}`);
    const v0 = await snap.view('ns/v0');
    expect(v0[0]!.options).to.deep.equal(['rbind', 'ro']);

    const names = (await walkAll(snap)).map((i) => `${i.name}:${i.kind}:${i.parent ?? ''}`).sort();
    expect(names).to.deep.equal(['ns/A:committed:', 'ns/B:committed:ns/A', 'ns/c:active:ns/B', 'ns/v0:view:', 'ns/v1:view:ns/A', 'ns/v2:view:ns/B']);
  });

  it('enforces the snapshot rules with containerd error kinds', async () => {
    await snap.prepare('a');
    expect((await rejection(snap.prepare('a'))).kind).to.equal('AlreadyExists');
    expect((await rejection(snap.prepare('b', 'missing'))).kind).to.equal('NotFound');
    expect((await rejection(snap.prepare('b', 'a'))).kind, 'parent must be committed').to.equal('InvalidArgument');
    await snap.commit('A', 'a');
    expect((await rejection(snap.mounts('A'))).kind).to.equal('FailedPrecondition');
    await snap.view('v', 'A');
    expect((await rejection(snap.commit('V', 'v'))).kind).to.equal('FailedPrecondition');
    await snap.prepare('c', 'A');
    expect((await rejection(snap.commit('A', 'c'))).kind).to.equal('AlreadyExists');
    expect((await snap.stat('c')).kind, 'a failed commit leaves the key active').to.equal('active');
    const err = await rejection(snap.remove('A'));
    expect(err.kind).to.equal('FailedPrecondition');
    expect(err.message).to.match(/child/);
    expect((await rejection(snap.stat('nope'))).kind).to.equal('NotFound');
    expect((await rejection(snap.remove('nope'))).kind).to.equal('NotFound');
    expect((await rejection(snap.prepare(''))).kind).to.equal('InvalidArgument');
  });

  it('removes directories with their snapshots, children first, and keeps ids unique', async () => {
    const ma = await snap.prepare('a');
    const aDir = fsDirOf(ma);
    await snap.commit('A', 'a');
    const mb = await snap.prepare('b', 'A');
    const bSnapDir = join(fsDirOf(mb), '..');
    await snap.remove('b');
    expect(await stat(bSnapDir).catch(() => undefined)).to.equal(undefined);
    await snap.remove('A');
    expect(await stat(join(aDir, '..')).catch(() => undefined)).to.equal(undefined);
    expect(await walkAll(snap)).to.deep.equal([]);
    // The trees are deleted after remove() answers; nothing of them stays.
    await snap.settled();
    expect(await readdir(join(base, 'root', 'snapshots'))).to.deep.equal([]);
    const mc = await snap.prepare('c');
    expect(fsDirOf(mc)).to.not.equal(aDir);
  });

  it('updates labels and keeps everything across a reopen of the database', async () => {
    await snap.prepare('a');
    await snap.commit('A', 'a', { kept: 'yes' });
    await snap.update('A', { kept: 'still', more: '1' });
    await db.close();
    db = openLmdb<unknown, string>({ path: join(base, 'meta.lmdb') });
    const reopened = new OverlaySnapshotter({ root: join(base, 'root'), db });
    expect((await reopened.stat('A')).labels).to.deep.equal({ kept: 'still', more: '1' });
    expect(await reopened.cleanup()).to.deep.equal([]);
    await mkdir(join(base, 'root', 'snapshots', '999'));
    await mkdir(join(base, 'root', 'snapshots', 'removing-7', 'fs', 'deep'), { recursive: true });
    expect((await reopened.cleanup()).map((p) => p.split('/').pop()).sort()).to.deep.equal(['999', 'removing-7']);
    expect(await readdir(join(base, 'root', 'snapshots'))).to.have.length(1);
  });

  it('mounts the returned overlay mounts and shows the merged content', async function () {
    if (!mountable) this.skip();
    const ma = await snap.prepare('a');
    await writeFile(join(fsDirOf(ma), 'shared'), 'from a');
    await writeFile(join(fsDirOf(ma), 'only-a'), 'a');
    await snap.commit('A', 'a');
    const mb = await snap.prepare('b', 'A');
    await writeFile(join(fsDirOf(mb), 'shared'), 'from b');
    await snap.commit('B', 'b');
    const mc = await snap.prepare('c', 'B');
    const mnt = join(base, 'mnt');
    await mkdir(mnt);
    await mountAll(mc, mnt);
    try {
      expect((await listDir(mnt)).sort()).to.deep.equal(['only-a', 'shared']);
      expect(await readFile(join(mnt, 'shared'), 'utf8')).to.equal('from b');
      await writeFile(join(mnt, 'new'), 'written through the mount');
    } finally {
      await execa('umount', [mnt]);
    }
    expect(await readFile(join(fsDirOf(mc), 'new'), 'utf8')).to.equal('written through the mount');
    const view = await snap.view('v', 'B');
    await mountAll(view, mnt);
    try {
      expect(await readFile(join(mnt, 'only-a'), 'utf8')).to.equal('a');
      const write = await execa('sh', ['-c', `echo x > ${mnt}/nope`], { reject: false });
      expect(write.exitCode, 'a view is read-only').to.not.equal(0);
    } finally {
      await execa('umount', [mnt]);
    }
  });

  describe('unpackImage', () => {
    let content: FsContentStore;

    beforeEach(async () => {
      content = await FsContentStore.open(join(base, 'content'));
    });

    /** Stores layers + config + manifest; returns the manifest. */
    async function storeImage(layers: TarEntrySpec[][], diffIdOverride?: Digest[]): Promise<{ manifest: Manifest; diffIds: Digest[] }> {
      const descs = [];
      const diffIds: Digest[] = [];
      for (const [i, entries] of layers.entries()) {
        const tarBytes = await makeTar(entries);
        diffIds.push(digestOf(tarBytes));
        const gz = gzipSync(tarBytes);
        const info = await writeBlob(content, Readable.from([gz]), { ref: `layer-${i}` });
        descs.push({ mediaType: MediaTypes.LayerGzip, digest: info.digest, size: info.size });
      }
      const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIdOverride ?? diffIds } }));
      const cinfo = await writeBlob(content, Readable.from([config]), { ref: 'config' });
      const manifest: Manifest = {
        schemaVersion: 2,
        mediaType: MediaTypes.ImageManifest,
        config: { mediaType: MediaTypes.ImageConfig, digest: cinfo.digest, size: cinfo.size },
        layers: descs,
      };
      return { manifest, diffIds };
    }

    const layers: TarEntrySpec[][] = [
      [
        { name: 'etc', type: 'directory' },
        { name: 'etc/removed', content: 'old' },
        { name: 'etc/kept', content: 'kept' },
        { name: 'opaque', type: 'directory' },
        { name: 'opaque/hidden', content: 'lower' },
      ],
      [
        { name: 'etc/.wh.removed', content: '' },
        { name: 'opaque/.wh..wh..opq', content: '' },
        { name: 'opaque/visible', content: 'upper' },
      ],
    ];

    it('unpacks layers into committed chain-ID snapshots, reuses them, and the mounted result honours whiteouts', async function () {
      const { manifest, diffIds } = await storeImage(layers);
      const result = await unpackImage({ content, snapshotter: snap, manifest, keyPrefix: 'default/' });
      expect(result.diffIds).to.deep.equal(diffIds);
      expect(result.chainId).to.equal(chainId(diffIds));
      expect(chainIds(diffIds)[0]).to.equal(diffIds[0]);
      expect(chainIds(diffIds)[1]).to.equal(digestOf(`${diffIds[0]} ${diffIds[1]}`));
      const infos = await walkAll(snap);
      expect(infos.map((i) => `${i.name}:${i.kind}`).sort()).to.deep.equal(chainIds(diffIds).map((c) => `default/${c}:committed`).sort());
      expect((await snap.stat(`default/${result.chainId}`)).parent).to.equal(`default/${diffIds[0]}`);

      const again = await unpackImage({ content, snapshotter: snap, manifest, keyPrefix: 'default/' });
      expect(again.chainId).to.equal(result.chainId);
      expect(await walkAll(snap)).to.have.length(2);

      if (!mountable) return;
      const mounts = await snap.prepare('default/ctr1', `default/${result.chainId}`);
      const mnt = join(base, 'mnt');
      await mkdir(mnt);
      await mountAll(mounts, mnt);
      try {
        expect((await listDir(join(mnt, 'etc'))).sort()).to.deep.equal(['kept']);
        expect((await listDir(join(mnt, 'opaque'))).sort()).to.deep.equal(['visible']);
      } finally {
        await execa('umount', [mnt]);
      }
    });

    it('rejects a diffID mismatch and removes every snapshot it created', async () => {
      const { manifest, diffIds } = await storeImage(layers);
      const wrong: Digest[] = [diffIds[0] as Digest, digestOf('not the layer')];
      const { manifest: bad } = await storeImage(layers, wrong);
      const err = await rejection(unpackImage({ content, snapshotter: snap, manifest: { ...bad, layers: manifest.layers }, keyPrefix: 'default/' }));
      expect(err.kind).to.equal('InvalidArgument');
      expect(err.message).to.include(diffIds[1] as string);
      expect(err.message).to.include(wrong[1] as string);
      expect(await walkAll(snap)).to.deep.equal([]);
      await snap.settled();
      expect(await listDir(join(base, 'root', 'snapshots'))).to.deep.equal([]);
    });

    it('rejects a hostile layer without leaving snapshots or files outside', async () => {
      const { manifest } = await storeImage([[{ name: 'ok', content: 'fine' }], [{ name: '../../escape', content: 'x' }]]);
      const err = await rejection(unpackImage({ content, snapshotter: snap, manifest, keyPrefix: 'k/' }));
      expect(err.kind).to.equal('InvalidArgument');
      expect(err.message).to.include('../../escape');
      expect(await walkAll(snap)).to.deep.equal([]);
      await snap.settled();
      expect(await listDir(join(base, 'root', 'snapshots'))).to.deep.equal([]);
      expect(await lstat(join(base, 'root', 'escape')).catch(() => undefined)).to.equal(undefined);
    });

    it('rejects configs whose diff_ids do not match the layer count', async () => {
      const { manifest, diffIds } = await storeImage(layers);
      const { manifest: short } = await storeImage(layers, [diffIds[0] as Digest]);
      const err = await rejection(unpackImage({ content, snapshotter: snap, manifest: { ...short, layers: manifest.layers }, keyPrefix: '' }));
      expect(err.kind).to.equal('InvalidArgument');
      expect(err.message).to.match(/1 diff_ids for 2 layers/);
    });
  });
});
