import { expect } from 'chai';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import { diffService } from '../../src/daemon/grpc/diff-service.js';
import { listXattrs } from '../../src/shim/native.js';
import { WalkingDiffer } from '../../src/snapshot/walking-differ.js';
import { loadContainerdApi } from '../../src/proto.js';
import type { ApplyResponse, DiffClient, Init, ApplyRequest } from '../../src/proto-types.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import type { ContentStore } from '../../src/snapshot/content.js';
import { NamespacedContentStore } from '../../src/daemon/metadata/content.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { NamespaceStore } from '../../src/daemon/metadata/namespaces.js';
import { writeBlob } from '../../src/snapshot/content-helpers.js';
import { digestOf } from '../../src/snapshot/digest.js';
import { listDir, makeTar, removeTempDir, tempDir } from './snapshot-helpers.js';

/** Diff.Apply over a real gRPC server: a stored layer extracted into the writable dir of the mounts given. */
describe('daemon/grpc Diff.Apply', () => {
  let dir: string;
  let db: MetadataDb;
  let store: ContentStore;
  let server: grpc.Server;
  let client: DiffClient & grpc.Client;

  beforeEach(async () => {
    dir = await tempDir('diff');
    db = new MetadataDb(dir);
    const content = await NamespacedContentStore.open(db, await FsContentStore.open(join(dir, 'content')), new NamespaceStore(db));
    store = content.forNamespace('default');
    const api = loadContainerdApi();
    server = new grpc.Server();
    const differ = (ns: string) => new WalkingDiffer(content.forNamespace(ns), listXattrs);
    server.addService(api.services.diff.service, diffService({ content, differ }) as unknown as grpc.UntypedServiceImplementation);
    const address = `unix://${join(dir, 'sock')}`;
    await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    client = new api.services.diff.Client(address, grpc.credentials.createInsecure()) as unknown as DiffClient & grpc.Client;
  });
  afterEach(async () => {
    client.close();
    server.forceShutdown();
    await db.close();
    await removeTempDir(dir);
  });

  const apply = (req: Init<ApplyRequest>, namespace = 'default') =>
    new Promise<ApplyResponse>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('containerd-namespace', namespace);
      client.Apply(req, md, (err, res) => (err || !res ? reject(err) : resolve(res as ApplyResponse)));
    });
  const codeOf = (p: Promise<unknown>) => p.then(() => grpc.status.OK, (e: grpc.ServiceError) => e.code);

  async function storeLayer(gzip: boolean) {
    const tar = await makeTar([{ name: 'etc/', type: 'directory' }, { name: 'etc/motd', content: 'applied\n' }]);
    const blob = gzip ? gzipSync(tar) : tar;
    const digest = digestOf(blob);
    await writeBlob(store, Readable.from([blob]), { ref: digest, expected: { digest, size: blob.length } });
    return { digest, size: blob.length, diffId: digestOf(tar), tarSize: tar.length };
  }

  for (const gzip of [true, false]) {
    it(`extracts a ${gzip ? 'gzip' : 'plain'} layer into an overlay upperdir and answers with its diffID`, async () => {
      const layer = await storeLayer(gzip);
      const upper = join(dir, 'upper');
      await mkdir(upper);
      const res = await apply({
        diff: { media_type: `application/vnd.oci.image.layer.v1.tar${gzip ? '+gzip' : ''}`, digest: layer.digest, size: String(layer.size) },
        mounts: [{ type: 'overlay', source: 'overlay', target: '', options: [`workdir=${dir}/work`, `upperdir=${upper}`, `lowerdir=${dir}/lower`] }],
      });
      expect(res.applied).to.include({ media_type: 'application/vnd.oci.image.layer.v1.tar', digest: layer.diffId, size: String(layer.tarSize) });
      expect(await readFile(join(upper, 'etc/motd'), 'utf8')).to.equal('applied\n');
    });
  }

  it('extracts a zstd layer (through the zstd program) and answers with the diffID of the plain tar', async () => {
    const tar = await makeTar([{ name: 'zstd.txt', content: 'from zstd\n' }]);
    const { stdout } = await execa('zstd', ['-q', '-c'], { input: tar, encoding: 'buffer' });
    const blob = Buffer.from(stdout);
    const digest = digestOf(blob);
    await writeBlob(store, Readable.from([blob]), { ref: digest, expected: { digest, size: blob.length } });
    const target = join(dir, 'zstd');
    await mkdir(target);
    const res = await apply({
      diff: { media_type: 'application/vnd.oci.image.layer.v1.tar+zstd', digest, size: String(blob.length) },
      mounts: [{ type: 'bind', source: target, target: '', options: ['rbind', 'rw'] }],
    });
    expect(res.applied?.digest).to.equal(digestOf(tar));
    expect(await readFile(join(target, 'zstd.txt'), 'utf8')).to.equal('from zstd\n');
  });

  it('extracts into the source of an rw bind mount; refuses a read-only one, an unknown media type and a missing blob', async () => {
    const layer = await storeLayer(true);
    const target = join(dir, 'bind');
    await mkdir(target);
    const diff = { media_type: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layer.digest, size: String(layer.size) };
    await apply({ diff, mounts: [{ type: 'bind', source: target, target: '', options: ['rbind', 'rw'] }] });
    expect(await listDir(join(target, 'etc'))).to.deep.equal(['motd']);

    const ro = join(dir, 'ro');
    await mkdir(ro);
    expect(await codeOf(apply({ diff, mounts: [{ type: 'bind', source: ro, target: '', options: ['rbind', 'ro'] }] }))).to.equal(grpc.status.INVALID_ARGUMENT);
    const unknown = { ...diff, media_type: 'application/x-something' };
    expect(await codeOf(apply({ diff: unknown, mounts: [{ type: 'bind', source: ro, target: '', options: ['rbind', 'rw'] }] }))).to.equal(grpc.status.UNIMPLEMENTED);
    const missing = { ...diff, digest: digestOf('absent') };
    expect(await codeOf(apply({ diff: missing, mounts: [{ type: 'bind', source: ro, target: '', options: ['rbind', 'rw'] }] }))).to.equal(grpc.status.NOT_FOUND);
    // Stored in 'default' only: another namespace does not see it.
    expect(await codeOf(apply({ diff, mounts: [{ type: 'bind', source: ro, target: '', options: ['rbind', 'rw'] }] }, 'other'))).to.equal(grpc.status.NOT_FOUND);
    expect(await listDir(ro)).to.deep.equal([]);
  });

  it('answers Diff.Diff with Unimplemented', async () => {
    const code = await new Promise<number>((resolve) => {
      const md = new grpc.Metadata();
      md.set('containerd-namespace', 'default');
      client.Diff({ left: [], right: [], media_type: '', ref: '', labels: {} }, md, (err) => resolve(err?.code ?? 0));
    });
    expect(code).to.equal(grpc.status.UNIMPLEMENTED);
  });
});
