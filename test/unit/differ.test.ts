import { expect } from 'chai';
import { link, lstat, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile, chmod, chown } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import tar from 'tar-stream';
import { listXattrs } from '../../src/shim/native.js';
import { applyLayer } from '../../src/snapshot/apply.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { UNCOMPRESSED_LABEL, type DiffDescriptor } from '../../src/snapshot/differ.js';
import type { Mount } from '../../src/snapshot/snapshotter.js';
import { encodeTarHeader, TAR_END } from '../../src/snapshot/tar-writer.js';
import { WalkingDiffer } from '../../src/snapshot/walking-differ.js';
import { sha256, tarEntries } from '../support/layers.js';
import { rejection } from '../support/rejection.js';
import { canMountOverlay, removeTempDir, tempDir } from './snapshot-helpers.js';

const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
const PLAIN = 'application/vnd.oci.image.layer.v1.tar';

/** mknod/mkfifo/setxattr, which Node lacks, through python3. */
async function special(ops: Array<{ op: 'whiteout' | 'fifo'; path: string } | { op: 'xattr'; path: string; name: string; value: Buffer }>): Promise<void> {
  const script = String.raw`
import json, os, sys
for o in json.loads(sys.argv[1]):
    if o['op'] == 'whiteout': os.mknod(o['path'], 0o20000, os.makedev(0, 0))
    elif o['op'] == 'fifo': os.mkfifo(o['path'], 0o644)
    else: os.setxattr(o['path'], o['name'], bytes.fromhex(o['value']), follow_symlinks=False)
`;
  const json = JSON.stringify(ops.map((o) => ('value' in o ? { ...o, value: o.value.toString('hex') } : o)));
  await execa('python3', ['-c', script, json]);
}

/** Writes `content` at `root/rel`, creating parents. */
async function put(root: string, rel: string, content: string, mtime?: Date): Promise<void> {
  const path = join(root, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  if (mtime !== undefined) await utimes(path, mtime, mtime);
}

/**
 * A tree as comparable lines: type, mode, owner, content hash / link target /
 * device, the xattrs a layer carries (plus the opaque mark), and mtime seconds
 * for non-directories (a layer keeps whole seconds).
 */
async function describe_(root: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = join(root, rel, name);
      const st = await lstat(path);
      const xattrs = listXattrs(path)
        .filter(([n]) => !n.startsWith('trusted.overlay.') || n === 'trusted.overlay.opaque')
        .map(([n, v]) => `${n}=${v.toString('hex')}`)
        .sort()
        .join(',');
      if (st.isCharacterDevice() && st.rdev === 0) {
        lines.push(`${join(rel, name)} whiteout`);
        continue;
      }
      let what = '';
      if (st.isFile()) what = sha256(await readFile(path));
      else if (st.isSymbolicLink()) what = `-> ${await readlink(path)}`;
      else if (st.isCharacterDevice() || st.isBlockDevice()) what = `dev ${st.rdev}`;
      const time = st.isDirectory() ? '' : ` t=${Math.floor(st.mtimeMs / 1000)}`;
      lines.push(`${join(rel, name)} ${(st.mode >>> 0).toString(8)} ${st.uid}:${st.gid} ${what} [${xattrs}]${time}`);
      if (st.isDirectory()) await walk(join(rel, name));
    }
  };
  await walk('');
  return lines;
}

const bind = (dir: string, ro = true): Mount[] => [{ type: 'bind', source: dir, options: ['rbind', ro ? 'ro' : 'rw'] }];
const overlay = (lowers: string[], upper?: string, work?: string): Mount[] => [
  { type: 'overlay', source: 'overlay', options: [...(upper ? [`workdir=${work}`, `upperdir=${upper}`] : []), `lowerdir=${lowers.join(':')}`] },
];

describe('snapshot/walking-differ', function () {
  this.timeout(30000);
  let dir: string;
  let store: FsContentStore;
  let differ: WalkingDiffer;
  const mounted: string[] = [];

  beforeEach(async () => {
    dir = await tempDir('differ');
    store = await FsContentStore.open(join(dir, 'content'));
    differ = new WalkingDiffer(store, listXattrs);
  });
  afterEach(async () => {
    for (const m of mounted.splice(0).reverse()) await execa('umount', [m], { reject: false });
    await removeTempDir(dir);
  });

  const blob = async (d: DiffDescriptor) => readFile(join(dir, 'content', 'blobs', 'sha256', d.digest.slice(7)));
  /** Nothing committed, no ingest left. */
  const expectStoreEmpty = async () => {
    expect(await store.list()).to.deep.equal([]);
    expect(await store.listStatuses()).to.deep.equal([]);
  };

  /** A base layer and an overlay upper dir over it with every kind of change. */
  async function overlayFixture() {
    const lower = join(dir, 'lower');
    const upper = join(dir, 'upper');
    await mkdir(join(dir, 'work'), { recursive: true });
    await put(lower, 'etc/passwd', 'root\n');
    await put(lower, 'etc/gone', 'x');
    await put(lower, 'removed', 'bye');
    await put(lower, 'opq/old1', '1');
    await put(lower, 'opq/sub/old2', '2');
    await put(lower, 'keep', 'same');
    await put(upper, 'added.txt', 'new\n');
    await chown(join(upper, 'added.txt'), 1000, 1001);
    await put(upper, 'etc/passwd', 'root\nuser\n');
    await put(upper, 'opq/new', 'n');
    await put(upper, 'bin/suid', '#!/bin/sh\n');
    await chmod(join(upper, 'bin/suid'), 0o4755);
    await symlink('added.txt', join(upper, 'link'));
    await link(join(upper, 'added.txt'), join(upper, 'hard'));
    await special([
      { op: 'whiteout', path: join(upper, 'etc/gone') },
      { op: 'whiteout', path: join(upper, 'removed') },
      { op: 'fifo', path: join(upper, 'fifo') },
      { op: 'xattr', path: join(upper, 'opq'), name: 'trusted.overlay.opaque', value: Buffer.from('y') },
      { op: 'xattr', path: join(upper, 'added.txt'), name: 'user.bin', value: Buffer.from([0, 1, 2, 0xff]) },
      { op: 'xattr', path: join(upper, 'etc'), name: 'trusted.overlay.origin', value: Buffer.from([9, 9]) },
    ]);
    return { lower, upper };
  }

  it('writes an overlay upper dir as a gzip layer: additions, changes, whiteouts, an opaque dir, links, a fifo, modes and xattrs', async () => {
    const { lower, upper } = await overlayFixture();
    const d = await differ.compare(bind(lower), overlay([lower], upper, join(dir, 'work')), { labels: { 'test.label': 'kept' } });
    expect(d.mediaType).to.equal(GZIP);
    const gz = await blob(d);
    expect(d.digest).to.equal(sha256(gz));
    expect(d.size).to.equal(gz.length);
    const layer = gunzipSync(gz);
    expect(d.uncompressed).to.equal(sha256(layer));
    expect((await store.info(d.digest)).labels).to.deep.equal({ 'test.label': 'kept', [UNCOMPRESSED_LABEL]: sha256(layer) });
    expect(await store.listStatuses()).to.deep.equal([]);
    expect(await tarEntries(layer)).to.deep.equal([
      'added.txt file',
      'bin/ directory',
      'bin/suid file',
      'etc/ directory',
      'etc/.wh.gone file',
      'etc/passwd file',
      'fifo fifo',
      'hard link added.txt',
      'link symlink added.txt',
      'opq/ directory',
      'opq/.wh..wh..opq file',
      'opq/new file',
      '.wh.removed file',
    ]);

    // Applied into an empty upper dir, the layer gives back the same upper dir (minus overlay's bookkeeping xattrs).
    const again = join(dir, 'again');
    await mkdir(again);
    const applied = await applyLayer(Readable.from([gz]), GZIP, again);
    expect(applied.diffId).to.equal(d.uncompressed);
    expect(await describe_(again)).to.deep.equal(await describe_(upper));
    expect((await lstat(join(again, 'hard'))).ino).to.equal((await lstat(join(again, 'added.txt'))).ino);
  });

  it('walks two plain trees side by side: changed content at equal size and time, times, modes, type changes, deleted files and dirs, parents of changes', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const t = new Date('2020-01-01T00:00:00Z');
    for (const root of [a, b]) {
      await put(root, 'same.txt', 'same', t);
      await put(root, 'dir/unchanged', 'u', t);
    }
    await put(a, 'samesize.txt', 'aaaa', t);
    await put(b, 'samesize.txt', 'bbbb', t);
    await put(a, 'changed-mtime.txt', 'x', t);
    await put(b, 'changed-mtime.txt', 'x', new Date(t.getTime() + 1000));
    await put(a, 'gone.txt', 'g');
    await put(a, 'gonedir/inner/file', 'f');
    await put(a, 'dir/deleted-in-dir', 'd');
    await put(b, 'dir/new', 'n');
    await put(a, 'mode.txt', 'm', t);
    await put(b, 'mode.txt', 'm', t);
    await chmod(join(b, 'mode.txt'), 0o600);
    await put(a, 'typechange', 'file');
    await put(b, 'typechange/f', 'now a dir');
    await put(b, 'newdir/a', 'a');
    for (const root of [a, b]) await utimes(join(root, 'dir'), t, t);

    const d = await differ.compare(bind(a), bind(b, false), { mediaType: PLAIN });
    expect(d.mediaType).to.equal(PLAIN);
    const layer = await blob(d);
    expect(d.digest).to.equal(sha256(layer)).and.equal(d.uncompressed);
    expect((await store.info(d.digest)).labels).to.deep.equal({});
    expect(await tarEntries(layer)).to.deep.equal([
      'changed-mtime.txt file',
      'dir/ directory',
      'dir/.wh.deleted-in-dir file',
      'dir/new file',
      '.wh.gone.txt file',
      '.wh.gonedir file',
      'mode.txt file',
      'newdir/ directory',
      'newdir/a file',
      'samesize.txt file',
      'typechange/ directory',
      'typechange/f file',
    ]);

    if (!(await canMountOverlay(join(dir, 'probe')))) return;
    // Ground truth from the kernel: the layer over `a` is `b`.
    const upper = join(dir, 'up');
    await mkdir(upper);
    await applyLayer(Readable.from([layer]), PLAIN, upper);
    const merged = await mountOverlay(`lowerdir=${upper}:${a}`);
    expect(await describe_(merged)).to.deep.equal(await describe_(b));
  });

  it('merges overlay views as the kernel does (whiteouts and opaque dirs in a middle layer) when the upper is not lower + one layer', async function () {
    if (!(await canMountOverlay(join(dir, 'probe')))) this.skip();
    const l1 = join(dir, 'l1');
    const l2 = join(dir, 'l2');
    const l3 = join(dir, 'l3');
    const x = join(dir, 'x');
    await put(l1, 'a', 'a');
    await put(l1, 'd/x', 'x');
    await put(l1, 'd/y', 'y');
    await put(l1, 'e/z', 'z');
    await put(l2, 'd/w', 'w');
    await put(l2, 'f', 'f');
    await put(l3, 'd/v', 'v'); // d in l3 merges with l2's opaque d, which hides l1's
    await put(x, 'd/x2', 'x2');
    await put(x, 'g', 'g');
    await special([
      { op: 'whiteout', path: join(l2, 'a') },
      { op: 'xattr', path: join(l2, 'd'), name: 'trusted.overlay.opaque', value: Buffer.from('y') },
      { op: 'whiteout', path: join(x, 'e') },
    ]);
    const lowerMounts = overlay([l3, l2, l1]);
    const upperMounts = overlay([x, l1]);
    const d = await differ.compare(lowerMounts, upperMounts, { mediaType: PLAIN });
    const layer = await blob(d);
    expect(await tarEntries(layer)).to.deep.equal(['a file', 'd/ directory', 'd/.wh.v file', 'd/.wh.w file', 'd/x file', 'd/x2 file', 'd/y file', '.wh.e file', '.wh.f file', 'g file']);
    const upper = join(dir, 'up');
    await mkdir(upper);
    await applyLayer(Readable.from([layer]), PLAIN, upper);
    const rebuilt = await mountOverlay(`lowerdir=${upper}:${l3}:${l2}:${l1}`);
    const wanted = await mountOverlay(`lowerdir=${x}:${l1}`);
    expect(await describe_(rebuilt)).to.deep.equal(await describe_(wanted));
  });

  it('restarts a partial ingest under the given ref, and adds the uncompressed label and the new labels to a layer that was already stored', async () => {
    const { lower, upper } = await overlayFixture();
    const w = await store.writer({ ref: 'my-diff' });
    await w.write(Buffer.from('stale partial data'));
    await w.close();
    const first = await differ.compare(bind(lower), overlay([lower], upper, join(dir, 'work')), { ref: 'my-diff' });
    expect(await store.listStatuses()).to.deep.equal([]);
    await store.update(first.digest, { other: 'label' });
    const second = await differ.compare(bind(lower), overlay([lower], upper, join(dir, 'work')), { ref: 'my-diff', labels: { 'containerd.io/gc.root': 'now' } });
    expect(second).to.deep.equal(first);
    expect((await store.info(first.digest)).labels).to.deep.equal({ other: 'label', 'containerd.io/gc.root': 'now', [UNCOMPRESSED_LABEL]: first.uncompressed });
    expect((await store.list()).length).to.equal(1);
    expect(await store.listStatuses()).to.deep.equal([]);
  });

  describe('bad input: a clear error, no blob, no ingest', () => {
    it('an unsupported media type is Unimplemented', async () => {
      const { lower, upper } = await overlayFixture();
      const err = await rejection(differ.compare(bind(lower), overlay([lower], upper, join(dir, 'work')), { mediaType: 'application/vnd.oci.image.layer.v1.tar+zstd' }));
      expect(err.kind).to.equal('Unimplemented');
      expect(err.message).to.match(/unsupported diff media type "application\/vnd.oci.image.layer.v1.tar\+zstd"/);
      await expectStoreEmpty();
    });

    it('a mount type it cannot read, or several mounts, is Unimplemented', async () => {
      const { lower } = await overlayFixture();
      const tmpfs = await rejection(differ.compare(bind(lower), [{ type: 'tmpfs', source: 'tmpfs', options: [] }]));
      expect(tmpfs.kind).to.equal('Unimplemented');
      expect(tmpfs.message).to.match(/"tmpfs" mount cannot be diffed/);
      const two = await rejection(differ.compare([...bind(lower), ...bind(lower)], bind(lower)));
      expect(two.kind).to.equal('Unimplemented');
      expect(two.message).to.match(/2 mounts/);
      await expectStoreEmpty();
    });

    it('a mount whose directory is gone (a removed snapshot) is NotFound', async () => {
      const { lower } = await overlayFixture();
      const err = await rejection(differ.compare(bind(lower), overlay([lower], join(dir, 'no-such-snapshot'), join(dir, 'work'))));
      expect(err.kind).to.equal('NotFound');
      expect(err.message).to.include('no-such-snapshot');
      await expectStoreEmpty();
    });

    it('an upper dir it cannot diff, found after data was written, aborts the ingest', async () => {
      const { lower, upper } = await overlayFixture();
      await special([{ op: 'xattr', path: join(upper, 'opq'), name: 'trusted.overlay.redirect', value: Buffer.from('/elsewhere') }]);
      const err = await rejection(differ.compare(bind(lower), overlay([lower], upper, join(dir, 'work')), { ref: 'doomed' }));
      expect(err.kind).to.equal('Unimplemented');
      expect(err.message).to.include('trusted.overlay.redirect');
      await expectStoreEmpty();
    });
  });

  /** Mounts a read-only overlay with `options`; removed with the temp dir. */
  async function mountOverlay(options: string): Promise<string> {
    const target = join(dir, `mnt-${Math.random().toString(16).slice(2)}`);
    await mkdir(target);
    await execa('mount', ['-t', 'overlay', 'overlay', '-o', options, target]);
    mounted.push(target);
    return target;
  }
});

/** The PAX records tar-stream keeps on a header (not in its type declarations). */
const paxOf = (h: tar.Header) => (h as { pax?: Record<string, string> }).pax ?? {};

describe('snapshot/tar-writer', () => {
  it('puts long names, long link targets, big ids and binary xattrs in a PAX header that tar readers understand', async () => {
    const long = `${'d'.repeat(80)}/${'f'.repeat(90)}`;
    const data = Buffer.concat([
      encodeTarHeader({ name: long, type: 'symlink', mode: 0o777, uid: 3_000_000, gid: 7, size: 0, mtime: 1_600_000_000, linkname: `/${'t'.repeat(150)}`, xattrs: [['user.k', Buffer.from('v')]] }),
      encodeTarHeader({ name: 'short', type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0 }),
      TAR_END,
    ]);
    const headers: tar.Header[] = [];
    const extract = tar.extract();
    await new Promise<void>((resolve, reject) => {
      extract.on('entry', (h, s, next) => {
        headers.push(h);
        s.resume();
        s.on('end', next);
      });
      extract.on('finish', resolve);
      extract.on('error', reject);
      Readable.from([data]).pipe(extract);
    });
    // tar-stream leaves a PAX uid in `pax` (our applier and Go's tar read it from there).
    expect(headers.map((h) => [h.name, h.type, h.linkname, paxOf(h).uid ?? h.uid, h.gid, h.mtime?.getTime()])).to.deep.equal([
      [long, 'symlink', `/${'t'.repeat(150)}`, '3000000', 7, 1_600_000_000_000],
      ['short', 'file', null, 0, 0, 0],
    ]);
    expect(paxOf(headers[0] as tar.Header)['SCHILY.xattr.user.k']).to.equal('v');
  });
});
