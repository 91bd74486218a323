import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { isRuntimeError, type ErrorKind } from '../../src/errors.js';
import { ContainerStore } from '../../src/daemon/metadata/containers.js';
import { MetadataDb, type ContainerRecord, type ImageRecord } from '../../src/daemon/metadata/db.js';
import { ImageStore } from '../../src/daemon/metadata/images.js';
import { NamespaceStore } from '../../src/daemon/metadata/namespaces.js';

const DIGEST_A = `sha256:${'a'.repeat(64)}`;
const DIGEST_B = `sha256:${'b'.repeat(64)}`;
const INDEX = 'application/vnd.oci.image.index.v1+json';

function throwsKind(fn: () => unknown, kind: ErrorKind): Error {
  try {
    fn();
  } catch (err) {
    expect(isRuntimeError(err, kind), `expected ${kind}, got ${String(err)}`).to.equal(true);
    return err as Error;
  }
  expect.fail(`expected ${kind}`);
}

const image = (name: string, digest = DIGEST_A, labels: Record<string, string> = {}): Omit<ImageRecord, 'createdAt' | 'updatedAt'> => ({
  name,
  labels,
  target: { mediaType: INDEX, digest, size: 1234 },
});

const container = (id: string, extra: Partial<ContainerRecord> = {}): Omit<ContainerRecord, 'createdAt' | 'updatedAt'> => ({
  id,
  labels: {},
  image: 'docker.io/library/busybox:latest',
  runtime: { name: 'io.containerd.runc.v2', options: { typeUrl: 'containerd.runc.v1.Options', value: Buffer.from([1, 2, 3]) } },
  spec: { typeUrl: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: Buffer.from('{"ociVersion":"1.0.2"}') },
  snapshotter: 'overlayfs',
  snapshotKey: id,
  extensions: {},
  ...extra,
});

describe('daemon/metadata (LMDB)', () => {
  let dir: string;
  let db: MetadataDb;
  let namespaces: NamespaceStore;
  let images: ImageStore;
  let containers: ContainerStore;

  const open = () => {
    db = new MetadataDb(dir);
    namespaces = new NamespaceStore(db);
    images = new ImageStore(db);
    containers = new ContainerStore(db);
  };

  beforeEach(async () => {
    dir = await mkdtemp('/var/tmp/ctrd-ts-meta-');
    open();
  });
  afterEach(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps its files from children: a process the daemon starts (a shim, runc) inherits no LMDB descriptor', () => {
    const fds = execFileSync('sh', ['-c', 'ls -l /proc/$$/fd/'], { encoding: 'utf8' });
    expect(fds.split('\n').filter((l) => l.includes('/metadata/'))).to.deep.equal([]);
    // ... while this process does hold them (the check above is not vacuous).
    const own = readdirSync('/proc/self/fd').map((fd) => { try { return readlinkSync(`/proc/self/fd/${fd}`); } catch { return ''; } });
    expect(own.some((l) => l.startsWith(`${dir}/metadata/`))).to.equal(true);
  });

  describe('namespaces', () => {
    it('creates, gets, lists, updates and deletes', () => {
      namespaces.create('ns1', { team: 'a' });
      namespaces.create('ns2');
      expect(namespaces.get('ns1')).to.deep.equal({ name: 'ns1', labels: { team: 'a' } });
      expect(namespaces.list().map((n) => n.name)).to.have.members(['ns1', 'ns2']);

      expect(namespaces.update('ns1', { env: 'prod' }, false).labels).to.deep.equal({ team: 'a', env: 'prod' });
      expect(namespaces.update('ns1', { team: '' }, false).labels).to.deep.equal({ env: 'prod' });
      expect(namespaces.update('ns1', { only: 'this' }, true).labels).to.deep.equal({ only: 'this' });
      expect(namespaces.get('ns1').labels).to.deep.equal({ only: 'this' });

      namespaces.delete('ns1');
      expect(namespaces.find('ns1')).to.equal(undefined);
      throwsKind(() => namespaces.get('ns1'), 'NotFound');
      throwsKind(() => namespaces.delete('ns1'), 'NotFound');
      throwsKind(() => namespaces.update('ns1', {}, false), 'NotFound');
    });

    it('refuses duplicates and invalid names', () => {
      namespaces.create('default');
      throwsKind(() => namespaces.create('default'), 'AlreadyExists');
      throwsKind(() => namespaces.create('a/b'), 'InvalidArgument');
      throwsKind(() => namespaces.ensure('../x'), 'InvalidArgument');
      expect(namespaces.list()).to.have.length(1);
    });

    it('ensure creates once and keeps existing labels', () => {
      namespaces.ensure('k8s.io');
      expect(namespaces.get('k8s.io')).to.deep.equal({ name: 'k8s.io', labels: {} });
      namespaces.update('k8s.io', { a: 'b' }, false);
      namespaces.ensure('k8s.io');
      expect(namespaces.get('k8s.io').labels).to.deep.equal({ a: 'b' });
    });

    it('refuses to delete a namespace that still holds images or containers', () => {
      namespaces.create('busy');
      images.create('busy', image('docker.io/library/busybox:latest'));
      expect(throwsKind(() => namespaces.delete('busy'), 'FailedPrecondition').message).to.contain('images');
      images.delete('busy', 'docker.io/library/busybox:latest');
      containers.create('busy', container('c1'));
      expect(throwsKind(() => namespaces.delete('busy'), 'FailedPrecondition').message).to.contain('containers');
      expect(namespaces.find('busy')).not.to.equal(undefined);
      containers.delete('busy', 'c1');
      namespaces.delete('busy');
      expect(namespaces.find('busy')).to.equal(undefined);
    });

    it('is not blocked by records of a namespace whose name starts with the same letters', () => {
      namespaces.create('a');
      namespaces.create('ab');
      images.create('ab', image('x'));
      containers.create('a.b', container('c1'));
      namespaces.delete('a');
      expect(namespaces.find('a')).to.equal(undefined);
    });
  });

  describe('images', () => {
    it('creates, gets, lists and deletes with timestamps', () => {
      const rec = images.create('default', image('docker.io/library/busybox:latest', DIGEST_A, { a: '1' }));
      expect(rec.createdAt).to.equal(rec.updatedAt);
      expect(Date.parse(rec.createdAt)).to.be.closeTo(Date.now(), 5000);
      expect(images.get('default', 'docker.io/library/busybox:latest')).to.deep.equal(rec);
      images.create('default', image('docker.io/library/alpine:3'));
      expect(images.list('default').map((i) => i.name)).to.have.members(['docker.io/library/busybox:latest', 'docker.io/library/alpine:3']);
      images.delete('default', 'docker.io/library/alpine:3');
      throwsKind(() => images.get('default', 'docker.io/library/alpine:3'), 'NotFound');
      throwsKind(() => images.delete('default', 'docker.io/library/alpine:3'), 'NotFound');
    });

    it('refuses duplicates (AlreadyExists) and invalid targets (InvalidArgument)', () => {
      images.create('default', image('x'));
      throwsKind(() => images.create('default', image('x', DIGEST_B)), 'AlreadyExists');
      expect(images.get('default', 'x').target.digest).to.equal(DIGEST_A);
      throwsKind(() => images.create('default', image('')), 'InvalidArgument');
      throwsKind(() => images.create('default', image('y', 'sha256:short')), 'InvalidArgument');
      throwsKind(() => images.create('default', { name: 'z', labels: {}, target: { mediaType: '', digest: DIGEST_A, size: 1 } }), 'InvalidArgument');
      expect(images.list('default').map((i) => i.name)).to.deep.equal(['x']);
    });

    it('put replaces the target and keeps createdAt', async () => {
      const first = images.put('default', image('x'));
      await new Promise((r) => setTimeout(r, 5));
      const second = images.put('default', image('x', DIGEST_B));
      expect(second.target.digest).to.equal(DIGEST_B);
      expect(second.createdAt).to.equal(first.createdAt);
      expect(second.updatedAt > first.updatedAt).to.equal(true);
    });

    it('update follows field paths: target, labels, labels.<k>', () => {
      images.create('default', image('x', DIGEST_A, { keep: '1', drop: '2', change: '3' }));
      // Only labels.change and labels.drop: target and other labels untouched.
      const next = images.update('default', image('x', DIGEST_B, { change: 'new', drop: '' }), ['labels.change', 'labels.drop', 'labels.add']);
      expect(next.labels).to.deep.equal({ keep: '1', change: 'new' });
      expect(next.target.digest).to.equal(DIGEST_A);
      expect(images.update('default', image('x', DIGEST_B, { other: 'x' }), ['target']).labels).to.deep.equal({ keep: '1', change: 'new' });
      expect(images.get('default', 'x').target.digest).to.equal(DIGEST_B);
      expect(images.update('default', image('x', DIGEST_B, { only: 'me' }), ['labels']).labels).to.deep.equal({ only: 'me' });
      // No field paths: replace target and labels.
      const full = images.update('default', image('x', DIGEST_A, { v: '2' }), []);
      expect(full.labels).to.deep.equal({ v: '2' });
      expect(full.target.digest).to.equal(DIGEST_A);
    });

    it('update rejects unknown fields and missing images without changing anything', () => {
      images.create('default', image('x', DIGEST_A, { a: '1' }));
      throwsKind(() => images.update('default', image('x', DIGEST_B), ['target', 'name']), 'InvalidArgument');
      expect(images.get('default', 'x').target.digest).to.equal(DIGEST_A);
      throwsKind(() => images.update('default', image('nope'), ['labels']), 'NotFound');
    });

    it('keeps namespaces apart: the same name in two namespaces is two images', () => {
      images.create('ns1', image('x', DIGEST_A));
      images.create('ns2', image('x', DIGEST_B));
      expect(images.get('ns1', 'x').target.digest).to.equal(DIGEST_A);
      expect(images.get('ns2', 'x').target.digest).to.equal(DIGEST_B);
      images.delete('ns1', 'x');
      throwsKind(() => images.get('ns1', 'x'), 'NotFound');
      expect(images.list('ns2')).to.have.length(1);
      expect(images.list('ns1')).to.deep.equal([]);
      throwsKind(() => images.get('ns3', 'x'), 'NotFound');
    });
  });

  describe('containers', () => {
    it('creates and gets a record with every field, Any bytes intact', () => {
      const rec = containers.create('default', container('c1', { labels: { a: 'b' }, extensions: { ext: { typeUrl: 't', value: Buffer.from([0, 255]) } } }));
      const got = containers.get('default', 'c1');
      expect(got).to.deep.equal(rec);
      expect(Buffer.from(got.spec!.value).toString()).to.equal('{"ociVersion":"1.0.2"}');
      expect([...Buffer.from(got.runtime.options!.value)]).to.deep.equal([1, 2, 3]);
      expect([...Buffer.from(got.extensions['ext']!.value)]).to.deep.equal([0, 255]);
    });

    it('lists per namespace and all() tells each record its namespace', () => {
      containers.create('ns1', container('c1'));
      containers.create('ns1', container('c2'));
      containers.create('ns2', container('c1'));
      expect(containers.list('ns1').map((c) => c.id)).to.have.members(['c1', 'c2']);
      expect(containers.list('ns2').map((c) => c.id)).to.deep.equal(['c1']);
      expect(containers.all().map((e) => `${e.namespace}/${e.record.id}`)).to.have.members(['ns1/c1', 'ns1/c2', 'ns2/c1']);
    });

    it('refuses duplicates, and the same id in another namespace is fine', () => {
      containers.create('ns1', container('c1'));
      throwsKind(() => containers.create('ns1', container('c1', { image: 'other' })), 'AlreadyExists');
      expect(containers.get('ns1', 'c1').image).to.equal('docker.io/library/busybox:latest');
      containers.create('ns2', container('c1', { image: 'other' }));
      expect(containers.get('ns2', 'c1').image).to.equal('other');
    });

    it('rejects an invalid id, a missing runtime or spec, and stores nothing', () => {
      for (const id of ['', '../x', 'a/b', 'a b', '-a', 'x'.repeat(77)]) {
        throwsKind(() => containers.create('default', container(id)), 'InvalidArgument');
      }
      throwsKind(() => containers.create('default', container('c1', { runtime: { name: '' } })), 'InvalidArgument');
      throwsKind(() => containers.create('default', container('c2', { spec: undefined })), 'InvalidArgument');
      // containerd-ts-shim-default-web.scope is the shim of "web": no container may be called ts-shim-default-web.
      for (const id of ['ts-shim-default-web', 'ts-shimgroup-default-g1', 'ts-shim']) {
        expect(() => containers.create('default', container(id))).to.throw(/reserved.*containerd-ts-shim/);
      }
      expect(containers.list('default')).to.deep.equal([]);
      expect(containers.all()).to.deep.equal([]);
    });

    it('update follows field paths and keeps what was not named', async () => {
      const created = containers.create('default', container('c1', { labels: { keep: '1', drop: '2' } }));
      await new Promise((r) => setTimeout(r, 5));
      const change = { ...created, labels: { add: 'new', drop: '' }, image: 'ignored', snapshotKey: 'ignored' };
      const next = containers.update('default', change, ['labels.add', 'labels.drop']);
      expect(next.labels).to.deep.equal({ keep: '1', add: 'new' });
      expect(next.image).to.equal(created.image);
      expect(next.snapshotKey).to.equal(created.snapshotKey);
      expect(next.createdAt).to.equal(created.createdAt);
      expect(next.updatedAt > created.updatedAt).to.equal(true);
      expect(containers.get('default', 'c1')).to.deep.equal(next);

      const img = containers.update('default', { ...next, image: 'new-image', labels: {} }, ['image']);
      expect(img.image).to.equal('new-image');
      expect(img.labels).to.deep.equal({ keep: '1', add: 'new' });

      const ext = { typeUrl: 'x', value: Buffer.from('y') };
      const withExt = containers.update('default', { ...img, extensions: { e1: ext } }, ['extensions.e1']);
      expect(Object.keys(withExt.extensions)).to.deep.equal(['e1']);
      const noExt = containers.update('default', { ...withExt, extensions: {} }, ['extensions.e1']);
      expect(noExt.extensions).to.deep.equal({});
    });

    it('update without field paths replaces labels, spec, image, snapshot key and extensions', () => {
      const created = containers.create('default', container('c1', { labels: { a: '1' } }));
      const spec = { typeUrl: created.spec!.typeUrl, value: Buffer.from('{"ociVersion":"1.1.0"}') };
      const next = containers.update('default', { ...created, labels: { b: '2' }, spec, image: 'i2', snapshotKey: 'k2' }, []);
      expect(next.labels).to.deep.equal({ b: '2' });
      expect(Buffer.from(next.spec!.value).toString()).to.equal('{"ociVersion":"1.1.0"}');
      expect(next).to.include({ image: 'i2', snapshotKey: 'k2' });
    });

    it('update rejects unknown fields and unknown containers without changing anything', () => {
      const created = containers.create('default', container('c1'));
      throwsKind(() => containers.update('default', { ...created, image: 'x', snapshotter: 'native' }, ['image', 'snapshotter']), 'InvalidArgument');
      expect(containers.get('default', 'c1')).to.deep.equal(created);
      throwsKind(() => containers.update('default', container('nope') as ContainerRecord, []), 'NotFound');
      throwsKind(() => containers.update('other', created, []), 'NotFound');
    });

    // Regression test (was a bug): src/daemon/metadata/containers.ts update() (line ~39-60) never re-validates the result,
    // while create() requires a spec and a runtime name. A full update (no field paths) or a "spec" path
    // whose container carries no spec stores a container without a spec; Containers.Update
    // (src/daemon/grpc/containers-service.ts ~line 29) makes that easy, since containerFromProto returns
    // `spec: undefined` and `{ ...current, ...incoming }` lets it overwrite the stored spec. containerd
    // runs validateContainer after applying the field paths (InvalidArgument "container.Spec must be
    // set"). Fix: validate `next` (spec, runtime.name) before the put, like ImageStore.update does.
    it('update refuses to drop the spec (InvalidArgument) and keeps the stored one', () => {
      const created = containers.create('default', container('c1'));
      throwsKind(() => containers.update('default', { ...created, spec: undefined }, []), 'InvalidArgument');
      throwsKind(() => containers.update('default', { ...created, spec: undefined }, ['spec']), 'InvalidArgument');
      expect(containers.get('default', 'c1').spec).to.deep.equal(created.spec);
    });

    it('deletes only in its namespace', () => {
      containers.create('ns1', container('c1'));
      containers.create('ns2', container('c1'));
      containers.delete('ns1', 'c1');
      throwsKind(() => containers.get('ns1', 'c1'), 'NotFound');
      throwsKind(() => containers.delete('ns1', 'c1'), 'NotFound');
      expect(containers.get('ns2', 'c1').id).to.equal('c1');
    });
  });

  it('keeps every record across closing and reopening the environment', async () => {
    namespaces.create('ns1', { l: 'v' });
    const img = images.create('ns1', image('docker.io/library/busybox:latest', DIGEST_B, { x: 'y' }));
    const ctr = containers.create('ns1', container('c1', { labels: { a: 'b' } }));
    await db.close();
    open();
    expect(namespaces.get('ns1')).to.deep.equal({ name: 'ns1', labels: { l: 'v' } });
    expect(images.get('ns1', img.name)).to.deep.equal(img);
    const back = containers.get('ns1', 'c1');
    expect(back).to.deep.equal(ctr);
    expect(Buffer.from(back.spec!.value).toString()).to.equal('{"ociVersion":"1.0.2"}');
  });
});
