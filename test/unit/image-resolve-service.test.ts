import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { imageResolveService } from '../../src/daemon/grpc/image-resolve-service.js';
import { NamespacedContentStore } from '../../src/daemon/metadata/content.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { ImageStore } from '../../src/daemon/metadata/images.js';
import { NamespaceStore } from '../../src/daemon/metadata/namespaces.js';
import type { ResolveImageResponse } from '../../src/proto-types.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { writeBlob } from '../../src/snapshot/content-helpers.js';
import { digestOf, type Digest } from '../../src/snapshot/digest.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const INDEX = 'application/vnd.oci.image.index.v1+json';
const CONFIG = 'application/vnd.oci.image.config.v1+json';

/** ImageResolve.Resolve on real stores: the record and the config bytes `ctr-ts run` builds its spec from, one call. */
describe('daemon/grpc ImageResolve', () => {
  let dir: string;
  let db: MetadataDb;
  let content: NamespacedContentStore;
  let images: ImageStore;

  beforeEach(async () => {
    dir = await tempDir('resolve');
    db = new MetadataDb(dir);
    content = await NamespacedContentStore.open(db, await FsContentStore.open(`${dir}/content`), new NamespaceStore(db));
    images = new ImageStore(db);
  });
  afterEach(async () => {
    await db.close();
    await removeTempDir(dir);
  });

  const put = async (doc: object, ns = 'default'): Promise<{ digest: Digest; size: number; text: string }> => {
    const text = JSON.stringify(doc);
    const buf = Buffer.from(text);
    const digest = digestOf(buf);
    await writeBlob(content.forNamespace(ns), Readable.from([buf]), { ref: `r-${digest}`, expected: { digest, size: buf.length } });
    return { digest, size: buf.length, text };
  };
  const resolve = (name: string, ns = 'default') =>
    new Promise<ResolveImageResponse>((resolvePromise, reject) => {
      const metadata = new grpc.Metadata();
      metadata.set('containerd-namespace', ns);
      imageResolveService(images, content).Resolve({ request: { name }, metadata } as never, (err, res) => (err ? reject(err) : resolvePromise(res as ResolveImageResponse)));
    });
  const image = async (ns = 'default') => {
    const config = await put({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: [] } }, ns);
    const manifest = await put({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: CONFIG, digest: config.digest, size: config.size }, layers: [] }, ns);
    return { config, manifest };
  };

  it('answers the image record and its config, byte for byte, through an index to this platform\'s manifest', async () => {
    const amd64 = await image();
    const other = await put({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: CONFIG, digest: amd64.config.digest, size: amd64.config.size }, layers: [] });
    const index = await put({
      schemaVersion: 2, mediaType: INDEX,
      manifests: [
        { mediaType: MANIFEST, digest: other.digest, size: other.size, platform: { architecture: 'arm64', os: 'linux' } },
        { mediaType: MANIFEST, digest: amd64.manifest.digest, size: amd64.manifest.size, platform: { architecture: 'amd64', os: 'linux' } },
      ],
    });
    images.create('default', { name: 'docker.io/library/multi:latest', labels: {}, target: { mediaType: INDEX, digest: index.digest, size: index.size } });
    const res = await resolve('docker.io/library/multi:latest');
    expect(res.image?.name).to.equal('docker.io/library/multi:latest');
    expect(res.image?.target?.digest).to.equal(index.digest);
    expect(Buffer.from(res.config).toString()).to.equal(amd64.config.text);
  });

  it('NotFound, as Images.Get says it, for an unknown image or one of another namespace', async () => {
    const { manifest } = await image('other');
    images.create('other', { name: 'docker.io/library/theirs:latest', labels: {}, target: { mediaType: MANIFEST, digest: manifest.digest, size: manifest.size } });
    for (const name of ['docker.io/library/nope:latest', 'docker.io/library/theirs:latest']) {
      const err = (await resolve(name).catch((e: unknown) => e)) as grpc.ServiceError;
      expect(err.code).to.equal(grpc.status.NOT_FOUND);
      expect(err.details).to.contain(`image "${name}" not found`);
    }
  });

  it('refuses an image whose config is not an image config, and one whose content is gone', async () => {
    const bad = await put({ not: 'a config' });
    const manifest = await put({ schemaVersion: 2, mediaType: MANIFEST, config: { mediaType: CONFIG, digest: bad.digest, size: bad.size }, layers: [] });
    images.create('default', { name: 'docker.io/library/bad:latest', labels: {}, target: { mediaType: MANIFEST, digest: manifest.digest, size: manifest.size } });
    const err = (await resolve('docker.io/library/bad:latest').catch((e: unknown) => e)) as grpc.ServiceError;
    expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
    const { manifest: gone } = await image();
    images.create('default', { name: 'docker.io/library/gone:latest', labels: {}, target: { mediaType: MANIFEST, digest: gone.digest, size: gone.size } });
    await content.forNamespace('default').delete(gone.digest);
    expect(((await resolve('docker.io/library/gone:latest').catch((e: unknown) => e)) as grpc.ServiceError).code).to.equal(grpc.status.NOT_FOUND);
  });
});
