import { expect } from 'chai';
import { execa } from 'execa';
import { open as openLmdb, type RootDatabase } from 'lmdb';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { isManifest, MediaTypes, parseJsonBlob, type Descriptor, type Manifest } from '../../src/oci/image-types.js';
import { hostPlatform, normalizePlatform, onlyPlatform, parsePlatform, selectManifest } from '../../src/oci/platform.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { digestOf } from '../../src/snapshot/digest.js';
import { imageName, importOciArchive } from '../../src/snapshot/import.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { unpackImage } from '../../src/snapshot/unpack.js';
import { buildBusybox, canMountOverlay, makeTar, removeTempDir, tempDir, type TarEntrySpec } from './snapshot-helpers.js';
import { rejection } from '../support/rejection.js';

const IMAGE = 'docker.io/library/busybox:latest';

/** Offset of the data of entry `name` in an uncompressed tar. */
function entryDataOffset(archive: Buffer, name: string): number {
  let off = 0;
  while (off + 512 <= archive.length) {
    const h = archive.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const entryName = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = Number.parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim() || '0', 8);
    if (entryName === name) return off + 512;
    off += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`entry ${name} not found`);
}

describe('oci/platform', () => {
  it('normalizes and matches linux/amd64 for the host', () => {
    expect(hostPlatform()).to.deep.equal({ os: 'linux', architecture: 'amd64' });
    expect(normalizePlatform({ os: 'Linux', architecture: 'x86_64' })).to.deep.equal({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/arm64/v8')).to.deep.equal({ os: 'linux', architecture: 'arm64' });
    const d = (architecture: string, variant?: string): Descriptor => ({
      mediaType: MediaTypes.ImageManifest,
      digest: digestOf(architecture + (variant ?? '')),
      size: 1,
      platform: { os: 'linux', architecture, ...(variant ? { variant } : {}) },
    });
    const list = [d('arm64'), d('arm', 'v7'), d('amd64'), { mediaType: MediaTypes.ImageManifest, digest: digestOf('attestation'), size: 1 }];
    expect(selectManifest(list, onlyPlatform({ os: 'linux', architecture: 'amd64' }))?.digest).to.equal(digestOf('amd64'));
    expect(selectManifest(list, onlyPlatform(parsePlatform('linux/arm/v7')))?.digest).to.equal(digestOf('armv7'));
    expect(selectManifest(list, onlyPlatform(parsePlatform('linux/s390x')))).to.equal(undefined);
  });

  it('names images like ctr 1.6 import', () => {
    expect(imageName({ 'io.containerd.image.name': 'a/b:c', 'org.opencontainers.image.ref.name': 'x' })).to.equal('a/b:c');
    expect(imageName({ 'org.opencontainers.image.ref.name': IMAGE })).to.equal(IMAGE);
    expect(imageName({ 'org.opencontainers.image.ref.name': 'latest' }, 'example/base')).to.equal('example/base:latest');
    expect(imageName({})).to.equal(undefined);
  });
});

describe('snapshot/import', function () {
  this.timeout(60000);
  let fixtures: string;
  let archive: Buffer;
  let archivePath: string;
  let layout: string;
  let base: string;
  let store: FsContentStore;

  before(async () => {
    fixtures = await tempDir('import-fixtures');
    const built = await buildBusybox(fixtures);
    archivePath = built.archive;
    layout = built.layout;
    archive = await readFile(archivePath);
  });
  after(async () => {
    await removeTempDir(fixtures);
  });

  beforeEach(async () => {
    base = await tempDir('import');
    store = await FsContentStore.open(join(base, 'content'));
  });
  afterEach(async () => {
    await removeTempDir(base);
  });

  const blobs = () => readdir(join(base, 'content', 'blobs', 'sha256'));
  const ingests = () => readdir(join(base, 'content', 'ingest'));
  async function expectNothingCommitted(): Promise<void> {
    expect(await blobs(), 'no blob committed').to.deep.equal([]);
    expect(await ingests(), 'no ingest left').to.deep.equal([]);
  }

  it('imports the busybox archive with verified blobs and the image name', async () => {
    const result = await importOciArchive(createReadStream(archivePath), store);
    expect(result.images).to.have.length(1);
    const [img] = result.images;
    expect(img!.name).to.equal(IMAGE);
    expect(img!.target.mediaType).to.equal(MediaTypes.ImageManifest);
    expect(img!.manifest!.digest).to.equal(img!.target.digest);
    expect((await blobs()).sort()).to.deep.equal((await readdir(join(layout, 'blobs', 'sha256'))).sort());
    expect(await ingests()).to.deep.equal([]);
    const manifest = parseJsonBlob<Manifest>(await store.readAll(img!.manifest!.digest as `sha256:${string}`), 'manifest', isManifest);
    expect(manifest.layers).to.have.length(1);

    // importing again is idempotent
    const again = await importOciArchive(Readable.from([archive]), store);
    expect(again.images.map((i) => i.name)).to.deep.equal([IMAGE]);
    expect(await ingests()).to.deep.equal([]);
  });

  it('imports then unpacks busybox into an overlay snapshot that mounts as a root filesystem', async function () {
    const { images } = await importOciArchive(Readable.from([archive]), store);
    const manifest = parseJsonBlob<Manifest>(await store.readAll(images[0]!.manifest!.digest as `sha256:${string}`), 'manifest', isManifest);
    const db: RootDatabase<unknown, string> = openLmdb<unknown, string>({ path: join(base, 'meta.lmdb') });
    try {
      const snap = new OverlaySnapshotter({ root: join(base, 'snapshots'), db });
      const { chainId, diffIds } = await unpackImage({ content: store, snapshotter: snap, manifest, keyPrefix: 'default/' });
      expect(chainId).to.equal(diffIds[0]);
      const mounts = await snap.prepare('default/busybox-rootfs', `default/${chainId}`);
      if (!(await canMountOverlay(join(base, 'probe')))) return;
      const mnt = join(base, 'mnt');
      await mkdir(mnt);
      const m = mounts[0]!;
      await execa('mount', ['-t', m.type, '-o', m.options.join(','), m.source, mnt]);
      try {
        expect(await readlink(join(mnt, 'bin', 'sh'))).to.equal('busybox');
        const r = await execa('chroot', [mnt, '/bin/sh', '-c', 'echo hello from $(busybox | head -1 | cut -d" " -f1)']);
        expect(r.stdout).to.equal('hello from BusyBox');
      } finally {
        await execa('umount', [mnt]);
      }
    } finally {
      await db.close();
    }
  });

  it('accepts a gzip-compressed archive', async () => {
    const result = await importOciArchive(Readable.from([gzipSync(archive)]), store);
    expect(result.images.map((i) => i.name)).to.deep.equal([IMAGE]);
  });

  it('rejects a corrupted copy (one flipped byte in the layer blob) and commits nothing', async () => {
    const manifestHex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')).manifests[0].digest.slice(7) as string;
    const manifest = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', manifestHex), 'utf8')) as Manifest;
    const layerHex = manifest.layers[0]!.digest.slice(7);
    const corrupt = Buffer.from(archive);
    const at = entryDataOffset(corrupt, `blobs/sha256/${layerHex}`) + 5000;
    corrupt[at] = (corrupt[at] as number) ^ 0xff;
    const err = await rejection(importOciArchive(Readable.from([corrupt]), store));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include(`sha256:${layerHex}`);
    expect(err.message).to.match(/does not match/);
    await expectNothingCommitted();
  });

  it('rejects a corrupted config blob and commits nothing, not even the blobs before it', async () => {
    const manifestHex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')).manifests[0].digest.slice(7) as string;
    const manifest = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', manifestHex), 'utf8')) as Manifest;
    const configHex = manifest.config.digest.slice(7);
    const corrupt = Buffer.from(archive);
    const at = entryDataOffset(corrupt, `blobs/sha256/${configHex}`) + 10;
    corrupt[at] = (corrupt[at] as number) ^ 0x01;
    expect((await rejection(importOciArchive(Readable.from([corrupt]), store))).kind).to.equal('InvalidArgument');
    await expectNothingCommitted();
  });

  it('rejects truncated copies and commits nothing', async () => {
    for (const cut of [archive.length - 700, Math.floor(archive.length / 2), 1000, 3]) {
      const err = await rejection(importOciArchive(Readable.from([archive.subarray(0, cut)]), store));
      expect(err.kind, `cut at ${cut}: ${err.message}`).to.equal('InvalidArgument');
      await expectNothingCommitted();
    }
    const mid = await rejection(importOciArchive(Readable.from([archive.subarray(0, Math.floor(archive.length / 2))]), store));
    expect(mid.message).to.match(/truncated/);
  });

  it('rejects archives with missing blobs, no oci-layout, or a blob under a wrong name', async () => {
    const files = async (skip: (name: string) => boolean, rename?: (name: string) => string): Promise<Buffer> => {
      const entries: TarEntrySpec[] = [];
      for (const hex of await readdir(join(layout, 'blobs', 'sha256'))) {
        const name = `blobs/sha256/${hex}`;
        if (!skip(name)) entries.push({ name: rename ? rename(name) : name, content: await readFile(join(layout, name)) });
      }
      for (const name of ['index.json', 'oci-layout']) if (!skip(name)) entries.push({ name, content: await readFile(join(layout, name)) });
      return makeTar(entries);
    };
    const manifestHex = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')).manifests[0].digest.slice(7) as string;
    const manifest = JSON.parse(await readFile(join(layout, 'blobs', 'sha256', manifestHex), 'utf8')) as Manifest;
    const layerName = `blobs/sha256/${manifest.layers[0]!.digest.slice(7)}`;

    const missing = await rejection(importOciArchive(Readable.from([await files((n) => n === layerName)]), store));
    expect(missing.message).to.match(/missing from the archive/);
    await expectNothingCommitted();

    const noLayout = await rejection(importOciArchive(Readable.from([await files((n) => n === 'oci-layout')]), store));
    expect(noLayout.message).to.match(/oci-layout/);
    await expectNothingCommitted();

    const renamed = await rejection(importOciArchive(Readable.from([await files(() => false, (n) => (n === layerName ? `blobs/sha256/${'0'.repeat(64)}` : n))]), store));
    expect(renamed.message).to.include(`sha256:${'0'.repeat(64)}`);
    await expectNothingCommitted();

    const badName = await rejection(importOciArchive(Readable.from([await makeTar([{ name: 'blobs/sha256/nothex', content: 'x' }])]), store));
    expect(badName.kind).to.equal('InvalidArgument');
  });

  it('resolves a multi-platform index to linux/amd64', async () => {
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
    const amd64 = { ...index.manifests[0]!, annotations: undefined } as Descriptor;
    const nested = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ImageIndex,
        manifests: [
          { mediaType: MediaTypes.ImageManifest, digest: digestOf('arm64 manifest not in archive'), size: 10, platform: { os: 'linux', architecture: 'arm64' } },
          amd64,
        ],
      }),
    );
    const dir = join(base, 'multi');
    await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
    for (const hex of await readdir(join(layout, 'blobs', 'sha256'))) await copyFile(join(layout, 'blobs', 'sha256', hex), join(dir, 'blobs', 'sha256', hex));
    const nestedDigest = digestOf(nested);
    await writeFile(join(dir, 'blobs', 'sha256', nestedDigest.slice(7)), nested);
    const top = { mediaType: MediaTypes.ImageIndex, digest: nestedDigest, size: nested.length, annotations: { 'org.opencontainers.image.ref.name': 'example.com/multi:1' } };
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [top] }));
    await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    const tarPath = join(base, 'multi.tar');
    await execa('tar', ['-C', dir, '-cf', tarPath, '.']);
    const result = await importOciArchive(createReadStream(tarPath), store);
    expect(result.images).to.have.length(1);
    expect(result.images[0]!.name).to.equal('example.com/multi:1');
    expect(result.images[0]!.target.digest).to.equal(nestedDigest);
    expect(result.images[0]!.manifest!.digest).to.equal(amd64.digest);
    expect(result.images[0]!.manifest!.platform).to.deep.equal({ architecture: 'amd64', os: 'linux' });

    const armOnly = await rejection(importOciArchive(createReadStream(tarPath), await FsContentStore.open(join(base, 'c2')), { platform: onlyPlatform(parsePlatform('linux/arm64')) }));
    expect(armOnly.kind).to.equal('InvalidArgument');
    expect(armOnly.message).to.match(/missing from the archive/);
  });
});
