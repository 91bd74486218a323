import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { RegistryClient, type RegistryClientOptions } from '../../src/oci/distribution/client.js';
import { staticCredentials } from '../../src/oci/distribution/credentials.js';
import { parseReference } from '../../src/oci/distribution/reference.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import type { Digest } from '../../src/snapshot/digest.js';
import { FakeRegistry, addImage, sha256 } from '../support/registry-fake.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';
import { rejection } from '../support/rejection.js';

const FAST = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5, jitter: 0 };

describe('distribution/client against an in-process registry', function () {
  this.timeout(20_000);
  let reg: FakeRegistry;
  let other: FakeRegistry | undefined;
  let dir: string;
  let store: FsContentStore;
  let client: RegistryClient;

  const start = async (options: ConstructorParameters<typeof FakeRegistry>[0] = {}, clientOptions: RegistryClientOptions = {}) => {
    reg = await new FakeRegistry(options).start();
    client = new RegistryClient({ plainHttpHosts: [reg.host], retry: FAST, ...clientOptions });
    return reg;
  };
  const ref = (s: string) => parseReference(`${reg.host}/${s}`);

  beforeEach(async () => {
    dir = await tempDir('dist');
    store = await FsContentStore.open(dir);
  });
  afterEach(async () => {
    await client?.close();
    await reg?.stop();
    await other?.stop();
    other = undefined;
    await removeTempDir(dir);
  });

  it('resolves a tag with HEAD, and the manifest fetched by digest verifies', async () => {
    await start();
    const img = addImage(reg, 'library/app', 'v1', [Buffer.from('layer-1')]);
    const r = await client.resolve(ref('library/app:v1'));
    expect(r.name).to.equal(`${reg.host}/library/app:v1`);
    expect(r.descriptor).to.deep.equal(img.manifest);
    expect(r.data).to.equal(undefined);
    expect(reg.log.filter((l) => l.url.includes('/manifests/')).map((l) => l.method)).to.deep.equal(['HEAD']);
    const data = await client.fetchManifest(r.reference, r.descriptor);
    expect(JSON.parse(data.toString())).to.deep.equal(img.manifestDoc);
  });

  it('falls back to GET and detects the type from the document when Content-Type is generic', async () => {
    await start({ noHead: true, manifestContentType: 'application/json; charset=utf-8' });
    const img = addImage(reg, 'x', 'latest', [Buffer.from('l')], { index: true });
    const r = await client.resolve(ref('x'));
    expect(r.descriptor.mediaType).to.equal('application/vnd.oci.image.index.v1+json');
    expect(r.descriptor.digest).to.equal(img.index!.digest);
    expect(r.data?.length).to.equal(img.index!.size);
  });

  it('resolves by digest and rejects a registry answering another digest', async () => {
    await start({ noHead: true });
    const img = addImage(reg, 'x', 'latest', [Buffer.from('l')]);
    const r = await client.resolve(ref(`x@${img.manifest.digest}`));
    expect(r.descriptor.digest).to.equal(img.manifest.digest);
    // Make the registry serve different bytes under the pinned digest.
    reg.manifests.get('x')!.set(img.manifest.digest, { mediaType: img.manifest.mediaType, data: Buffer.from('{"schemaVersion":2,"config":{}}') });
    const err = await rejection(client.resolve(ref(`x@${img.manifest.digest}`)));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include('digest mismatch');
  });

  it('reports an unknown tag or repository as NotFound', async () => {
    await start();
    addImage(reg, 'x', 'latest', [Buffer.from('l')]);
    for (const r of ['x:nope', 'nope/nope:latest']) {
      const err = await rejection(client.resolve(ref(r)));
      expect(err.kind, r).to.equal('NotFound');
      expect(err.message).to.include('not found');
    }
  });

  it('refuses non-JSON, oversized and schema 1 manifests with InvalidArgument', async () => {
    await start({ noHead: true, manifestContentType: 'text/plain' });
    reg.addManifest('junk', 'this is <html> not json', 'text/plain', ['latest']);
    reg.addManifest('big', JSON.stringify({ schemaVersion: 2, pad: 'x'.repeat(4 * 1024 * 1024) }), 'application/vnd.oci.image.manifest.v1+json', ['latest']);
    reg.addManifest('old', JSON.stringify({ schemaVersion: 1, name: 'old' }), 'application/vnd.docker.distribution.manifest.v1+prettyjws', ['latest']);
    expect((await rejection(client.resolve(ref('junk')))).message).to.include('not JSON');
    expect((await rejection(client.resolve(ref('big')))).message).to.include('byte limit');
    expect((await rejection(client.resolve(ref('old')))).message).to.include('schema 1');
  });

  it('fetches a blob into the content store, verified', async () => {
    await start();
    const data = randomBytes(300_000);
    const desc = reg.addBlob(data);
    const seen: number[] = [];
    const got = await client.fetchBlob(ref('x'), desc, store, { onProgress: (o) => seen.push(o) });
    expect(got.fetched).to.equal(true);
    expect(got.info.digest).to.equal(desc.digest);
    expect(seen[seen.length - 1]).to.equal(data.length);
    expect((await store.readAll(desc.digest as Digest, { maxBytes: 1 << 20 })).equals(data)).to.equal(true);
    const again = await client.fetchBlob(ref('x'), desc, store);
    expect(again.fetched).to.equal(false);
  });

  it('reports a content store that cannot write (disk full) as such, not as the registry, and does not retry', async () => {
    await start();
    const desc = reg.addBlob(randomBytes(100_000));
    const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    const failing = Object.create(store) as FsContentStore;
    failing.writer = async (opts) => {
      const w = await store.writer(opts);
      return Object.assign(Object.create(w) as typeof w, { write: async () => Promise.reject(full) });
    };
    const err = await rejection(client.fetchBlob(ref('x'), desc, failing));
    expect(err.kind).to.equal('Internal');
    expect(err.message).to.match(/cannot store blob sha256:[0-9a-f]{64} in the content store: ENOSPC/);
    expect(err.message).to.not.contain('registry');
    expect(reg.log.filter((l) => l.url.includes('/blobs/'))).to.have.length(1);
  });

  it('resumes a download cut mid-blob with a Range request from the ingest offset', async () => {
    await start();
    const data = randomBytes(200_000);
    const desc = reg.addBlob(data);
    reg.fault(/\/blobs\//, { times: 2, cutAfter: 50_000 });
    const got = await client.fetchBlob(ref('x'), desc, store);
    expect(got.info.digest).to.equal(desc.digest);
    const gets = reg.log.filter((l) => l.url.includes('/blobs/'));
    expect(gets).to.have.length(3);
    expect(gets[0]!.range).to.equal(undefined);
    expect(gets[1]!.range).to.match(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(gets[1]!.range!)![0])).to.be.greaterThan(0);
    expect(await store.listStatuses()).to.deep.equal([]);
  });

  it('keeps the partial ingest when retries run out, and the next fetch resumes it', async () => {
    await start();
    const data = randomBytes(200_000);
    const desc = reg.addBlob(data);
    reg.fault(/\/blobs\//, { times: 4, cutAfter: 0 });
    reg.faults[0]!.cutAfter = 0;
    // First: 1 fetch with progress, then 4 without.
    reg.faults.unshift({ match: (r) => /\/blobs\//.test(r.url ?? ''), times: 1, cutAfter: 60_000 });
    const err = await rejection(client.fetchBlob(ref('x'), desc, store));
    expect(err.kind).to.equal('Unavailable');
    expect(err.message).to.include('pull again to resume');
    const [status] = await store.listStatuses();
    expect(status?.offset).to.be.greaterThan(0);
    const got = await client.fetchBlob(ref('x'), desc, store);
    expect(got.resumedFrom).to.equal(status!.offset);
    expect(reg.log[reg.log.length - 1]!.range).to.equal(`bytes=${status!.offset}-`);
  });

  it('starts over when the registry ignores Range', async () => {
    await start({ ignoreRange: true });
    const data = randomBytes(100_000);
    const desc = reg.addBlob(data);
    reg.fault(/\/blobs\//, { times: 1, cutAfter: 30_000 });
    const got = await client.fetchBlob(ref('x'), desc, store);
    expect(got.info.digest).to.equal(desc.digest);
  });

  it('rejects a blob whose bytes do not match its digest and commits nothing', async () => {
    await start();
    const desc = reg.addBlob('the real bytes');
    reg.blobs.set(desc.digest, Buffer.from('the fake bytes'));
    const err = await rejection(client.fetchBlob(ref('x'), desc, store));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include('digest mismatch');
    expect(await store.list()).to.deep.equal([]);
    expect(await store.listStatuses()).to.deep.equal([]);
  });

  it('rejects a blob longer than its descriptor without buffering it', async () => {
    await start();
    const desc = reg.addBlob('12345');
    reg.blobs.set(desc.digest, Buffer.alloc(100_000));
    const err = await rejection(client.fetchBlob(ref('x'), desc, store));
    expect(err.kind).to.equal('InvalidArgument');
    expect(await store.list()).to.deep.equal([]);
  });

  it('retries 500 and 429 (with Retry-After), then succeeds', async () => {
    await start();
    addImage(reg, 'x', 'latest', [Buffer.from('l')]);
    reg.fault(/\/manifests\//, { times: 1, status: 500 });
    reg.fault(/\/manifests\//, { times: 1, status: 429, headers: { 'retry-after': '0' } });
    const r = await client.resolve(ref('x'));
    expect(r.descriptor.mediaType).to.equal('application/vnd.oci.image.manifest.v1+json');
    expect(reg.log.filter((l) => l.url.includes('/manifests/'))).to.have.length(3);
  });

  it('retries a manifest whose body breaks off', async () => {
    await start({ noHead: true });
    const img = addImage(reg, 'x', 'latest', [Buffer.from('l')]);
    reg.fault(/\/manifests\//, { times: 2, cutAfter: 10 });
    const r = await client.resolve(ref('x'));
    expect(r.descriptor.digest).to.equal(img.manifest.digest);
    expect(reg.log.filter((l) => l.method === 'GET' && l.url.includes('/manifests/'))).to.have.length(3);
  });

  it('gives up on a registry that keeps answering 503 with a clear Unavailable', async () => {
    await start();
    addImage(reg, 'x', 'latest', [Buffer.from('l')]);
    reg.fault(/\/manifests\//, { times: 100, status: 503 });
    const err = await rejection(client.resolve(ref('x')));
    expect(err.kind).to.equal('Unavailable');
    expect(err.message).to.include('answered 503').and.include('4 attempts');
    expect(reg.log).to.have.length(4);
  });

  it('reports a registry nobody listens on as Unavailable after retries', async () => {
    await start();
    const host = reg.host;
    await reg.stop();
    const c = new RegistryClient({ plainHttpHosts: [host], retry: FAST });
    const err = await rejection(c.resolve(parseReference(`${host}/x`)));
    await c.close();
    expect(err.kind).to.equal('Unavailable');
    expect(err.message).to.include('cannot reach registry').and.include('ECONNREFUSED');
    reg = await new FakeRegistry().start();
  });

  it('falls back to plain HTTP for a loopback registry that does not speak TLS', async () => {
    await start({}, { plainHttpHosts: [] });
    addImage(reg, 'x', 'latest', [Buffer.from('l')]);
    const r = await client.resolve(ref('x'));
    expect(r.descriptor.digest).to.match(/^sha256:/);
    expect(client.transport.scheme(reg.host)).to.equal('http');
  });

  it('authenticates with basic credentials, and explains a missing or wrong password', async () => {
    await start({ auth: { kind: 'basic', username: 'alice', password: 's3cret' } }, { credentials: staticCredentials({}), credentialsHint: (h) => `pass --user for ${h}` });
    addImage(reg, 'x', 'latest', [Buffer.from('l')]);
    const none = await rejection(client.resolve(ref('x')));
    expect(none.kind).to.equal('FailedPrecondition');
    expect(none.message).to.include(`registry ${reg.host} requires authentication`).and.include(`pass --user for ${reg.host}`);

    const wrong = new RegistryClient({ plainHttpHosts: [reg.host], retry: FAST, credentials: staticCredentials({ [reg.host]: { username: 'alice', secret: 'nope' } }) });
    const err = await rejection(wrong.resolve(ref('x')));
    await wrong.close();
    expect(err.kind).to.equal('FailedPrecondition');
    expect(err.message).to.include('refused the credentials of user "alice"').and.include('401');

    const right = new RegistryClient({ plainHttpHosts: [reg.host], retry: FAST, credentials: staticCredentials({ [reg.host]: { username: 'alice', secret: 's3cret' } }) });
    const r = await right.resolve(ref('x'));
    const desc = reg.addBlob('blob');
    await right.fetchBlob(ref('x'), desc, store);
    await right.close();
    expect(r.descriptor.digest).to.match(/^sha256:/);
    // After the first challenge, requests carry the credentials up front.
    expect(reg.log.slice(-1)[0]!.authorization).to.match(/^Basic /);
  });

  it('gets bearer tokens from the realm, once per scope, with credentials', async () => {
    await start({ auth: { kind: 'bearer', username: 'bob', password: 'pw' } }, {});
    client = new RegistryClient({ plainHttpHosts: [reg.host], retry: FAST, credentials: staticCredentials({ [reg.host]: { username: 'bob', secret: 'pw' } }) });
    const img = addImage(reg, 'x', 'latest', [Buffer.from('l1'), Buffer.from('l2')]);
    const r = await client.resolve(ref('x'));
    await client.fetchManifest(r.reference, r.descriptor);
    for (const l of img.layers) await client.fetchBlob(r.reference, l, store);
    expect(reg.tokensIssued).to.equal(1);
    addImage(reg, 'y', 'latest', [Buffer.from('l3')]);
    await client.resolve(ref('y'));
    expect(reg.tokensIssued).to.equal(2);

    const bad = new RegistryClient({ plainHttpHosts: [reg.host], retry: FAST, credentials: staticCredentials({ [reg.host]: { username: 'bob', secret: 'wrong' } }) });
    const err = await rejection(bad.resolve(ref('x')));
    await bad.close();
    expect(err.kind).to.equal('FailedPrecondition');
    expect(err.message).to.include('refused the credentials of user "bob"');
  });

  it('gets anonymous bearer tokens', async () => {
    await start({ auth: { kind: 'bearer' } });
    addImage(reg, 'x', 'latest', [Buffer.from('l')]);
    const r = await client.resolve(ref('x'));
    expect(r.descriptor.digest).to.match(/^sha256:/);
    expect(reg.tokensIssued).to.equal(1);
  });

  it('follows blob redirects to another origin without sending the credentials there', async () => {
    other = await new FakeRegistry().start();
    await start({ auth: { kind: 'basic', username: 'u', password: 'p' }, redirectBlobsTo: other }, {});
    client = new RegistryClient({ plainHttpHosts: [reg.host, other.host], retry: FAST, credentials: staticCredentials({ [reg.host]: { username: 'u', secret: 'p' } }) });
    const data = Buffer.from('redirected blob');
    const desc = other.addBlob(data);
    reg.addBlob(data);
    const got = await client.fetchBlob(ref('x'), desc, store);
    expect(got.info.digest).to.equal(sha256(data));
    expect(other.log).to.have.length(1);
    expect(other.log[0]!.authorization).to.equal(undefined);
  });
});
