import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { RuntimeError } from '../../src/errors.js';
import type { TarHeader } from '../../src/snapshot/tar-header.js';
import { parseNumber, parsePaxRecords } from '../../src/snapshot/tar-header.js';
import { MAX_EXTENSION_BYTES, TarReader } from '../../src/snapshot/tar-reader.js';
import { encodeTarHeader, TAR_END } from '../../src/snapshot/tar-writer.js';
import { makeTar, pad } from './snapshot-helpers.js';

/** Fields of a hand-made header block; anything left out is zero. */
interface BlockSpec {
  name?: string;
  typeflag?: string;
  size?: number | bigint;
  mode?: string;
  uid?: Buffer | string;
  linkname?: string;
  prefix?: string;
  magic?: 'ustar' | 'gnu' | 'none';
  checksum?: 'good' | 'bad' | 'signed';
}

/** A raw 512-byte header block, to build what tar writers refuse to (GNU records, base-256 ids, broken checksums). */
function block(spec: BlockSpec): Buffer {
  const h = Buffer.alloc(512);
  h.write(spec.name ?? '', 0, 100, 'utf8');
  h.write(spec.mode ?? '0000644\0', 100);
  if (Buffer.isBuffer(spec.uid)) spec.uid.copy(h, 108);
  else h.write(spec.uid ?? '0000000\0', 108);
  h.write('0000000\0', 116);
  const size = BigInt(spec.size ?? 0);
  if (size >= 8n ** 11n) {
    h[124] = 0x80;
    let v = size;
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else {
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  }
  h.write('14707127400\0', 136); // 2024-01-01
  h.write(spec.typeflag ?? '0', 156);
  if (spec.linkname !== undefined) h.write(spec.linkname, 157, 100, 'utf8');
  const magic = spec.magic ?? 'ustar';
  if (magic === 'ustar') {
    h.write('ustar\0', 257);
    h.write('00', 263);
  } else if (magic === 'gnu') {
    h.write('ustar  \0', 257);
  }
  if (spec.prefix !== undefined) h.write(spec.prefix, 345, 155, 'utf8');
  h.fill(0x20, 148, 156);
  let sum = 0;
  let signed = 0;
  for (const b of h) {
    sum += b;
    signed += b > 127 ? b - 256 : b;
  }
  const stored = spec.checksum === 'signed' ? signed : spec.checksum === 'bad' ? sum + 1 : sum;
  h.write(`${stored.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** An extension block (PAX 'x'/'g' or GNU 'L'/'K') with its padded body. */
function extension(typeflag: string, body: Buffer): Buffer {
  return Buffer.concat([block({ name: '././@LongLink', typeflag, size: body.length }), pad(body)]);
}

function paxBody(records: Array<[string, Buffer | string]>): Buffer {
  return Buffer.concat(
    records.map(([key, value]) => {
      const rest = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
      let len = rest.length + 1;
      while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
      return Buffer.concat([Buffer.from(String(len)), rest]);
    }),
  );
}

interface Parsed {
  header: TarHeader;
  data: Buffer;
}

/** Runs the reader over `tar` cut into `chunk`-byte pieces; returns the entries with their data. */
function parse(tar: Buffer, chunk = tar.length): Parsed[] {
  const reader = new TarReader('test tar');
  const out: Parsed[] = [];
  let parts: Buffer[] = [];
  let open = false;
  for (let at = 0; at < tar.length; at += chunk) {
    reader.push(tar.subarray(at, at + chunk));
    for (let e = reader.next(); e !== undefined; e = reader.next()) {
      if (e.kind === 'entry') {
        expect(open, 'an entry starts only after the previous one ended').to.equal(false);
        out.push({ header: e.header, data: Buffer.alloc(0) });
        parts = [];
        open = true;
      } else if (e.kind === 'data') {
        parts.push(Buffer.from(e.bytes));
      } else {
        (out[out.length - 1] as Parsed).data = Buffer.concat(parts);
        open = false;
      }
    }
  }
  reader.end();
  return out;
}

function parseError(tar: Buffer, chunk?: number): RuntimeError {
  try {
    parse(tar, chunk);
  } catch (err) {
    expect(err).to.be.instanceOf(RuntimeError);
    expect((err as RuntimeError).kind).to.equal('InvalidArgument');
    return err as RuntimeError;
  }
  throw new Error('expected the reader to fail');
}

describe('snapshot/tar-reader', () => {
  it('reads what tar-stream packs, whatever the chunk boundaries', async () => {
    const big = randomBytes(70_000);
    const tar = await makeTar([
      { name: 'dir', type: 'directory', mode: 0o750, uid: 12, gid: 34 },
      { name: 'dir/big', content: big, mode: 0o640 },
      { name: 'dir/empty', content: '' },
      { name: 'dir/link', type: 'symlink', linkname: 'big' },
      { name: 'dir/hard', type: 'link', linkname: 'dir/big' },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3 },
      { name: 'pipe', type: 'fifo' },
    ]);
    for (const chunk of [1, 7, 511, 512, 513, 4096, tar.length]) {
      const entries = parse(tar, chunk);
      expect(entries.map((e) => [e.header.name, e.header.type]), `chunk ${chunk}`).to.deep.equal([
        ['dir', 'directory'],
        ['dir/big', 'file'],
        ['dir/empty', 'file'],
        ['dir/link', 'symlink'],
        ['dir/hard', 'link'],
        ['dev/null', 'character-device'],
        ['pipe', 'fifo'],
      ]);
      const [dir, file, , link, hard, dev] = entries as [Parsed, Parsed, Parsed, Parsed, Parsed, Parsed];
      expect([dir.header.mode, dir.header.uid, dir.header.gid]).to.deep.equal([0o750, 12, 34]);
      expect(file.header.size).to.equal(big.length);
      expect(file.data.equals(big)).to.equal(true);
      expect(file.header.mode).to.equal(0o640);
      expect(file.header.mtime).to.equal(Date.parse('2020-01-01T00:00:00Z') / 1000);
      expect(link.header.linkname).to.equal('big');
      expect(hard.header.linkname).to.equal('dir/big');
      expect([dev.header.devmajor, dev.header.devminor]).to.deep.equal([1, 3]);
    }
  });

  it('applies PAX records (path, linkpath, size) and passes every record on with raw byte values', () => {
    const binary = Buffer.from([0x01, 0x00, 0xff, 0x80, 0xc3, 0x28]);
    const longName = `${'d/'.repeat(80)}file`;
    const data = Buffer.from('pax sized');
    const tar = Buffer.concat([
      extension('x', paxBody([['path', longName], ['size', String(data.length)], ['SCHILY.xattr.security.capability', binary], ['mtime', '1000000000.5']])),
      block({ name: 'short', size: 0 }),
      pad(data),
      extension('x', paxBody([['linkpath', `/${'t'.repeat(300)}`]])),
      block({ name: 'sym', typeflag: '2', linkname: 'ignored' }),
      block({ name: 'plain', size: 0 }),
      TAR_END,
    ]);
    const [file, sym, plain] = parse(tar, 100) as [Parsed, Parsed, Parsed];
    expect(file.header.name).to.equal(longName);
    expect(file.header.size).to.equal(data.length);
    expect(file.data.toString()).to.equal('pax sized');
    expect(file.header.pax.get('SCHILY.xattr.security.capability')?.equals(binary)).to.equal(true);
    expect(file.header.pax.get('mtime')?.toString()).to.equal('1000000000.5');
    expect(sym.header.linkname).to.equal(`/${'t'.repeat(300)}`);
    expect(plain.header.pax.size, 'PAX records apply to the next entry only').to.equal(0);
  });

  it('skips PAX global headers (as containerd does) and zero blocks between entries', () => {
    const tar = Buffer.concat([
      extension('g', paxBody([['path', 'global-name'], ['comment', 'git archive']])),
      block({ name: 'a', size: 1 }),
      pad(Buffer.from('a')),
      Buffer.alloc(512),
      block({ name: 'b', size: 0 }),
      TAR_END,
      Buffer.alloc(8192),
    ]);
    expect(parse(tar).map((e) => e.header.name)).to.deep.equal(['a', 'b']);
  });

  it('reads GNU long names and long link targets, and ustar prefixes', () => {
    const name = `${'n'.repeat(150)}/${'m'.repeat(150)}`;
    const target = 'x'.repeat(200);
    const tar = Buffer.concat([
      extension('L', Buffer.from(`${name}\0`)),
      extension('K', Buffer.from(`${target}\0`)),
      block({ name: 'trunc', typeflag: '1', linkname: 'trunc-link', magic: 'gnu' }),
      block({ name: 'file', prefix: 'some/prefix', size: 0 }),
      TAR_END,
    ]);
    const [hard, prefixed] = parse(tar, 333) as [Parsed, Parsed];
    expect(hard.header.name).to.equal(name);
    expect(hard.header.linkname).to.equal(target);
    expect(hard.header.type).to.equal('link');
    expect(prefixed.header.name).to.equal('some/prefix/file');
  });

  it('decodes base-256 numbers, and marks fields that are not numbers as NaN', () => {
    const uid = Buffer.alloc(8);
    uid[0] = 0x80;
    uid.writeUInt32BE(3_000_000_000, 4);
    const size = 2n ** 40n + 5n;
    const reader = new TarReader('test tar');
    reader.push(block({ name: 'big', uid, size }));
    const e = reader.next();
    expect(e?.kind).to.equal('entry');
    const header = (e as { header: TarHeader }).header;
    expect(header.uid).to.equal(3_000_000_000);
    expect(header.size).to.equal(2 ** 40 + 5);
    expect(parseNumber(Buffer.from('  0755 \0'), 0, 8)).to.equal(0o755);
    expect(parseNumber(Buffer.from('\0\0\0\0\0\0\0\0'), 0, 8)).to.equal(0);
    expect(parseNumber(Buffer.from('07x5\0\0\0\0'), 0, 8)).to.be.NaN;
    expect(parseNumber(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]), 0, 8), 'negative base-256').to.be.NaN;
    const [odd] = parse(Buffer.concat([block({ name: 'odd', mode: 'rw-r--r-' }), TAR_END])) as [Parsed];
    expect(odd.header.mode).to.be.NaN;
  });

  it('gives header-only types no data whatever their size field says, and treats a regular file named x/ as a directory', () => {
    const tar = Buffer.concat([
      block({ name: 'sym', typeflag: '2', linkname: 'target', size: 1000 }),
      block({ name: 'old-dir/', typeflag: '\0' }),
      block({ name: 'after', size: 0 }),
      TAR_END,
    ]);
    const entries = parse(tar);
    expect(entries.map((e) => [e.header.name, e.header.type, e.data.length])).to.deep.equal([
      ['sym', 'symlink', 0],
      ['old-dir/', 'directory', 0],
      ['after', 'file', 0],
    ]);
    expect((entries[0] as Parsed).header.size, 'the header size is still reported').to.equal(1000);
  });

  it('reports unknown typeflags as type null, and accepts signed checksums', () => {
    const tar = Buffer.concat([block({ name: 'vol', typeflag: 'V' }), block({ name: 'é', checksum: 'signed' }), TAR_END]);
    expect(parse(tar).map((e) => [e.header.name, e.header.type])).to.deep.equal([
      ['vol', null],
      ['é', 'file'],
    ]);
  });

  it('reads the PAX headers our tar writer produces (long names, big ids, binary xattrs)', () => {
    const long = `${'p/'.repeat(60)}name`;
    const value = Buffer.from([0, 1, 2, 255]);
    const tar = Buffer.concat([
      encodeTarHeader({ name: long, type: 'symlink', mode: 0o777, uid: 3_000_000, gid: 7, size: 0, mtime: 1_600_000_000, linkname: `/${'t'.repeat(150)}`, xattrs: [['user.k', value]] }),
      TAR_END,
    ]);
    const [e] = parse(tar, 64) as [Parsed];
    expect(e.header.name).to.equal(long);
    expect(e.header.linkname).to.equal(`/${'t'.repeat(150)}`);
    expect(e.header.pax.get('uid')?.toString()).to.equal('3000000');
    expect(e.header.pax.get('SCHILY.xattr.user.k')?.equals(value)).to.equal(true);
  });

  describe('rejects broken streams with InvalidArgument', () => {
    it('truncated inside data, inside padding, and inside a header', async () => {
      const tar = await makeTar([{ name: 'f', content: Buffer.alloc(1000, 1) }]);
      expect(parseError(tar.subarray(0, 900)).message).to.match(/test tar is truncated/);
      expect(parseError(tar.subarray(0, 512 + 1000 + 10)).message).to.match(/truncated/);
      expect(parseError(tar.subarray(0, 300)).message).to.match(/truncated/);
      expect(parse(tar.subarray(0, 1536)).length, 'a stream without an end-of-archive marker is fine').to.equal(1);
    });

    it('a bad checksum, an unknown format, a size that is not a number', () => {
      expect(parseError(Buffer.concat([block({ name: 'x', checksum: 'bad' }), TAR_END])).message).to.match(/not a valid tar stream: .*bad checksum/);
      expect(parseError(Buffer.concat([block({ name: 'x', magic: 'none' }), TAR_END])).message).to.match(/unknown format/);
      expect(parseError(Buffer.alloc(2048, 0x41)).message).to.match(/not a valid tar stream/);
      const badSize = block({ name: 'x' });
      badSize.write('zzzzzzzzzzz\0', 124);
      badSize.fill(0x20, 148, 156); // a valid checksum over the corrupted size field
      let sum = 0;
      for (const b of badSize) sum += b;
      badSize.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
      expect(parseError(Buffer.concat([badSize, TAR_END])).message).to.match(/invalid size/);
    });

    it('extension headers over the limit, before reading their body', () => {
      const giant = block({ name: 'PaxHeader', typeflag: 'x', size: MAX_EXTENSION_BYTES + 1 });
      expect(parseError(giant).message).to.match(/exceeds max size/);
      const giantName = block({ name: '././@LongLink', typeflag: 'L', size: 2 ** 40 });
      expect(parseError(giantName).message).to.match(/exceeds max size/);
    });

    it('malformed PAX records and sizes', () => {
      const record = (body: string) => Buffer.concat([extension('x', Buffer.from(body)), block({ name: 'f' }), TAR_END]);
      expect(parseError(record('8 path=x\n')).message).to.match(/invalid PAX record/); // length off by one
      expect(parseError(record('abc path=x\n')).message).to.match(/invalid PAX record/);
      expect(parseError(record('11 pathxyz\n')).message).to.match(/invalid PAX record/);
      expect(parseError(record('12 size=-10\n')).message).to.match(/invalid PAX size/);
      expect(parsePaxRecords(Buffer.concat([Buffer.from('10 path=x\n'), Buffer.alloc(20)])).get('path')?.toString(), 'NUL padding after the records').to.equal('x');
    });
  });
});
