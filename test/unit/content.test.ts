import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { isRuntimeError, RuntimeError } from '../../src/errors.js';
import { parseJsonBlob } from '../../src/oci/image-types.js';
import { writeBlob } from '../../src/snapshot/content-helpers.js';
import { FsContentStore } from '../../src/snapshot/content-fs.js';
import { digestOf, parseDigest, validateDigest, type Digest } from '../../src/snapshot/digest.js';
import { removeTempDir, tempDir } from './snapshot-helpers.js';
import { rejection } from '../support/rejection.js';

function throws(fn: () => unknown): RuntimeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RuntimeError) return err;
    throw err;
  }
  throw new Error('expected a throw');
}

describe('snapshot/digest', () => {
  it('accepts canonical sha256 digests', () => {
    const d = digestOf('hello');
    expect(d).to.equal(`sha256:${createHash('sha256').update('hello').digest('hex')}`);
    expect(parseDigest(d).hex).to.have.length(64);
  });

  for (const bad of ['', 'sha256', 'sha256:', 'sha256:xyz', `sha256:${'A'.repeat(64)}`, `sha512:${'a'.repeat(128)}`, `md5:${'a'.repeat(32)}`, `sha256:${'a'.repeat(63)}`]) {
    it(`rejects ${JSON.stringify(bad.slice(0, 20))}... with InvalidArgument`, () => {
      expect(throws(() => validateDigest(bad)).kind).to.equal('InvalidArgument');
    });
  }
});

describe('oci/image-types parseJsonBlob', () => {
  it('parses objects', () => {
    expect(parseJsonBlob<{ a: number }>(Buffer.from('{"a":1}'))).to.deep.equal({ a: 1 });
  });
  it('rejects non-JSON, non-objects and oversize blobs with InvalidArgument', () => {
    expect(throws(() => parseJsonBlob(Buffer.from('not json'))).kind).to.equal('InvalidArgument');
    expect(throws(() => parseJsonBlob(Buffer.from('[1,2]'))).kind).to.equal('InvalidArgument');
    const big = Buffer.alloc(4 * 1024 * 1024 + 1, 0x20);
    const err = throws(() => parseJsonBlob(big, 'manifest'));
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.match(/over the 4194304 byte limit/);
  });
  it('applies a shape check', () => {
    const isA = (v: unknown): v is { a: number } => typeof (v as { a?: unknown }).a === 'number';
    expect(throws(() => parseJsonBlob('{"b":1}', 'thing', isA)).message).to.match(/expected structure/);
  });
});

describe('snapshot/content-fs', () => {
  let root: string;
  let store: FsContentStore;

  beforeEach(async () => {
    root = await tempDir('content');
    store = await FsContentStore.open(root);
  });
  afterEach(async () => {
    await removeTempDir(root);
  });

  const ingestEntries = () => readdir(join(root, 'ingest'));
  const blobEntries = () => readdir(join(root, 'blobs', 'sha256'));

  it('commits verified data atomically to blobs/sha256/<hex> and reads it back', async () => {
    const data = Buffer.from('some layer bytes');
    const digest = digestOf(data);
    const w = await store.writer({ ref: 'ref/with/slashes', expected: { digest, size: data.length } });
    await w.write(data.subarray(0, 4));
    await w.write(data.subarray(4));
    expect(w.offset()).to.equal(data.length);
    const info = await w.commit();
    expect(info.digest).to.equal(digest);
    expect(info.size).to.equal(data.length);
    expect(await blobEntries()).to.deep.equal([parseDigest(digest).hex]);
    expect(await ingestEntries()).to.deep.equal([]);
    expect((await stat(join(root, 'blobs', 'sha256', parseDigest(digest).hex))).mode & 0o777).to.equal(0o444);
    expect((await store.readAll(digest)).toString()).to.equal('some layer bytes');
    const chunks: Buffer[] = [];
    for await (const c of await store.reader(digest, { offset: 5 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).to.equal('layer bytes');
    expect((await store.list()).map((i) => i.digest)).to.deep.equal([digest]);
    await store.delete(digest);
    expect(await blobEntries()).to.deep.equal([]);
    expect((await rejection(store.info(digest))).kind).to.equal('NotFound');
  });

  it('rejects a digest mismatch naming expected and actual digests, leaving nothing', async () => {
    const expected = digestOf('the right bytes');
    const w = await store.writer({ ref: 'mismatch', expected: { digest: expected } });
    await w.write(Buffer.from('the wrong bytes'));
    const err = await rejection(w.commit());
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.include(expected);
    expect(err.message).to.include(digestOf('the wrong bytes'));
    expect(await blobEntries()).to.deep.equal([]);
    expect(await ingestEntries()).to.deep.equal([]);
    expect((await rejection(store.status('mismatch'))).kind).to.equal('NotFound');
  });

  it('rejects a truncated write (short of the expected size), leaving nothing', async () => {
    const data = Buffer.from('0123456789');
    const w = await store.writer({ ref: 'short', expected: { digest: digestOf(data), size: data.length } });
    await w.write(data.subarray(0, 6));
    const err = await rejection(w.commit());
    expect(err.kind).to.equal('InvalidArgument');
    expect(err.message).to.match(/expected 10 bytes, got 6/);
    expect(await blobEntries()).to.deep.equal([]);
    expect(await ingestEntries()).to.deep.equal([]);
  });

  it('rejects writing past the expected size at once, leaving nothing', async () => {
    const w = await store.writer({ ref: 'long', expected: { size: 3 } });
    const err = await rejection(w.write(Buffer.from('toolong')));
    expect(err.kind).to.equal('InvalidArgument');
    expect(await ingestEntries()).to.deep.equal([]);
  });

  it('writeBlob cleans up when the source stream fails midway', async () => {
    const data = Buffer.from('abcdef');
    async function* failing(): AsyncGenerator<Buffer> {
      yield data.subarray(0, 3);
      throw new Error('network reset');
    }
    const err = await writeBlob(store, failing(), { ref: 'net', expected: { digest: digestOf(data), size: 6 } }).then(
      () => new Error('expected a rejection'),
      (e: Error) => e,
    );
    expect(err.message).to.equal('network reset');
    expect(await blobEntries()).to.deep.equal([]);
    expect(await ingestEntries()).to.deep.equal([]);
  });

  it('writeBlob rejects a short stream and commits a whole one', async () => {
    const data = Buffer.from('complete data');
    const digest = digestOf(data);
    const err = await rejection(writeBlob(store, Readable.from([data.subarray(0, 5)]), { ref: 'x', expected: { digest, size: data.length } }));
    expect(err.kind).to.equal('InvalidArgument');
    expect(await ingestEntries()).to.deep.equal([]);
    const info = await writeBlob(store, Readable.from([data]), { ref: 'x', expected: { digest, size: data.length }, labels: { a: 'b' } });
    expect(info.digest).to.equal(digest);
    expect((await store.info(digest)).labels).to.deep.equal({ a: 'b' });
    // already present: returns the existing info without reading
    const again = await writeBlob(store, Readable.from([Buffer.from('ignored')]), { ref: 'y', expected: { digest, size: data.length } });
    expect(again.digest).to.equal(digest);
  });

  it('reports AlreadyExists for an existing digest and Unavailable for a locked ref', async () => {
    const data = Buffer.from('dup');
    const digest: Digest = digestOf(data);
    const w1 = await store.writer({ ref: 'one' });
    expect((await rejection(store.writer({ ref: 'one' }))).kind).to.equal('Unavailable');
    const w2 = await store.writer({ ref: 'two' });
    await w1.write(data);
    await w2.write(data);
    await w1.commit();
    expect((await rejection(w2.commit())).kind).to.equal('AlreadyExists');
    expect(await ingestEntries()).to.deep.equal([]);
    expect((await rejection(store.writer({ ref: 'three', expected: { digest } }))).kind).to.equal('AlreadyExists');
  });

  it('resumes an ingest after close, with status reporting the offset', async () => {
    const data = Buffer.from('resumable content here');
    const digest = digestOf(data);
    const w = await store.writer({ ref: 'resume', expected: { digest, size: data.length } });
    await w.write(data.subarray(0, 10));
    await w.close();
    const st = await store.status('resume');
    expect(st.offset).to.equal(10);
    expect(st.total).to.equal(data.length);
    expect(st.expected).to.equal(digest);
    expect((await store.listStatuses()).map((s) => s.ref)).to.deep.equal(['resume']);
    const w2 = await store.writer({ ref: 'resume', expected: { digest, size: data.length } });
    expect(w2.offset()).to.equal(10);
    await w2.write(data.subarray(10));
    expect((await w2.commit()).digest).to.equal(digest);
    await store.writer({ ref: 'gone' }).then((w3) => w3.close());
    await store.abort('gone');
    expect(await ingestEntries()).to.deep.equal([]);
  });

  it('keeps labels beside blobs and validates them', async () => {
    const info = await writeBlob(store, Readable.from([Buffer.from('l')]), { ref: 'l' });
    const updated = await store.update(info.digest, { 'containerd.io/gc.ref.content.0': digestOf('x') });
    expect(updated.labels).to.have.property('containerd.io/gc.ref.content.0');
    expect(isRuntimeError(await rejection(store.update(info.digest, { k: 'v'.repeat(5000) })), 'InvalidArgument')).to.equal(true);
    expect((await rejection(store.update(digestOf('absent'), {}))).kind).to.equal('NotFound');
  });

  it('refuses oversize readAll', async () => {
    const info = await writeBlob(store, Readable.from([Buffer.alloc(100)]), { ref: 'big' });
    expect((await rejection(store.readAll(info.digest, { maxBytes: 10 }))).kind).to.equal('InvalidArgument');
  });
});
