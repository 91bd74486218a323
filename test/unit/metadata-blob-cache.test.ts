import { expect } from 'chai';
import { BlobCache, SMALL_BLOB_BYTES } from '../../src/daemon/metadata/blob-cache.js';
import { digestOf, type Digest } from '../../src/snapshot/digest.js';

describe('daemon/metadata BlobCache', () => {
  const blob = (s: string): [Digest, Buffer] => [digestOf(s), Buffer.from(s)];

  it('drops the least recently used entry first, a read counting as a use', () => {
    const cache = new BlobCache(2);
    const [a, ab] = blob('a');
    const [b, bb] = blob('b');
    const [c, cb] = blob('c');
    cache.set(a, ab);
    cache.set(b, bb);
    expect(cache.get(a)?.toString()).to.equal('a');
    cache.set(c, cb);
    expect(cache.get(b)).to.equal(undefined);
    expect(cache.get(a)?.toString()).to.equal('a');
    expect(cache.get(c)?.toString()).to.equal('c');
    expect(cache.size).to.equal(2);
  });

  it('keeps no layer-sized blob and hands out copies', () => {
    const cache = new BlobCache();
    const big = Buffer.alloc(SMALL_BLOB_BYTES + 1);
    cache.set(digestOf(big), big);
    expect(cache.size).to.equal(0);
    const [d, data] = blob('config');
    cache.set(d, data);
    data.fill(0);
    const out = cache.get(d)!;
    out.fill(1);
    expect(cache.get(d)?.toString()).to.equal('config');
  });
});
