import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { execa } from 'execa';
import { DaemonClient } from '../../src/cli/client.js';
import { isRuntimeError } from '../../src/errors.js';
import { sha256, tarEntries } from '../support/layers.js';
import { SOCKET, ctr, eventually, systemdAvailable } from './helpers.js';

/**
 * The real containerd 1.6 `ctr snapshots diff` against our Diff.Diff: a
 * snapshot changed through its overlay mount (files added, changed and
 * removed, a directory replaced, links) comes back as a layer with the
 * entries, whiteouts and opaque marker containerd writes; the layer applied
 * (Diff.Apply) onto the parent gives back the same tree; bad requests are
 * clear errors that leave no ingest, blob, lease or view behind.
 */
const NS = 'ctrdiff';
const c = (args: string[]) => ctr(['-n', NS, ...args]);

/** `ctr snapshots diff ...` with its binary stdout. */
async function ctrDiff(args: string[]): Promise<{ exitCode: number; blob: Buffer; stderr: string }> {
  const r = await execa('ctr', ['--address', SOCKET, '-n', NS, 'snapshots', 'diff', ...args], { reject: false, encoding: 'buffer', timeout: 60_000 });
  return { exitCode: r.exitCode ?? -1, blob: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr).toString() };
}

/** A mounted tree as comparable lines (type, mode, owner, content or link target). */
async function describeTree(root: string): Promise<string[]> {
  const lines: string[] = [];
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = join(root, rel, name);
      const st = await lstat(path);
      const what = st.isFile() ? sha256(await readFile(path)) : st.isSymbolicLink() ? `-> ${await readlink(path)}` : '';
      lines.push(`${join(rel, name)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) await walk(join(rel, name));
    }
  };
  await walk('');
  return lines;
}

describe('the real ctr snapshots diff against containerd-ts (integration)', function () {
  this.timeout(120_000);
  let tmp = '';
  const mounted: string[] = [];

  /** Mounts snapshot `key` with the command `ctr snapshots mounts` prints. */
  async function mountSnapshot(key: string): Promise<string> {
    const target = join(tmp, `mnt-${key}`);
    await mkdir(target, { recursive: true });
    const cmd = await c(['snapshots', 'mounts', target, key]);
    expect(cmd.exitCode, cmd.stderr).to.equal(0);
    await execa('sh', ['-c', cmd.stdout]);
    mounted.push(target);
    return target;
  }
  async function unmount(target: string): Promise<void> {
    await execa('umount', [target]);
    mounted.splice(mounted.indexOf(target), 1);
  }
  const sh = (cwd: string, script: string) => execa('sh', ['-ec', script], { cwd });

  before(async function () {
    if (!systemdAvailable()) this.skip();
    tmp = await mkdtemp(join(tmpdir(), 'ctrd-ts-ctrdiff-'));
    // A parent with some content, committed; then an active snapshot on it, changed through its overlay mount.
    expect((await c(['snapshots', 'prepare', 'base'])).exitCode).to.equal(0);
    const base = await mountSnapshot('base');
    await sh(base, 'mkdir -p etc opq/sub moved; echo root > etc/passwd; echo x > etc/gone; echo bye > removed; echo 1 > opq/old1; echo 2 > opq/sub/old2; echo in > moved/f; echo same > keep');
    await unmount(base);
    expect((await c(['snapshots', 'commit', 'base-c', 'base'])).exitCode).to.equal(0);
    expect((await c(['snapshots', 'prepare', 'work', 'base-c'])).exitCode).to.equal(0);
    const work = await mountSnapshot('work');
    await sh(work, 'echo new > added.txt; echo user >> etc/passwd; rm etc/gone removed; rm -r opq; mkdir opq; echo n > opq/new; ln -s added.txt link; ln added.txt hard; chmod 0600 keep; mv moved renamed');
    await unmount(work);
  });

  after(async () => {
    for (const m of mounted.splice(0)) await execa('umount', [m], { reject: false });
    for (const key of ['check', 'work', 'work-c', 'base-c', 'gone']) await c(['snapshots', 'rm', key]);
    for (const lease of (await c(['leases', 'ls', '-q'])).stdout.split('\n').filter(Boolean)) await c(['leases', 'rm', '--sync', lease]);
    // The content store is shared by all namespaces: remove only the layer kept here.
    if (layer) await c(['content', 'rm', layer.digest]);
    await ctr(['namespaces', 'rm', NS]);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const expectedEntries = [
    'added.txt file',
    'etc/ directory',
    'etc/.wh.gone file',
    'etc/passwd file',
    'hard link added.txt',
    'keep file',
    'link symlink added.txt',
    '.wh.moved file',
    'opq/ directory',
    'opq/.wh..wh..opq file',
    'opq/new file',
    '.wh.removed file',
    'renamed/ directory',
    'renamed/f file',
  ];

  let layer: { gz: Buffer; tar: Buffer; digest: string } | undefined;

  it('writes the changes as a gzip layer with whiteouts and an opaque dir; the blob goes with ctr\'s lease', async () => {
    const r = await ctrDiff(['work']);
    expect(r.exitCode, r.stderr).to.equal(0);
    const tarData = gunzipSync(r.blob);
    expect(await tarEntries(tarData)).to.deep.equal(expectedEntries);
    layer = { gz: r.blob, tar: tarData, digest: sha256(r.blob) };
    // Written under ctr's lease only: once ctr deleted it, the collector takes the blob.
    expect(await eventually(async () => !(await c(['content', 'ls', '-q'])).stdout.includes(layer!.digest))).to.equal(true);
    expect((await c(['leases', 'ls', '-q'])).stdout.trim()).to.equal('');
    expect((await c(['content', 'active'])).stdout.trim().split('\n').slice(1)).to.deep.equal([]);
    // ctr's temporary view of the parent is gone too.
    expect((await c(['snapshots', 'ls'])).stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]).filter(Boolean).sort()).to.deep.equal(['base-c', 'work']);
  });

  it('--keep stores it with the uncompressed label and the given labels; an uncompressed diff is that same tar', async () => {
    const kept = await ctrDiff(['--keep', '--label', 'test.diff=yes', 'work']);
    expect(kept.exitCode, kept.stderr).to.equal(0);
    expect(kept.blob.equals(layer!.gz)).to.equal(true);
    const ls = await c(['content', 'ls']);
    const line = ls.stdout.split('\n').find((l) => l.startsWith(layer!.digest)) ?? '';
    expect(line).to.contain(`containerd.io/uncompressed=${sha256(layer!.tar)}`);
    expect(line).to.contain('test.diff=yes');
    expect(line).to.contain('containerd.io/gc.root=');

    const plain = await ctrDiff(['--media-type', 'application/vnd.oci.image.layer.v1.tar', 'work']);
    expect(plain.exitCode, plain.stderr).to.equal(0);
    expect(sha256(plain.blob)).to.equal(sha256(layer!.tar));
    // The two-snapshot form (parent, child) computes the same layer.
    const pair = await ctrDiff(['base-c', 'work']);
    expect(pair.exitCode, pair.stderr).to.equal(0);
    expect(sha256(pair.blob)).to.equal(layer!.digest);
  });

  it('Diff.Apply of the layer onto the parent reproduces the changed snapshot', async () => {
    expect((await c(['snapshots', 'prepare', 'check', 'base-c'])).exitCode).to.equal(0);
    const client = new DaemonClient(SOCKET, NS);
    try {
      const { mounts } = await client.call('snapshots', 'Mounts', { snapshotter: 'overlayfs', key: 'check' });
      const { applied } = await client.call('diff', 'Apply', {
        diff: { media_type: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer!.digest, size: String(layer!.gz.length) },
        mounts,
      });
      expect(applied?.digest).to.equal(sha256(layer!.tar));
    } finally {
      client.close();
    }
    const check = await mountSnapshot('check');
    const work = await mountSnapshot('work');
    const wanted = await describeTree(work);
    expect(wanted.length).to.be.greaterThan(8);
    expect(await describeTree(check)).to.deep.equal(wanted);
    await unmount(check);
    await unmount(work);
  });

  it('after ctr snapshots commit, the committed snapshot diffs to the same layer (through a view of it)', async () => {
    const commit = await c(['snapshots', 'commit', 'work-c', 'work']);
    expect(commit.exitCode, commit.stderr).to.equal(0);
    const r = await ctrDiff(['work-c']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(sha256(r.blob)).to.equal(layer!.digest);
    expect((await c(['snapshots', 'ls'])).stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]).filter(Boolean).sort()).to.deep.equal(['base-c', 'check', 'work-c']);
  });

  it('bad input: unknown snapshot, unsupported media type, a mount it cannot diff, a removed snapshot; nothing left behind', async () => {
    const before = (await c(['content', 'ls', '-q'])).stdout;
    const unknown = await ctrDiff(['no-such-snapshot']);
    expect(unknown.exitCode).to.not.equal(0);
    expect(unknown.stderr).to.match(/no-such-snapshot.*not found/);
    const zstd = await ctrDiff(['--media-type', 'application/vnd.oci.image.layer.v1.tar+zstd', 'work-c']);
    expect(zstd.exitCode).to.not.equal(0);
    expect(zstd.stderr).to.match(/unsupported diff media type "application\/vnd.oci.image.layer.v1.tar\+zstd".*not implemented/);

    const client = new DaemonClient(SOCKET, NS);
    try {
      const { mounts: workMounts } = await client.call('snapshots', 'Mounts', { snapshotter: 'overlayfs', key: 'check' });
      const tmpfs = await client.call('diff', 'Diff', { left: workMounts, right: [{ type: 'tmpfs', source: 'tmpfs', target: '', options: [] }], media_type: '', ref: '', labels: {} }).then(() => undefined, (e: unknown) => e);
      expect(isRuntimeError(tmpfs, 'Unimplemented'), String(tmpfs)).to.equal(true);
      expect(String((tmpfs as Error).message)).to.contain('"tmpfs" mount cannot be diffed');
      // Mounts of a snapshot removed since: its directory is gone.
      expect((await c(['snapshots', 'prepare', 'gone', 'base-c'])).exitCode).to.equal(0);
      const { mounts: goneMounts } = await client.call('snapshots', 'Mounts', { snapshotter: 'overlayfs', key: 'gone' });
      expect((await c(['snapshots', 'rm', 'gone'])).exitCode).to.equal(0);
      const removed = await client.call('diff', 'Diff', { left: workMounts, right: goneMounts, media_type: '', ref: 'ctrdiff-removed', labels: {} }).then(() => undefined, (e: unknown) => e);
      expect(isRuntimeError(removed, 'NotFound'), String(removed)).to.equal(true);
    } finally {
      client.close();
    }
    expect((await c(['content', 'active'])).stdout.trim().split('\n').slice(1)).to.deep.equal([]);
    expect((await c(['content', 'ls', '-q'])).stdout).to.equal(before);
    expect((await c(['leases', 'ls', '-q'])).stdout.trim()).to.equal('');
    expect((await c(['snapshots', 'ls'])).stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[0]).filter(Boolean).sort()).to.deep.equal(['base-c', 'check', 'work-c']);
  });
});
