import { expect } from 'chai';
import { createReadStream } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { NamespacedContentStore } from '../../src/daemon/metadata/content.js';
import { MetadataDb } from '../../src/daemon/metadata/db.js';
import { NamespaceStore } from '../../src/daemon/metadata/namespaces.js';
import { OverlaySnapshotter } from '../../src/snapshot/overlay.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { writeBlob } from '../../src/snapshot/content-helpers.js';
import { digestOf, validateDigest } from '../../src/snapshot/digest.js';
import { importImageArchive } from '../../src/snapshot/import.js';
import { rejection } from '../support/rejection.js';
import { buildBusybox, removeTempDir, tempDir } from './snapshot-helpers.js';

/**
 * The namespaced content layer (metadata/content.ts) over a real
 * filesystem store and LMDB: two namespaces share blob files but not
 * records, labels or ingests; a blob one namespace has is committed in
 * another without its data; an old store is adopted into every namespace.
 */
describe('daemon/metadata/content (namespaced content)', () => {
  let dir: string;
  let db: MetadataDb;
  let namespaces: NamespaceStore;
  let backend: FsContentStore;
  let content: NamespacedContentStore;

  beforeEach(async () => {
    dir = await tempDir('ns-content');
    db = new MetadataDb(dir);
    namespaces = new NamespaceStore(db);
    backend = await FsContentStore.open(join(dir, 'content'));
    content = await NamespacedContentStore.open(db, backend, namespaces);
  });
  afterEach(async () => {
    await db.close();
    await removeTempDir(dir);
  });

  const data = Buffer.from('a blob both namespaces want\n'.repeat(50));
  const digest = digestOf(data);
  const blobFiles = () => readdir(join(dir, 'content', 'blobs', 'sha256'));
  const put = (ns: string, labels: Record<string, string> = {}) =>
    writeBlob(content.forNamespace(ns), Readable.from([data]), { ref: `r-${digest}`, expected: { digest, size: data.length }, labels });

  it('a namespace sees only its own records: NotFound for a blob only another namespace has', async () => {
    const a = content.forNamespace('a');
    const b = content.forNamespace('b');
    await put('a');
    expect((await a.info(digest)).size).to.equal(data.length);
    expect((await a.readAll(digest)).equals(data)).to.equal(true);
    for (const op of [b.info(digest), b.reader(digest), b.readAll(digest), b.update(digest, {}), b.delete(digest)]) {
      expect((await rejection(op)).kind).to.equal('NotFound');
    }
    expect(await b.list()).to.deep.equal([]);
    expect((await a.list()).map((i) => i.digest)).to.deep.equal([digest]);
    expect(namespaces.find('a')).to.not.equal(undefined); // a record brings its namespace into being
  });

  it('keeps labels per namespace', async () => {
    await put('a', { owner: 'a' });
    await put('b', { owner: 'b' });
    await content.forNamespace('a').update(digest, { owner: 'a', extra: '1' });
    expect((await content.forNamespace('a').info(digest)).labels).to.deep.equal({ owner: 'a', extra: '1' });
    expect((await content.forNamespace('b').info(digest)).labels).to.deep.equal({ owner: 'b' });
    expect((await rejection(content.forNamespace('a').update(digest, { k: 'v'.repeat(5000) }))).kind).to.equal('InvalidArgument');
  });

  it('commits a blob another namespace has without its data when the size matches; AlreadyExists once this namespace has it', async () => {
    await put('a');
    const b = content.forNamespace('b');
    const w = await b.writer({ ref: 'fast', expected: { digest, size: data.length } });
    expect(w.offset()).to.equal(data.length);
    expect(w.digest()).to.equal(digest);
    expect(await b.listStatuses()).to.deep.equal([]); // no backend ingest was made
    const info = await w.commit(undefined, { labels: { in: 'b' } });
    expect(info).to.include({ digest, size: data.length });
    expect((await b.info(digest)).labels).to.deep.equal({ in: 'b' });
    expect((await b.readAll(digest)).equals(data)).to.equal(true);
    expect(await blobFiles()).to.have.length(1);
    expect((await rejection(b.writer({ ref: 'again', expected: { digest } }))).kind).to.equal('AlreadyExists');
    // Without a size the blob's own is taken.
    const c = await content.forNamespace('c').writer({ ref: 'nosize', expected: { digest } });
    expect(c.offset()).to.equal(data.length);
    await c.commit({ digest, size: data.length });
    expect((await content.forNamespace('c').info(digest)).size).to.equal(data.length);
  });

  it('does not take the shortcut for another size, and refuses a shared commit that claims another size or digest', async () => {
    await put('a');
    const b = content.forNamespace('b');
    const other = await b.writer({ ref: 'other-size', expected: { digest, size: data.length + 1 } });
    expect(other.offset()).to.equal(0);
    await other.write(Buffer.concat([data, Buffer.from('x')]));
    expect((await rejection(other.commit())).kind).to.equal('InvalidArgument'); // digest mismatch: nothing recorded
    expect((await rejection(b.info(digest))).kind).to.equal('NotFound');

    const shared = await b.writer({ ref: 's1', expected: { digest, size: data.length } });
    expect((await rejection(shared.commit({ size: 3 }))).kind).to.equal('InvalidArgument');
    const shared2 = await b.writer({ ref: 's2', expected: { digest, size: data.length } });
    expect((await rejection(shared2.commit({ digest: digestOf('x') }))).kind).to.equal('InvalidArgument');
    const shared3 = await b.writer({ ref: 's3', expected: { digest, size: data.length } });
    expect((await rejection(shared3.write(Buffer.from('more')))).kind).to.equal('InvalidArgument');
    expect((await rejection(b.info(digest))).kind).to.equal('NotFound');
    expect(await b.listStatuses()).to.deep.equal([]);
  });

  it('writing the same bytes in a second namespace without an expected digest records them there, one file', async () => {
    await put('a');
    const info = await writeBlob(content.forNamespace('b'), Readable.from([data]), { ref: 'no-digest', labels: { x: 'y' } });
    expect(info.digest).to.equal(digest);
    expect((await content.forNamespace('b').info(digest)).labels).to.deep.equal({ x: 'y' });
    expect(await blobFiles()).to.have.length(1);
    expect(await content.forNamespace('b').listStatuses()).to.deep.equal([]);
  });

  it('delete removes only this namespace\'s record; the file stays until no namespace has it (the collector\'s sweep)', async () => {
    await put('a');
    await put('b');
    await content.forNamespace('b').delete(digest);
    expect((await rejection(content.forNamespace('b').info(digest))).kind).to.equal('NotFound');
    expect((await content.forNamespace('a').readAll(digest)).equals(data)).to.equal(true);
    expect(await content.sweepBlobs()).to.deep.equal([]);
    await content.forNamespace('a').delete(digest);
    expect(await blobFiles()).to.have.length(1);
    expect(await content.sweepBlobs()).to.deep.equal([digest]);
    expect(await blobFiles()).to.deep.equal([]);
  });

  it('reads a small blob whole from memory the second time, still only where the namespace has its record', async () => {
    await put('a');
    await put('b');
    const first = await content.forNamespace('a').readAll(digest);
    expect(first.equals(data)).to.equal(true);
    first.fill(0); // a caller changing its bytes changes nobody else's
    // The file gone behind the store's back: only the cache can answer now.
    await rm(join(dir, 'content', 'blobs', 'sha256', digest.slice('sha256:'.length)));
    expect((await content.forNamespace('a').readAll(digest)).equals(data)).to.equal(true);
    expect((await content.forNamespace('b').readAll(digest)).equals(data)).to.equal(true);
    await content.forNamespace('b').delete(digest);
    expect((await rejection(content.forNamespace('b').readAll(digest))).kind).to.equal('NotFound');
    expect((await rejection(content.forNamespace('c').readAll(digest))).kind).to.equal('NotFound');
  });

  it('drops a blob from memory when the sweep removes it, so a namespace that writes it again reads the new file', async () => {
    await put('a');
    await content.forNamespace('a').readAll(digest);
    expect(content.smallBlobs.size).to.equal(1);
    await content.forNamespace('a').delete(digest);
    expect(await content.sweepBlobs()).to.deep.equal([digest]);
    expect(content.smallBlobs.size).to.equal(0);
  });

  it('keeps ingests per namespace: the same ref in two namespaces is two ingests, each seen, resumed and aborted only in its own', async () => {
    const a = content.forNamespace('a');
    const b = content.forNamespace('b');
    const wa = await a.writer({ ref: 'same-ref', expected: { digest, size: data.length } });
    const wb = await b.writer({ ref: 'same-ref' }); // not locked by a's writer
    expect((await rejection(a.writer({ ref: 'same-ref' }))).kind).to.equal('Unavailable');
    await wa.write(data.subarray(0, 100));
    await wb.write(Buffer.from('other bytes'));
    await wa.close();
    await wb.close();
    expect((await a.status('same-ref')).offset).to.equal(100);
    expect((await a.status('same-ref')).expected).to.equal(digest);
    expect((await b.status('same-ref')).offset).to.equal(11);
    expect((await a.listStatuses()).map((s) => s.ref)).to.deep.equal(['same-ref']);
    expect((await rejection(content.forNamespace('c').status('same-ref'))).kind).to.equal('NotFound');
    await b.abort('same-ref');
    expect((await rejection(b.status('same-ref'))).kind).to.equal('NotFound');
    const resumed = await a.writer({ ref: 'same-ref', expected: { digest, size: data.length } });
    expect(resumed.offset()).to.equal(100);
    await resumed.write(data.subarray(100));
    await resumed.commit();
    expect((await a.info(digest)).size).to.equal(data.length);
    expect((await rejection(b.abort('same-ref'))).kind).to.equal('NotFound');
  });

  it('imports an archive into a second namespace: blobs another namespace has are only hashed, and get this namespace\'s labels', async function () {
    this.timeout(60_000);
    const fixtures = await tempDir('ns-content-fixture');
    try {
      const { archive } = await buildBusybox(fixtures);
      const first = await importImageArchive(createReadStream(archive), content.forNamespace('a'));
      const files = await blobFiles();
      const inA = await content.forNamespace('a').list();
      await content.forNamespace('a').update(validateDigest(first.images[0]!.target.digest), { 'only.in': 'a' });
      await importImageArchive(createReadStream(archive), content.forNamespace('b'));
      const inB = await content.forNamespace('b').list();
      expect(inB.map((i) => i.digest)).to.deep.equal(inA.map((i) => i.digest));
      // The GC labels the import sets are b's own; a's extra label is not.
      for (const i of inB) expect(i.labels, i.digest).to.deep.equal(inA.find((x) => x.digest === i.digest)!.labels);
      expect(await blobFiles()).to.deep.equal(files);
      expect(await content.forNamespace('b').listStatuses()).to.deep.equal([]);
      expect(await readdir(join(dir, 'content', 'ingest'))).to.deep.equal([]);
    } finally {
      await removeTempDir(fixtures);
    }
  });

  it('a namespace with content records cannot be deleted', async () => {
    await put('a');
    const err = (() => {
      try {
        namespaces.delete('a');
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    expect(err?.message).to.match(/still has blobs/);
    await content.forNamespace('a').delete(digest);
    namespaces.delete('a');
  });

  it('a namespace with snapshots cannot be deleted, as in containerd; another namespace\'s snapshots do not count', async () => {
    const snapshotter = new OverlaySnapshotter({ root: dir, db: db.snapshots });
    namespaces.ensure('a');
    namespaces.ensure('ab');
    await snapshotter.prepare('a/work', undefined);
    await snapshotter.prepare('ab/other', undefined);
    expect(() => namespaces.delete('a')).to.throw(/namespace a must be empty, but it still has snapshots/);
    await snapshotter.remove('a/work');
    namespaces.delete('a');
    expect(namespaces.find('a')).to.equal(undefined);
    expect(() => namespaces.delete('ab')).to.throw(/still has snapshots/);
  });

  it('adopts a store made before namespaced records: every blob into every namespace, with its old labels, once', async () => {
    await db.close();
    await removeTempDir(dir);
    dir = await tempDir('ns-content-old');
    // The old layout: blobs and label files in the store, namespaces and no content records in LMDB.
    backend = await FsContentStore.open(join(dir, 'content'));
    const w = await backend.writer({ ref: 'old', expected: { digest, size: data.length } });
    await w.write(data);
    await w.commit(undefined, { labels: { 'containerd.io/gc.root': 'kept' } });
    const plain = await writeBlob(backend, Readable.from([Buffer.from('plain')]), { ref: 'old2' });
    db = new MetadataDb(dir);
    namespaces = new NamespaceStore(db);
    namespaces.ensure('default');
    namespaces.ensure('other');
    content = await NamespacedContentStore.open(db, backend, namespaces);
    for (const ns of ['default', 'other']) {
      expect((await content.forNamespace(ns).list()).map((i) => i.digest).sort(), ns).to.deep.equal([digest, plain.digest].sort());
      expect((await content.forNamespace(ns).info(digest)).labels).to.deep.equal({ 'containerd.io/gc.root': 'kept' });
    }
    // Records are the truth from now on: a deletion is not undone by reopening.
    await content.forNamespace('other').delete(plain.digest);
    await db.close();
    db = new MetadataDb(dir);
    namespaces = new NamespaceStore(db);
    content = await NamespacedContentStore.open(db, backend, namespaces);
    expect((await content.forNamespace('other').list()).map((i) => i.digest)).to.deep.equal([digest]);
    expect((await content.forNamespace('default').list()).map((i) => i.digest).sort()).to.deep.equal([digest, plain.digest].sort());
  });

  it('adopts nothing into a new store and marks it, so blobs written later are not spread to every namespace', async () => {
    namespaces.ensure('x');
    await put('a');
    await db.close();
    db = new MetadataDb(dir);
    namespaces = new NamespaceStore(db);
    content = await NamespacedContentStore.open(db, backend, namespaces);
    expect(await content.forNamespace('x').list()).to.deep.equal([]);
  });
});
