import { expect } from 'chai';
import { isRuntimeError, type ErrorKind } from '../../src/errors.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { LEASE_EXPIRE_LABEL, LeaseStore, leaseExpired } from '../../src/daemon/metadata/leases.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

function throwsKind(fn: () => unknown, kind: ErrorKind): void {
  try {
    fn();
  } catch (err) {
    expect(isRuntimeError(err, kind), `expected ${kind}, got ${String(err)}`).to.equal(true);
    return;
  }
  expect.fail(`expected ${kind}`);
}

describe('daemon/metadata leases (LMDB)', () => {
  let dir: string;
  let db: MetadataDb;
  let leases: LeaseStore;

  beforeEach(async () => {
    dir = await tempDir('leases');
    db = new MetadataDb(dir);
    leases = new LeaseStore(db);
  });
  afterEach(async () => {
    await db.close();
    await removeTempDir(dir);
  });

  it('creates, lists per namespace, and deletes leases; they survive a reopen', async () => {
    leases.create('ns1', 'a', { team: 'x' });
    leases.create('ns2', 'b');
    const generated = leases.create('ns1', undefined);
    expect(generated.id).to.match(/^[0-9a-f]{32}$/);
    leases.addResource('ns1', 'a', { type: 'content', id: DIGEST });
    await db.close();
    db = new MetadataDb(dir);
    leases = new LeaseStore(db);
    expect(leases.list('ns1').map((l) => l.id).sort()).to.deep.equal(['a', generated.id].sort());
    expect(leases.get('ns1', 'a').labels).to.deep.equal({ team: 'x' });
    expect(leases.listResources('ns1', 'a')).to.deep.equal([{ type: 'content', id: DIGEST }]);
    expect(leases.list('ns2').map((l) => l.id)).to.deep.equal(['b']);
    leases.delete('ns1', 'a');
    throwsKind(() => leases.get('ns1', 'a'), 'NotFound');
    throwsKind(() => leases.delete('ns1', 'a'), 'NotFound');
  });

  it('refuses a duplicate id, a bad id, a bad expiry time and unknown resource types', () => {
    leases.create('default', 'a');
    throwsKind(() => leases.create('default', 'a'), 'AlreadyExists');
    throwsKind(() => leases.create('default', 'has space'), 'InvalidArgument');
    expect(leases.create('default', '424325857-olt-').id).to.equal('424325857-olt-'); // what ctr generates
    throwsKind(() => leases.create('default', 'b', { [LEASE_EXPIRE_LABEL]: 'tomorrow' }), 'InvalidArgument');
    throwsKind(() => leases.addResource('default', 'a', { type: 'volumes', id: 'x' }), 'InvalidArgument');
    throwsKind(() => leases.addResource('default', 'a', { type: 'content', id: 'not-a-digest' }), 'InvalidArgument');
    throwsKind(() => leases.addResource('default', 'missing', { type: 'ingests', id: 'r' }), 'NotFound');
    expect(leases.list('default').map((l) => l.id)).to.deep.equal(['424325857-olt-', 'a']);
  });

  it('adds resources once and deletes them', () => {
    leases.create('default', 'a');
    leases.addResource('default', 'a', { type: 'snapshots/overlayfs', id: 'k1' });
    leases.addResource('default', 'a', { type: 'snapshots/overlayfs', id: 'k1' });
    leases.addResource('default', 'a', { type: 'ingests', id: 'ref-1' });
    expect(leases.listResources('default', 'a')).to.have.length(2);
    leases.deleteResource('default', 'a', { type: 'snapshots/overlayfs', id: 'k1' });
    expect(leases.listResources('default', 'a')).to.deep.equal([{ type: 'ingests', id: 'ref-1' }]);
  });

  it('filters like containerd: id==, labels."k"==v, labels.k, commas AND, filters OR', () => {
    leases.create('default', 'a', { kind: 'pull', owner: 'me' });
    leases.create('default', 'b', { kind: 'pull' });
    leases.create('default', 'c');
    const ids = (filters: string[]) => leases.list('default', filters).map((l) => l.id).sort();
    expect(ids(['id==b'])).to.deep.equal(['b']);
    expect(ids(['labels."kind"==pull'])).to.deep.equal(['a', 'b']);
    expect(ids(['labels.kind==pull,labels.owner==me'])).to.deep.equal(['a']);
    expect(ids(['labels.owner', 'id==c'])).to.deep.equal(['a', 'c']);
    expect(ids([''])).to.deep.equal(['a', 'b', 'c']);
    throwsKind(() => leases.list('default', ['created>now']), 'InvalidArgument');
  });

  it('a lease expires at its containerd.io/gc.expire time', () => {
    const past = leases.create('default', 'p', { [LEASE_EXPIRE_LABEL]: '2020-01-01T00:00:00Z' });
    const future = leases.create('default', 'f', { [LEASE_EXPIRE_LABEL]: new Date(Date.now() + 3600_000).toISOString() });
    const never = leases.create('default', 'n');
    const now = new Date();
    expect([past, future, never].map((l) => leaseExpired(l, now))).to.deep.equal([true, false, false]);
  });
});
