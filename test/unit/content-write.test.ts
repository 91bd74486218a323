import { expect } from 'chai';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { GarbageCollector } from '../../src/daemon/gc/collector.js';
import { contentService } from '../../src/daemon/grpc/content-service.js';
import { ContainerStore } from '../../src/daemon/metadata/containers.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { ImageStore } from '../../src/daemon/metadata/images.js';
import { LeaseStore } from '../../src/daemon/metadata/leases.js';
import { NamespacedContentStore } from '../../src/daemon/metadata/content.js';
import { NamespaceStore } from '../../src/daemon/metadata/namespaces.js';
import type { ContentStore } from '../../src/snapshot/content.js';
import { loadContainerdApi } from '../../src/proto.js';
import type { ContentClient, Init, WriteContentRequest, WriteContentResponse } from '../../src/proto-types.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { digestOf } from '../../src/snapshot/digest.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';

/** One client-side Write stream: `send` waits for the answer to that message; errors come back as grpc status codes. */
class WriteStream {
  private readonly call: grpc.ClientDuplexStream<Init<WriteContentRequest>, WriteContentResponse>;
  private readonly pending: Array<{ resolve: (r: WriteContentResponse) => void; reject: (e: unknown) => void }> = [];
  private failure: grpc.ServiceError | undefined;
  readonly closed: Promise<grpc.ServiceError | undefined>;

  constructor(client: ContentClient, lease?: string, namespace = 'default') {
    const md = new grpc.Metadata();
    md.set('containerd-namespace', namespace);
    if (lease) md.set('containerd-lease', lease);
    this.call = (client as unknown as { Write(md: grpc.Metadata): WriteStream['call'] }).Write(md);
    this.call.on('data', (r: WriteContentResponse) => this.pending.shift()?.resolve(r));
    this.closed = new Promise((resolve) => {
      this.call.on('error', (err: grpc.ServiceError) => {
        this.failure = err;
        for (const p of this.pending.splice(0)) p.reject(err);
        resolve(err);
      });
      this.call.on('end', () => resolve(undefined));
    });
  }

  send(msg: Init<WriteContentRequest>): Promise<WriteContentResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.call.write(msg);
    });
  }

  async end(): Promise<grpc.ServiceError | undefined> {
    this.call.end();
    return this.closed;
  }
}

async function code(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (err) {
    return (err as grpc.ServiceError).code;
  }
  return grpc.status.OK;
}

/**
 * Content.Write over a real gRPC server on a unix socket against the
 * namespaced store over the filesystem store: the protocol `ctr` speaks (STAT, WRITE at offsets,
 * COMMIT with expectations), resumable partial ingests, locked refs and
 * verification failures that commit nothing.
 */
describe('daemon/grpc Content.Write', () => {
  let dir: string;
  let db: MetadataDb;
  let content: NamespacedContentStore;
  let store: ContentStore;
  let leases: LeaseStore;
  let gc: GarbageCollector;
  let server: grpc.Server;
  let client: ContentClient;

  beforeEach(async () => {
    dir = await tempDir('content-write');
    db = new MetadataDb(dir);
    content = await NamespacedContentStore.open(db, await FsContentStore.open(join(dir, 'content')), new NamespaceStore(db));
    store = content.forNamespace('default');
    leases = new LeaseStore(db);
    const snapshotter = new OverlaySnapshotter({ root: dir, db: db.snapshots });
    gc = new GarbageCollector({ images: new ImageStore(db), containers: new ContainerStore(db), leases, content, snapshotter, expiryCheckMs: 0 });
    const api = loadContainerdApi();
    server = new grpc.Server();
    server.addService(api.services.content.service, contentService(content, leases, gc) as unknown as grpc.UntypedServiceImplementation);
    const address = `unix://${join(dir, 'sock')}`;
    await new Promise<void>((resolve, reject) => server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    client = new api.services.content.Client(address, grpc.credentials.createInsecure()) as unknown as ContentClient;
  });
  afterEach(async () => {
    (client as unknown as grpc.Client).close();
    server.forceShutdown();
    gc.stop();
    await db.close();
    await removeTempDir(dir);
  });

  const data = Buffer.from('hello content store\n'.repeat(100));
  const digest = digestOf(data);

  it('stats, writes in pieces at offsets and commits with labels; the blob is attached to the lease', async () => {
    leases.create('default', 'l1');
    const w = new WriteStream(client, 'l1');
    const stat = await w.send({ action: 'STAT', ref: 'r1', total: String(data.length), expected: digest });
    expect(stat.offset).to.equal('0');
    await w.send({ action: 'WRITE', offset: '0', data: data.subarray(0, 1000) });
    const last = await w.send({ action: 'COMMIT', offset: '1000', data: data.subarray(1000), total: String(data.length), expected: digest, labels: { a: 'b' } });
    expect(last.digest).to.equal(digest);
    expect(last.offset).to.equal(String(data.length));
    expect(await w.end()).to.equal(undefined);
    expect((await store.readAll(digest)).equals(data)).to.equal(true);
    expect((await store.info(digest)).labels).to.deep.equal({ a: 'b' });
    expect(leases.listResources('default', 'l1')).to.deep.include({ type: 'content', id: digest });
    expect(await store.listStatuses()).to.deep.equal([]);
  });

  it('rejects a commit whose digest or size does not match with FailedPrecondition and commits nothing', async () => {
    const wrong = digestOf('something else');
    const w = new WriteStream(client);
    await w.send({ action: 'STAT', ref: 'bad', expected: wrong });
    await w.send({ action: 'WRITE', data });
    expect(await code(w.send({ action: 'COMMIT', offset: String(data.length), expected: wrong }))).to.equal(grpc.status.FAILED_PRECONDITION);
    const short = new WriteStream(client);
    await short.send({ action: 'WRITE', ref: 'short', data: data.subarray(0, 10) });
    expect(await code(short.send({ action: 'COMMIT', offset: '10', total: String(data.length) }))).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(await store.list()).to.deep.equal([]);
    expect(await store.listStatuses()).to.deep.equal([]);
  });

  it('keeps a partial ingest when the stream ends, reports it, and resumes it at its offset', async () => {
    const first = new WriteStream(client);
    await first.send({ action: 'WRITE', ref: 'resume-me', total: String(data.length), expected: digest, data: data.subarray(0, 700) });
    await first.end();
    const status = await new Promise<{ status: { offset: string; total: string; expected: string } }>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('containerd-namespace', 'default');
      client.Status({ ref: 'resume-me' }, md, (err, res) => (err || !res ? reject(err) : resolve(res as never)));
    });
    expect(status.status).to.include({ offset: '700', total: String(data.length), expected: digest });
    const again = new WriteStream(client);
    const stat = await again.send({ action: 'STAT', ref: 'resume-me', total: String(data.length), expected: digest });
    expect(stat.offset).to.equal('700');
    expect(await code(again.send({ action: 'WRITE', offset: '5', data: data.subarray(5) }))).to.equal(grpc.status.INVALID_ARGUMENT);
    const resumed = new WriteStream(client);
    await resumed.send({ action: 'STAT', ref: 'resume-me' });
    const done = await resumed.send({ action: 'COMMIT', offset: '700', data: data.subarray(700), total: String(data.length), expected: digest });
    expect(done.digest).to.equal(digest);
    await resumed.end();
    expect((await store.readAll(digest)).equals(data)).to.equal(true);
  });

  it('starts a partial ingest over when the client writes at offset 0', async () => {
    const first = new WriteStream(client);
    await first.send({ action: 'WRITE', ref: 'restart', data: Buffer.from('garbage that is not the blob') });
    await first.end();
    const w = new WriteStream(client);
    await w.send({ action: 'WRITE', ref: 'restart', offset: '0', data });
    const done = await w.send({ action: 'COMMIT', offset: String(data.length), expected: digest });
    expect(done.digest).to.equal(digest);
    await w.end();
  });

  it('refuses a second writer of the same ref with Unavailable (locked), and a blob that exists with AlreadyExists', async () => {
    const holder = new WriteStream(client);
    await holder.send({ action: 'STAT', ref: 'locked' });
    const second = new WriteStream(client);
    expect(await code(second.send({ action: 'STAT', ref: 'locked' }))).to.equal(grpc.status.UNAVAILABLE);
    await holder.send({ action: 'COMMIT', data, expected: digest });
    await holder.end();
    const dup = new WriteStream(client);
    expect(await code(dup.send({ action: 'STAT', ref: 'other', expected: digest }))).to.equal(grpc.status.ALREADY_EXISTS);
  });

  it('commits a blob another namespace holds without its data: the first STAT is already at the end (shared content)', async () => {
    const a = new WriteStream(client, undefined, 'ns-a');
    await a.send({ action: 'COMMIT', ref: 'r', data, total: String(data.length), expected: digest });
    await a.end();
    leases.create('ns-b', 'lb');
    const b = new WriteStream(client, 'lb', 'ns-b');
    const stat = await b.send({ action: 'STAT', ref: 'r', total: String(data.length), expected: digest });
    expect(stat.offset).to.equal(String(data.length));
    expect(stat.digest).to.equal(digest);
    const done = await b.send({ action: 'COMMIT', offset: String(data.length), total: String(data.length), expected: digest, labels: { in: 'b' } });
    expect(done.digest).to.equal(digest);
    expect(await b.end()).to.equal(undefined);
    expect((await content.forNamespace('ns-b').info(digest)).labels).to.deep.equal({ in: 'b' });
    expect((await content.forNamespace('ns-a').info(digest)).labels).to.deep.equal({});
    expect(leases.listResources('ns-b', 'lb')).to.deep.include({ type: 'content', id: digest });
    // A client that writes the blob from 0 anyway gets a real ingest (containerd truncates), verified at commit.
    const c = new WriteStream(client, undefined, 'ns-c');
    await c.send({ action: 'STAT', ref: 'r', total: String(data.length), expected: digest });
    await c.send({ action: 'WRITE', offset: '0', data });
    expect((await c.send({ action: 'COMMIT', offset: String(data.length), total: String(data.length), expected: digest })).digest).to.equal(digest);
    await c.end();
    expect((await content.forNamespace('ns-c').readAll(digest)).equals(data)).to.equal(true);
    // The same size claim with the wrong digest is no shortcut.
    const d = new WriteStream(client, undefined, 'ns-d');
    const wrong = await d.send({ action: 'STAT', ref: 'r', total: String(data.length), expected: digestOf('other') });
    expect(wrong.offset).to.equal('0');
    await d.end();
  });

  it('refuses a lease that does not exist and a first message without a ref', async () => {
    expect(await code(new WriteStream(client, 'nope').send({ action: 'STAT', ref: 'x' }))).to.equal(grpc.status.NOT_FOUND);
    expect(await code(new WriteStream(client).send({ action: 'STAT' }))).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(await store.listStatuses()).to.deep.equal([]);
  });
});
