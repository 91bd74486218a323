import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RuntimeError } from '../../src/errors.js';
import { applyLayer, startLayerApply } from '../../src/snapshot/apply.js';
import { ExtractorPool } from '../../src/snapshot/apply-pool.js';
import { gzipSync } from 'node:zlib';
import { buildBusybox, getXattr, listDir, pad, paxBlock, rawHeader, removeTempDir, streamOf, TAR_END, tempDir, makeTar, type TarEntrySpec } from './snapshot-helpers.js';
import { rejection } from '../support/rejection.js';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const PLAIN = 'application/vnd.oci.image.layer.v1.tar';

describe('snapshot/apply', function () {
  this.timeout(20000);
  let base: string;
  let target: string;
  let sentinel: string;

  beforeEach(async () => {
    base = await tempDir('apply');
    target = join(base, 'target');
    sentinel = join(base, 'sentinel');
    await mkdir(target);
    await mkdir(sentinel);
  });
  afterEach(async () => {
    await removeTempDir(base);
  });

  const apply = async (entries: TarEntrySpec[], gzip = false) => applyLayer(streamOf(await makeTar(entries), gzip), gzip ? GZIP : PLAIN, target);

  /** Asserts a rejection naming `entry`, and that nothing appeared outside the target. */
  async function expectRejected(p: Promise<unknown>, entry: string): Promise<RuntimeError> {
    const err = await rejection(p);
    expect(err.kind, err.message).to.equal('InvalidArgument');
    expect(err.message).to.include(entry);
    expect(await listDir(sentinel), 'sentinel dir must stay empty').to.deep.equal([]);
    expect((await listDir(base)).sort()).to.deep.equal(['sentinel', 'target']);
    return err;
  }

  describe('rejects hostile layers and writes nothing outside', () => {
    it('`../` paths', async () => {
      await expectRejected(apply([{ name: '../sentinel/x', content: 'pwned' }]), '../sentinel/x');
    });

    it('absolute paths (/etc/x and the sentinel itself)', async () => {
      await expectRejected(apply([{ name: '/etc/containerd-ts-apply-test', content: 'pwned' }]), '/etc/containerd-ts-apply-test');
      await expectRejected(apply([{ name: `${sentinel}/x`, content: 'pwned' }]), `${sentinel}/x`);
      expect(await lstat('/etc/containerd-ts-apply-test').catch(() => undefined)).to.equal(undefined);
    });

    it('a symlink evil -> / followed by evil/<path>', async () => {
      const err = await expectRejected(
        apply([
          { name: 'evil', type: 'symlink', linkname: '/' },
          { name: `evil${sentinel}/file`, content: 'pwned' },
        ]),
        `evil${sentinel}/file`,
      );
      expect(err.message).to.match(/symlink/);
    });

    it('a symlink to .. followed by a write through it', async () => {
      await expectRejected(
        apply([
          { name: 'up', type: 'symlink', linkname: '..' },
          { name: 'up/sentinel/file', content: 'pwned' },
        ]),
        'up/sentinel/file',
      );
    });

    it('a nested symlink chain that climbs out', async () => {
      await expectRejected(
        apply([
          { name: 'a/b', type: 'directory' },
          { name: 'a/b/c', type: 'symlink', linkname: '../../../sentinel' },
          { name: 'a/b/c/file', content: 'pwned' },
        ]),
        'a/b/c/file',
      );
    });

    it('a hardlink to /etc/passwd (absolute and via ..)', async () => {
      await expectRejected(apply([{ name: 'passwd', type: 'link', linkname: '/etc/passwd' }]), 'passwd');
      await expectRejected(apply([{ name: 'passwd2', type: 'link', linkname: '../../../../../../etc/passwd' }]), 'passwd2');
      expect(await lstat(join(target, 'passwd')).catch(() => undefined)).to.equal(undefined);
    });

    it('a hardlink through a symlink that leaves the root', async () => {
      await writeFile(join(sentinel, '..', 'outside-file'), 'secret');
      try {
        const err = await rejection(
          apply([
            { name: 'out', type: 'symlink', linkname: '/' },
            { name: 'stolen', type: 'link', linkname: `out${base}/outside-file` },
          ]),
        );
        expect(err.kind).to.equal('InvalidArgument');
        expect(err.message).to.include('stolen');
        expect(await lstat(join(target, 'stolen')).catch(() => undefined)).to.equal(undefined);
      } finally {
        await import('node:fs/promises').then((fs) => fs.rm(join(base, 'outside-file')));
      }
    });

    it('giant headers: a base-256 size of 2^50, a 5000-byte name, a 5 MiB PAX header', async () => {
      const giantSize = Buffer.concat([rawHeader({ name: 'huge', typeflag: '0', size: 2n ** 50n, base256: true }), TAR_END]);
      const e1 = await expectRejected(applyLayer(streamOf(giantSize), PLAIN, target), 'huge');
      expect(e1.message).to.match(/exceeds/);
      const longName = Buffer.concat([paxBlock([['path', 'a/'.repeat(2500)]]), rawHeader({ name: 'short', typeflag: '0', size: 0 }), TAR_END]);
      const e2 = await rejection(applyLayer(streamOf(longName), PLAIN, target));
      expect(e2.kind).to.equal('InvalidArgument');
      expect(e2.message).to.match(/longer than 4096/);
      const hugePax = Buffer.concat([paxBlock([['comment', 'x'.repeat(5 * 1024 * 1024)]]), rawHeader({ name: 'f', typeflag: '0', size: 0 }), TAR_END]);
      const e3 = await rejection(applyLayer(streamOf(hugePax), PLAIN, target));
      expect(e3.kind).to.equal('InvalidArgument');
      expect(e3.message).to.match(/exceeds max size/i);
      const longComponent = await rejection(apply([{ name: `d/${'n'.repeat(300)}`, content: 'x' }]));
      expect(longComponent.message).to.match(/longer than 255/);
      expect(await listDir(target)).to.deep.equal([]);
      expect(await listDir(sentinel)).to.deep.equal([]);
    });

    it('unsupported entry types, corrupt and truncated streams', async () => {
      const volume = Buffer.concat([rawHeader({ name: 'vol', typeflag: 'V', size: 0 }), TAR_END]);
      expect((await expectRejected(applyLayer(streamOf(volume), PLAIN, target), 'vol')).message).to.match(/unsupported entry type/);
      const tarBytes = await makeTar([{ name: 'big', content: Buffer.alloc(100_000, 7) }]);
      const truncated = await rejection(applyLayer(streamOf(tarBytes.subarray(0, 50_000)), PLAIN, target));
      expect(truncated.kind).to.equal('InvalidArgument');
      expect(truncated.message).to.match(/truncated/);
      const gz = (await import('node:zlib')).gzipSync(tarBytes);
      const truncatedGz = await rejection(applyLayer(streamOf(gz.subarray(0, gz.length - 20)), GZIP, target));
      expect(truncatedGz.kind).to.equal('InvalidArgument');
      const garbage = await rejection(applyLayer(streamOf(Buffer.alloc(2048, 0x41)), PLAIN, target));
      expect(garbage.kind).to.equal('InvalidArgument');
    });

    it('corrupt zstd data with InvalidArgument, a missing zstd program and unknown media types with Unimplemented', async () => {
      const corrupt = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(100, 0x41)]);
      const zstd = await rejection(applyLayer(streamOf(corrupt), 'application/vnd.oci.image.layer.v1.tar+zstd', target));
      expect(zstd.kind).to.equal('InvalidArgument');
      expect(zstd.message).to.match(/not valid zstd data/);
      process.env.CONTAINERD_TS_ZSTD = '/nonexistent/zstd';
      try {
        const missing = await rejection(applyLayer(streamOf(corrupt), GZIP, target));
        expect(missing.kind).to.equal('Unimplemented');
        expect(missing.message).to.match(/zstd program/);
      } finally {
        delete process.env.CONTAINERD_TS_ZSTD;
      }
      expect((await rejection(applyLayer(streamOf(Buffer.alloc(10)), 'text/plain', target))).kind).to.equal('Unimplemented');
    });
  });

  it('replaces a directory with a file and a file with a directory, like containerd, without following symlinks inside', async () => {
    const keep = join(base, 'keep');
    await mkdir(keep);
    await writeFile(join(keep, 'precious'), 'keep me');
    try {
      await apply([
        { name: 'd', type: 'directory' },
        { name: 'd/link', type: 'symlink', linkname: keep },
        { name: 'd/child', content: 'child' },
        { name: 'd', content: 'now a file' },
        { name: 'f', content: 'a file' },
        { name: 'f', type: 'directory', mode: 0o750 },
        { name: 'f/inner', content: 'inner' },
      ]);
      expect(await readFile(join(target, 'd'), 'utf8')).to.equal('now a file');
      expect((await stat(join(target, 'f'))).isDirectory()).to.equal(true);
      expect(await readFile(join(target, 'f', 'inner'), 'utf8')).to.equal('inner');
      expect(await readFile(join(keep, 'precious'), 'utf8')).to.equal('keep me');
    } finally {
      await import('node:fs/promises').then((fs) => fs.rm(keep, { recursive: true }));
    }
  });

  it('follows relative symlinks that stay inside the root', async () => {
    await apply([
      { name: 'usr/lib', type: 'directory' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
      { name: 'lib/libx.so', content: 'elf' },
    ]);
    expect(await readFile(join(target, 'usr', 'lib', 'libx.so'), 'utf8')).to.equal('elf');
    expect(await readlink(join(target, 'lib'))).to.equal('usr/lib');
  });

  it('creates whiteouts as 0:0 char devices and opaque dirs with trusted.overlay.opaque=y', async () => {
    await apply([
      { name: '.wh.gone', content: '' },
      { name: 'dir', type: 'directory' },
      { name: 'dir/.wh..wh..opq', content: '' },
      { name: 'dir/kept', content: 'kept' },
      { name: 'other/.wh.file', content: '' },
      { name: '.wh..wh.plnk', type: 'directory' },
    ]);
    const gone = await lstat(join(target, 'gone'));
    expect(gone.isCharacterDevice()).to.equal(true);
    expect(gone.rdev).to.equal(0);
    expect((await lstat(join(target, 'other', 'file'))).isCharacterDevice()).to.equal(true);
    expect((await getXattr(join(target, 'dir'), 'trusted.overlay.opaque'))?.toString()).to.equal('y');
    expect(await readFile(join(target, 'dir', 'kept'), 'utf8')).to.equal('kept');
    expect((await listDir(target)).sort()).to.deep.equal(['dir', 'gone', 'other']);
  });

  it('gives entries their exact owner and mode where creation alone would not (setgid dirs, modes the umask cuts, special bits)', async function () {
    if (process.getuid?.() !== 0) this.skip();
    await apply([
      { name: 'sg', type: 'directory', mode: 0o2775, gid: 50 },
      { name: 'sg/file', content: 'x', mode: 0o644 },
      { name: 'sg/sub', type: 'directory', mode: 0o755 },
      { name: 'sg/sub/file', content: 'y', mode: 0o644 },
      { name: 'sg/link', type: 'symlink', linkname: 'file' },
      { name: 'open', type: 'directory', mode: 0o777 },
      { name: 'open/all', content: 'z', mode: 0o666 },
      { name: 'open/exec', content: 'z', mode: 0o777 },
      { name: 'open/suid', content: 'z', mode: 0o4755 },
      { name: 'open/sticky', type: 'directory', mode: 0o1777 },
      { name: 'open/plain', content: 'z', mode: 0o640, uid: 3, gid: 4 },
    ]);
    const owner = async (p: string, follow = true) => {
      const st = await (follow ? stat : lstat)(join(target, p));
      return [st.mode & 0o7777, st.uid, st.gid];
    };
    expect(await owner('sg')).to.deep.equal([0o2775, 0, 50]);
    expect(await owner('sg/file'), 'not the setgid parent group').to.deep.equal([0o644, 0, 0]);
    expect(await owner('sg/sub')).to.deep.equal([0o755, 0, 0]);
    expect(await owner('sg/sub/file')).to.deep.equal([0o644, 0, 0]);
    expect((await owner('sg/link', false)).slice(1)).to.deep.equal([0, 0]);
    expect(await owner('open')).to.deep.equal([0o777, 0, 0]);
    expect(await owner('open/all')).to.deep.equal([0o666, 0, 0]);
    expect(await owner('open/exec')).to.deep.equal([0o777, 0, 0]);
    expect(await owner('open/suid')).to.deep.equal([0o4755, 0, 0]);
    expect(await owner('open/sticky')).to.deep.equal([0o1777, 0, 0]);
    expect(await owner('open/plain')).to.deep.equal([0o640, 3, 4]);
    expect((await listDir(target)).sort(), 'the creation probe leaves nothing behind').to.deep.equal(['open', 'sg']);
  });

  it('preserves modes, ownership, mtimes, links, devices, fifos and xattrs, and reports the diffID', async () => {
    const mtime = new Date('2001-02-03T04:05:06Z');
    const entries: TarEntrySpec[] = [
      { name: 'bin', type: 'directory', mode: 0o711, uid: 7, gid: 8, mtime },
      { name: 'bin/suid', content: '#!/bin/sh\n', mode: 0o4755, uid: 1234, gid: 5678, mtime },
      { name: 'bin/hard', type: 'link', linkname: 'bin/suid' },
      { name: 'bin/sym', type: 'symlink', linkname: '/abs/target', uid: 33, gid: 44, mtime },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
      { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 0, mode: 0o660 },
      { name: 'pipe', type: 'fifo', mode: 0o600 },
      { name: 'tmp', type: 'directory', mode: 0o1777, mtime },
      { name: 'x', content: 'x', pax: { 'SCHILY.xattr.user.test': 'hello', mtime: '1000000000.5' } },
    ];
    const tarBytes = await makeTar(entries);
    const result = await applyLayer(streamOf(tarBytes, true), GZIP, target);
    expect(result.diffId).to.equal(`sha256:${createHash('sha256').update(tarBytes).digest('hex')}`);
    expect(result.size).to.equal(tarBytes.length);

    const suid = await stat(join(target, 'bin', 'suid'));
    expect(suid.mode & 0o7777).to.equal(0o4755);
    expect([suid.uid, suid.gid]).to.deep.equal([1234, 5678]);
    expect(suid.mtime.getTime()).to.equal(mtime.getTime());
    expect(suid.nlink).to.equal(2);
    expect((await stat(join(target, 'bin', 'hard'))).ino).to.equal(suid.ino);
    const bin = await stat(join(target, 'bin'));
    expect(bin.mode & 0o7777).to.equal(0o711);
    expect([bin.uid, bin.gid]).to.deep.equal([7, 8]);
    expect(bin.mtime.getTime(), 'directory mtime is set after its children').to.equal(mtime.getTime());
    const sym = await lstat(join(target, 'bin', 'sym'));
    expect(sym.isSymbolicLink()).to.equal(true);
    expect(await readlink(join(target, 'bin', 'sym'))).to.equal('/abs/target');
    expect([sym.uid, sym.gid]).to.deep.equal([33, 44]);
    expect(sym.mtime.getTime()).to.equal(mtime.getTime());
    const devnull = await lstat(join(target, 'dev', 'null'));
    expect(devnull.isCharacterDevice()).to.equal(true);
    expect(devnull.rdev).to.equal(0x103);
    expect(devnull.mode & 0o777).to.equal(0o666);
    expect((await lstat(join(target, 'dev', 'sda'))).isBlockDevice()).to.equal(true);
    expect((await lstat(join(target, 'pipe'))).isFIFO()).to.equal(true);
    expect((await stat(join(target, 'tmp'))).mode & 0o7777).to.equal(0o1777);
    const x = await stat(join(target, 'x'));
    expect(x.mtimeMs).to.equal(1000000000500);
    expect((await getXattr(join(target, 'x'), 'user.test'))?.toString()).to.equal('hello');
  });

  it('keeps binary PAX xattr values byte-exact', async () => {
    const value = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0x80, 0xc3, 0x28]);
    const data = Buffer.from('payload');
    const layer = Buffer.concat([
      paxBlock([['SCHILY.xattr.user.bin', value]]),
      rawHeader({ name: 'withcap', typeflag: '0', size: data.length }),
      pad(data),
      TAR_END,
    ]);
    await applyLayer(streamOf(layer), PLAIN, target);
    expect(await readFile(join(target, 'withcap'), 'utf8')).to.equal('payload');
    expect((await getXattr(join(target, 'withcap'), 'user.bin'))?.equals(value)).to.equal(true);
  });

  it('applies the busybox image layer with the diffID the image config records', async function () {
    const out = join(base, 'image');
    const { layout } = await buildBusybox(out);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const blob = (d: string) => join(layout, 'blobs', 'sha256', d.slice('sha256:'.length));
    const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as { config: { digest: string }; layers: Array<{ digest: string; mediaType: string }> };
    const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as { rootfs: { diff_ids: string[] } };
    const layer = manifest.layers[0]!;
    const result = await applyLayer(createReadStream(blob(layer.digest)), layer.mediaType, target);
    expect(result.diffId).to.equal(config.rootfs.diff_ids[0]);
    expect(await readlink(join(target, 'bin', 'sh'))).to.equal('busybox');
    expect((await stat(join(target, 'tmp'))).mode & 0o7777).to.equal(0o1777);
    expect(await readFile(join(target, 'etc', 'passwd'), 'utf8')).to.match(/^root:x:0:0:/);
  });

  describe('fed chunk by chunk (startLayerApply, as a pull tees a download into it)', () => {
    it('extracts bytes arriving in small pieces, with the same diffID', async () => {
      const big = Buffer.alloc(1 << 20, 'z');
      const tar = await makeTar([{ name: 'd', type: 'directory' }, { name: 'd/big', content: big }, { name: 'd/link', type: 'symlink', linkname: 'big' }]);
      const apply = await startLayerApply(PLAIN, target);
      for (let at = 0; at < tar.length; at += 7000) await apply.write(tar.subarray(at, at + 7000));
      const result = await apply.finish();
      expect(result.diffId).to.equal(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
      expect((await readFile(join(target, 'd', 'big'))).equals(big)).to.equal(true);
      expect(await readlink(join(target, 'd', 'link'))).to.equal('big');
    });

    it('rejects the writes after a hostile entry, naming it, and writes nothing outside', async () => {
      const tar = await makeTar([{ name: 'ok', content: 'fine' }, { name: '../sentinel/x', content: 'pwned' }, { name: 'after', content: Buffer.alloc(8 << 20) }]);
      const apply = await startLayerApply(PLAIN, target);
      const fed = (async () => {
        for (let at = 0; at < tar.length; at += 65536) await apply.write(tar.subarray(at, at + 65536));
        return apply.finish();
      })();
      await expectRejected(fed, '../sentinel/x');
      expect(await listDir(target)).to.deep.equal(['ok']);
    });

    it('abort stops the extraction: later writes reject and nothing more appears', async () => {
      const tar = await makeTar([{ name: 'first', content: 'one' }, { name: 'second', content: 'two' }]);
      const apply = await startLayerApply(PLAIN, target);
      await apply.write(tar.subarray(0, 1024)); // header and data of `first`
      await apply.abort();
      const err = await rejection(apply.write(tar.subarray(1024)));
      expect(err.message).to.match(/aborted/);
      expect(await listDir(target)).to.not.include('second');
    });
  });

  describe('on a bounded pool of threads (reused layer after layer)', () => {
    const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
    let pool: ExtractorPool;
    afterEach(async () => {
      await pool.drain();
    });

    it('applies layer after layer on the same thread, gzip fed from the first byte in tiny pieces', async () => {
      pool = new ExtractorPool({ size: 1 });
      for (const n of [1, 2, 3]) {
        const dir = join(target, `l${n}`);
        await mkdir(dir);
        const content = randomBytes(700_000 * n); // incompressible: layer 2 and 3 wrap around the 1 MiB ring
        const tar = await makeTar([{ name: `f${n}`, content }]);
        const gz = gzipSync(tar);
        const apply = await startLayerApply(GZIP, dir, { pool });
        // 1..3-byte pieces first: the format is only known after 4 bytes
        let at = 0;
        for (const size of [1, 2, 3, 5000, 70_000]) await apply.write(gz.subarray(at, (at += size)));
        for (; at < gz.length; at += 65536) await apply.write(gz.subarray(at, at + 65536));
        const result = await apply.finish();
        expect(result.diffId).to.equal(sha(tar));
        expect((await readFile(join(dir, `f${n}`))).equals(content)).to.equal(true);
        expect(pool.threads).to.equal(1);
      }
    });

    it('never runs more threads than its size: the next apply waits until one is free', async () => {
      pool = new ExtractorPool({ size: 1 });
      const tar = await makeTar([{ name: 'a', content: 'x' }]);
      const first = await startLayerApply(PLAIN, target, { pool });
      expect(pool.tryAcquire()).to.equal(undefined);
      let started = false;
      const second = startLayerApply(PLAIN, target, { pool }).then((a) => ((started = true), a));
      await new Promise((r) => setTimeout(r, 50));
      expect(started).to.equal(false);
      await first.write(tar);
      await first.finish();
      const next = await second;
      expect(pool.threads).to.equal(1);
      await next.write(await makeTar([{ name: 'b', content: 'y' }]));
      await next.finish();
      expect((await listDir(target)).sort()).to.deep.equal(['a', 'b']);
    });

    it('ends a thread whose layer failed or was aborted, and the next layer gets a fresh one', async () => {
      pool = new ExtractorPool({ size: 1 });
      const bad = await startLayerApply(PLAIN, target, { pool });
      await bad.write(await makeTar([{ name: '../sentinel/x', content: 'pwned' }])).catch(() => undefined);
      await expectRejected(bad.finish(), '../sentinel/x');
      const aborted = await startLayerApply(PLAIN, target, { pool });
      await aborted.abort();
      const good = await startLayerApply(GZIP, target, { pool });
      const tar = await makeTar([{ name: 'after', content: 'fine' }]);
      await good.write(gzipSync(tar));
      expect((await good.finish()).diffId).to.equal(sha(tar));
      expect(pool.threads).to.equal(1);
      expect(await readFile(join(target, 'after'), 'utf8')).to.equal('fine');
    });

    it('ends threads that stay idle', async () => {
      pool = new ExtractorPool({ size: 2, idleMs: 50 });
      const apply = await startLayerApply(PLAIN, target, { pool });
      await apply.write(await makeTar([{ name: 'a', content: 'x' }]));
      await apply.finish();
      expect(pool.threads).to.equal(1);
      await new Promise((r) => setTimeout(r, 300));
      expect(pool.threads).to.equal(0);
    });
  });
});
