import { expect } from 'chai';
import { join } from 'node:path';
import { open as openLmdb, type RootDatabase } from 'lmdb';
import { EventExchange, type EventEnvelope } from '../../src/daemon/events/exchange.js';
import { PublishingSnapshotter } from '../../src/daemon/events/snapshot-events.js';
import { unpackAny } from '../../src/proto.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { rejection } from '../support/rejection.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';

/** The snapshot events containerd publishes, from the wrapper around our overlay snapshotter. */
describe('daemon/events PublishingSnapshotter', () => {
  let base: string;
  let db: RootDatabase<unknown, string>;
  let seen: EventEnvelope[];
  let snap: PublishingSnapshotter;
  let stop: () => void;

  beforeEach(async () => {
    base = await tempDir('snapshot-events');
    db = openLmdb<unknown, string>({ path: join(base, 'meta.lmdb') });
    const events = new EventExchange();
    seen = [];
    stop = events.subscribe([], (e) => seen.push(e));
    snap = new PublishingSnapshotter(new OverlaySnapshotter({ root: join(base, 'root'), db }), events);
  });
  afterEach(async () => {
    stop();
    await db.close();
    await removeTempDir(base);
  });

  const decoded = () =>
    seen.map((e) => {
      const { typeName, message } = unpackAny(e.event);
      return { ns: e.namespace, topic: e.topic, typeName, message };
    });

  it('publishes prepare, commit and remove with bare keys in the key\'s namespace, nothing for views or failed calls', async () => {
    await snap.prepare('ns1/a');
    await snap.commit('ns1/c', 'ns1/a');
    await snap.prepare('ns1/b', 'ns1/c');
    await snap.view('ns1/v', 'ns1/c');
    expect((await rejection(snap.prepare('ns1/b', 'ns1/c'))).kind).to.equal('AlreadyExists');
    expect((await rejection(snap.remove('ns1/c'))).kind).to.equal('FailedPrecondition'); // it has children
    await snap.remove('ns1/b');
    await snap.remove('ns1/v');
    await snap.remove('ns1/c');
    expect(decoded()).to.deep.equal([
      { ns: 'ns1', topic: '/snapshot/prepare', typeName: 'containerd.events.SnapshotPrepare', message: { key: 'a', parent: '' } },
      { ns: 'ns1', topic: '/snapshot/commit', typeName: 'containerd.events.SnapshotCommit', message: { key: 'a', name: 'c' } },
      { ns: 'ns1', topic: '/snapshot/prepare', typeName: 'containerd.events.SnapshotPrepare', message: { key: 'b', parent: 'c' } },
      { ns: 'ns1', topic: '/snapshot/remove', typeName: 'containerd.events.SnapshotRemove', message: { key: 'b' } },
      { ns: 'ns1', topic: '/snapshot/remove', typeName: 'containerd.events.SnapshotRemove', message: { key: 'v' } },
      { ns: 'ns1', topic: '/snapshot/remove', typeName: 'containerd.events.SnapshotRemove', message: { key: 'c' } },
    ]);
  });
});
