import { expect } from 'chai';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { DockerMediaTypes, MediaTypes, isManifest, parseJsonBlob, type Descriptor, type ImageConfig, type Manifest } from '../../src/oci/image-types.js';
import { onlyPlatform, parsePlatform } from '../../src/oci/platform.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { digestOf, type Digest } from '../../src/snapshot/digest.js';
import { exportOciArchive, familiarTag } from '../../src/snapshot/export.js';
import { importImageArchive } from '../../src/snapshot/import.js';
import { buildBusybox, makeTar, removeTempDir, tempDir, type TarEntrySpec } from './snapshot-helpers.js';
import { rejection } from '../support/rejection.js';

const IMAGE = 'docker.io/library/busybox:latest';

/** Every file of a tar, by name. */
async function untar(data: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, body, next) => {
      const parts: Buffer[] = [];
      body.on('data', (c: unknown) => parts.push(c as Buffer));
      body.on('end', () => {
        if (header.type === 'file') files.set(header.name, Buffer.concat(parts));
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(data);
  await done;
  return files;
}

async function exportToBuffer(store: FsContentStore, images: Array<{ name: string; target: Descriptor }>, options = {}): Promise<Buffer> {
  const out = new PassThrough();
  const parts: Buffer[] = [];
  out.on('data', (c: Buffer) => parts.push(c));
  await exportOciArchive(store, images, out, options);
  return Buffer.concat(parts);
}

describe('snapshot/import of docker save archives, and snapshot/export', function () {
  this.timeout(60_000);
  let fixtures: string;
  let ociArchive: string;
  let layout: string;
  let dockerArchive: Buffer;
  let base: string;
  let store: FsContentStore;

  before(async () => {
    fixtures = await tempDir('import-export-fixtures');
    ({ archive: ociArchive, layout } = await buildBusybox(fixtures));
    const out = join(fixtures, 'busybox.docker.tar');
    await execa('skopeo', ['copy', '--quiet', `oci-archive:${ociArchive}`, `docker-archive:${out}:busybox:latest`]);
    dockerArchive = await readFile(out);
  });
  after(() => removeTempDir(fixtures));
  beforeEach(async () => {
    base = await tempDir('import-export');
    store = await FsContentStore.open(join(base, 'content'));
  });
  afterEach(() => removeTempDir(base));

  const blobs = () => readdir(join(base, 'content', 'blobs', 'sha256'));
  const ingests = () => readdir(join(base, 'content', 'ingest'));
  async function expectNothingCommitted(): Promise<void> {
    expect(await blobs(), 'no blob committed').to.deep.equal([]);
    expect(await ingests(), 'no ingest left').to.deep.equal([]);
  }

  it("imports skopeo's docker-archive as a Docker schema2 image with the config's layers, verified and GC-labelled", async () => {
    const result = await importImageArchive(Readable.from([dockerArchive]), store);
    expect(result.format).to.equal('docker');
    expect(result.images.map((i) => i.name)).to.deep.equal([IMAGE]);
    const target = result.images[0]!.target;
    expect(target.mediaType).to.equal(DockerMediaTypes.Manifest);
    const manifest = parseJsonBlob<Manifest>(await store.readAll(target.digest as Digest), 'manifest', isManifest);
    const config = JSON.parse((await store.readAll(manifest.config.digest as Digest)).toString()) as ImageConfig;
    expect(manifest.layers).to.have.length(1);
    // skopeo writes layers uncompressed: the blob is the diff itself.
    expect(manifest.layers[0]!.mediaType).to.equal(DockerMediaTypes.Layer);
    expect(manifest.layers[0]!.digest).to.equal(config.rootfs.diff_ids[0]);
    // The same filesystem as the OCI fixture's (gzipped) layer.
    const ociManifest = JSON.parse(await readFile(join(layout, 'blobs/sha256', JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')).manifests[0].digest.slice(7)), 'utf8')) as Manifest;
    const gz = await readFile(join(layout, 'blobs/sha256', ociManifest.layers[0]!.digest.slice(7)));
    expect(digestOf(gunzipSync(gz))).to.equal(manifest.layers[0]!.digest);
    // Only the manifest, config and layer are kept (not manifest.json, repositories or anything else).
    expect((await blobs()).sort()).to.deep.equal([target.digest, manifest.config.digest, manifest.layers[0]!.digest].map((d) => d.slice(7)).sort());
    expect(await ingests()).to.deep.equal([]);
    const labels = (await store.info(target.digest as Digest)).labels;
    expect(labels['containerd.io/gc.ref.content.config']).to.equal(manifest.config.digest);
    expect(labels['containerd.io/gc.ref.content.l.0']).to.equal(manifest.layers[0]!.digest);
  });

  it('reads docker save layouts: <id>/layer.tar, a symlinked repeat layer, gzip layers, several tags', async () => {
    const layer1 = await makeTar([{ name: 'a.txt', content: 'one' }]);
    const layer2 = await makeTar([{ name: 'b.txt', content: 'two' }]);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(layer1), digestOf(layer2), digestOf(layer1)] } }));
    const { gzipSync } = await import('node:zlib');
    const gz2 = gzipSync(layer2);
    const archive = await makeTar([
      { name: 'aaa/layer.tar', content: layer1 },
      { name: 'bbb/layer.tar', content: gz2 },
      { name: 'ccc/layer.tar', type: 'symlink', linkname: '../aaa/layer.tar' },
      { name: `${digestOf(config).slice(7)}.json`, content: config },
      { name: 'manifest.json', content: JSON.stringify([{ Config: `${digestOf(config).slice(7)}.json`, RepoTags: ['example.com/app:1', 'app:2'], Layers: ['aaa/layer.tar', 'bbb/layer.tar', 'ccc/layer.tar'] }]) },
      { name: 'repositories', content: '{}' },
    ]);
    const result = await importImageArchive(Readable.from([archive]), store);
    expect(result.images.map((i) => i.name)).to.deep.equal(['example.com/app:1', 'docker.io/library/app:2']);
    const manifest = parseJsonBlob<Manifest>(await store.readAll(result.images[0]!.target.digest as Digest), 'manifest', isManifest);
    expect(manifest.layers.map((l) => [l.mediaType, l.digest])).to.deep.equal([
      [DockerMediaTypes.Layer, digestOf(layer1)],
      [DockerMediaTypes.LayerGzip, digestOf(gz2)],
      [DockerMediaTypes.Layer, digestOf(layer1)],
    ]);
    expect((await blobs()).length).to.equal(4);
  });

  it('rejects bad docker archives with a clear error and commits nothing', async () => {
    const files = await untar(dockerArchive);
    const manifestJson = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Config: string; Layers: string[] }>;
    const layerName = manifestJson[0]!.Layers[0]!;
    const rebuild = (change: (name: string, data: Buffer) => TarEntrySpec | undefined) =>
      makeTar([...files].map(([name, data]) => change(name, data)).filter((e): e is TarEntrySpec => e !== undefined));

    const notTar = await rejection(importImageArchive(Readable.from([randomBytes(4096)]), store));
    expect(notTar.kind).to.equal('InvalidArgument');
    expect(notTar.message).to.match(/image archive/);
    await expectNothingCommitted();

    const noManifest = await rejection(importImageArchive(Readable.from([await rebuild((n, d) => (n === 'manifest.json' ? undefined : { name: n, content: d }))]), store));
    expect(noManifest.message).to.match(/neither oci-layout and index.json .* nor manifest.json/);
    await expectNothingCommitted();

    const flipped = await rebuild((n, d) => {
      if (n !== layerName) return { name: n, content: d };
      const copy = Buffer.from(d);
      copy[1000] = copy[1000]! ^ 0xff;
      return { name: n, content: copy };
    });
    const corrupt = await rejection(importImageArchive(Readable.from([flipped]), store));
    expect(corrupt.kind).to.equal('InvalidArgument');
    expect(corrupt.message).to.include(layerName).and.match(/does not match its name/);
    await expectNothingCommitted();

    for (const escape of ['../../etc/passwd', '/etc/passwd']) {
      const evil = JSON.stringify([{ ...manifestJson[0], Layers: [escape] }]);
      const err = await rejection(importImageArchive(Readable.from([await rebuild((n, d) => ({ name: n, content: n === 'manifest.json' ? evil : d }))]), store));
      expect(err.kind).to.equal('InvalidArgument');
      expect(err.message).to.include(escape).and.match(/leaves the archive/);
      await expectNothingCommitted();
    }

    const evilLink = await makeTar([...[...files].map(([name, content]) => ({ name, content })), { name: 'x/layer.tar', type: 'symlink', linkname: '../../outside.tar' }]);
    expect((await rejection(importImageArchive(Readable.from([evilLink]), store))).message).to.match(/leaves the archive/);
    await expectNothingCommitted();

    const missing = await rejection(importImageArchive(Readable.from([await rebuild((n, d) => (n === layerName ? undefined : { name: n, content: d }))]), store));
    expect(missing.message).to.match(/missing from the archive/);
    await expectNothingCommitted();
  });

  it('exports an OCI archive that our import, skopeo and docker load (manifest.json) all read', async () => {
    const { images } = await importImageArchive(Readable.from([await readFile(ociArchive)]), store);
    const data = await exportToBuffer(store, [{ name: IMAGE, target: images[0]!.target }, { name: 'example.com/busybox:copy', target: images[0]!.target }]);
    const files = await untar(data);
    expect(JSON.parse(files.get('oci-layout')!.toString())).to.deep.equal({ imageLayoutVersion: '1.0.0' });
    const index = JSON.parse(files.get('index.json')!.toString()) as { manifests: Descriptor[] };
    expect(index.manifests.map((m) => m.annotations)).to.deep.equal([
      { 'io.containerd.image.name': IMAGE, 'org.opencontainers.image.ref.name': 'latest' },
      { 'io.containerd.image.name': 'example.com/busybox:copy', 'org.opencontainers.image.ref.name': 'copy' },
    ]);
    const manifest = parseJsonBlob<Manifest>(files.get(`blobs/sha256/${images[0]!.target.digest.slice(7)}`)!, 'manifest', isManifest);
    const docker = JSON.parse(files.get('manifest.json')!.toString()) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    expect(docker).to.deep.equal([
      { Config: `blobs/sha256/${manifest.config.digest.slice(7)}`, RepoTags: ['busybox:latest', 'example.com/busybox:copy'], Layers: [`blobs/sha256/${manifest.layers[0]!.digest.slice(7)}`] },
    ]);
    for (const name of [docker[0]!.Config, ...docker[0]!.Layers]) expect(files.has(name), name).to.equal(true);

    const other = await FsContentStore.open(join(base, 'other'));
    const again = await importImageArchive(Readable.from([data]), other);
    expect(again.format).to.equal('oci');
    expect(again.images.map((i) => [i.name, i.target.digest])).to.deep.equal([
      [IMAGE, images[0]!.target.digest],
      ['example.com/busybox:copy', images[0]!.target.digest],
    ]);
    const file = join(base, 'export.tar');
    await writeFile(file, data);
    const inspected = JSON.parse((await execa('skopeo', ['inspect', '--raw', `oci-archive:${file}:latest`])).stdout) as Manifest;
    expect(inspected.config.digest).to.equal(manifest.config.digest);
    // skopeo's docker-archive reader uses manifest.json alone, as docker load does.
    const viaDocker = await execa('skopeo', ['inspect', '--raw', `docker-archive:${file}`], { reject: false });
    expect(viaDocker.exitCode, viaDocker.stderr).to.equal(0);
    expect(familiarTag('docker.io/library/busybox@sha256:' + 'a'.repeat(64))).to.equal(undefined);
    expect(familiarTag('docker.io/team/app:1')).to.equal('team/app:1');
  });

  it('exports only the platform asked for, and refuses --all-platforms when content is missing', async () => {
    const { images } = await importImageArchive(Readable.from([await readFile(ociArchive)]), store);
    const amd64 = { ...images[0]!.target, platform: { os: 'linux', architecture: 'amd64' } };
    const arm = { mediaType: MediaTypes.ImageManifest, digest: digestOf('not here'), size: 8, platform: { os: 'linux', architecture: 'arm64' } };
    const indexData = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ImageIndex, manifests: [arm, amd64] }));
    const { writeBlob } = await import('../../src/snapshot/content-helpers.js');
    await writeBlob(store, Readable.from([indexData]), { ref: 'index', expected: { digest: digestOf(indexData), size: indexData.length } });
    const target = { mediaType: MediaTypes.ImageIndex, digest: digestOf(indexData), size: indexData.length };
    const files = await untar(await exportToBuffer(store, [{ name: 'example.com/multi:1', target }]));
    expect([...files.keys()].filter((n) => n.startsWith('blobs/')).length).to.equal(4); // index, manifest, config, layer
    const all = await rejection(exportToBuffer(store, [{ name: 'example.com/multi:1', target }], { allPlatforms: true }));
    expect(all.kind).to.equal('NotFound');
    expect(all.message).to.include(arm.digest);
    const none = await rejection(exportToBuffer(store, [{ name: 'example.com/multi:1', target }], { platform: onlyPlatform(parsePlatform('linux/s390x')) }));
    expect(none.message).to.match(/no manifest for platform linux\/s390x/);
  });

  it('imports only the platform asked for from a multi-platform archive, or every platform with allPlatforms', async () => {
    // busybox for linux/amd64 plus a one-layer linux/arm64 image, under one index.
    const files = new Map<string, Buffer>();
    for (const hex of await readdir(join(layout, 'blobs/sha256'))) files.set(`blobs/sha256/${hex}`, await readFile(join(layout, 'blobs/sha256', hex)));
    const amd64 = (JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] }).manifests[0]!;
    const armLayer = await makeTar([{ name: 'arm.txt', content: 'arm' }]);
    const armConfig = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [digestOf(armLayer)] } }));
    const armManifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ImageManifest,
        config: { mediaType: MediaTypes.ImageConfig, digest: digestOf(armConfig), size: armConfig.length },
        layers: [{ mediaType: MediaTypes.Layer, digest: digestOf(armLayer), size: armLayer.length }],
      }),
    );
    const index = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ImageIndex,
        manifests: [
          { mediaType: MediaTypes.ImageManifest, digest: amd64.digest, size: amd64.size, platform: { os: 'linux', architecture: 'amd64' } },
          { mediaType: MediaTypes.ImageManifest, digest: digestOf(armManifest), size: armManifest.length, platform: { os: 'linux', architecture: 'arm64' } },
        ],
      }),
    );
    for (const b of [armLayer, armConfig, armManifest, index]) files.set(`blobs/sha256/${digestOf(b).slice(7)}`, b);
    files.set('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    files.set('index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: MediaTypes.ImageIndex, digest: digestOf(index), size: index.length, annotations: { 'io.containerd.image.name': 'example.com/multi:1' } }] })));
    const archive = await makeTar([...files].map(([name, content]) => ({ name, content })));

    const hostOnly = await importImageArchive(Readable.from([archive]), store);
    expect(hostOnly.images[0]!.manifest!.digest).to.equal(amd64.digest);
    let stored = await blobs();
    expect(stored).to.include(digestOf(index).slice(7)).and.include(amd64.digest.slice(7));
    for (const b of [armLayer, armConfig, armManifest]) expect(stored).to.not.include(digestOf(b).slice(7));
    expect((await store.info(digestOf(index))).labels).to.deep.equal({ 'containerd.io/gc.ref.content.m.0': amd64.digest });

    const armOnly = await importImageArchive(Readable.from([archive]), await FsContentStore.open(join(base, 'arm')), { platform: onlyPlatform(parsePlatform('linux/arm64')) });
    expect(armOnly.images[0]!.manifest!.digest).to.equal(digestOf(armManifest));

    await importImageArchive(Readable.from([archive]), store, { allPlatforms: true });
    stored = await blobs();
    for (const b of [armLayer, armConfig, armManifest]) expect(stored).to.include(digestOf(b).slice(7));
    expect((await store.info(digestOf(index))).labels).to.deep.equal({
      'containerd.io/gc.ref.content.m.0': amd64.digest,
      'containerd.io/gc.ref.content.m.1': digestOf(armManifest),
    });
    expect((await store.info(digestOf(armManifest))).labels).to.deep.equal({
      'containerd.io/gc.ref.content.config': digestOf(armConfig),
      'containerd.io/gc.ref.content.l.0': digestOf(armLayer),
    });
    expect(await ingests()).to.deep.equal([]);

    // allPlatforms needs every platform's content.
    files.delete(`blobs/sha256/${digestOf(armLayer).slice(7)}`);
    const partial = await makeTar([...files].map(([name, content]) => ({ name, content })));
    const other = await FsContentStore.open(join(base, 'partial'));
    expect((await rejection(importImageArchive(Readable.from([partial]), other, { allPlatforms: true }))).message).to.match(/missing from the archive/);
    expect((await importImageArchive(Readable.from([partial]), other)).images).to.have.length(1);
  });
});
