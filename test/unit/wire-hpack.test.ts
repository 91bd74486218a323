import { expect } from 'chai';
import { huffmanCodes, huffmanDecode, HuffmanError } from '../../src/wire/hpack-huffman.js';
import { HpackDecoder, HpackEncoder, HpackError, writeInteger, type HeaderField } from '../../src/wire/hpack.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** RFC 7541's examples (Appendices B and C) are the reference here; nghttp2's output is in wire-h2.test.ts. */
describe('wire/hpack', () => {
  describe('integers (RFC 7541 C.1)', () => {
    const enc = (high: number, prefix: number, v: number) => {
      const out: number[] = [];
      writeInteger(out, high, prefix, v);
      return Buffer.from(out).toString('hex');
    };

    it('encodes 10 and 1337 on a 5-bit prefix and 42 on 8 bits', () => {
      expect(enc(0, 5, 10)).to.equal('0a');
      expect(enc(0, 5, 1337)).to.equal('1f9a0a');
      expect(enc(0, 8, 42)).to.equal('2a');
      expect(enc(0x80, 7, 127)).to.equal('ff00');
    });

    it('decodes a multi-octet index and rejects one that never ends or is too large', () => {
      const d = new HpackDecoder();
      // Literal without indexing, new name, value of 200 octets (length on 2 more octets).
      const value = 'v'.repeat(200);
      const out: number[] = [0x00, 0x01, 0x61];
      writeInteger(out, 0, 7, 200);
      const block = Buffer.concat([Buffer.from(out), Buffer.from(value)]);
      expect(d.decode(block)).to.deep.equal([['a', value]]);
      expect(() => d.decode(hex('ff ff'))).to.throw(HpackError, /ends inside/);
      expect(() => d.decode(hex('ff ff ff ff ff ff 7f'))).to.throw(HpackError, /too large/);
    });
  });

  describe('Huffman code (RFC 7541 Appendix B)', () => {
    const codes = huffmanCodes();

    it('rebuilds the RFC\'s codes from the lengths: it is canonical', () => {
      // Every symbol nghttp2 cannot send in a header value (controls, DEL), and a few of each other length.
      const rfc: Record<number, [string, number]> = {
        0: ['1ff8', 13], 1: ['7fffd8', 23], 2: ['fffffe2', 28], 3: ['fffffe3', 28], 4: ['fffffe4', 28], 5: ['fffffe5', 28],
        6: ['fffffe6', 28], 7: ['fffffe7', 28], 8: ['fffffe8', 28], 9: ['ffffea', 24], 10: ['3ffffffc', 30], 11: ['fffffe9', 28],
        12: ['fffffea', 28], 13: ['3ffffffd', 30], 14: ['fffffeb', 28], 15: ['fffffec', 28], 16: ['fffffed', 28], 17: ['fffffee', 28],
        18: ['fffffef', 28], 19: ['ffffff0', 28], 20: ['ffffff1', 28], 21: ['ffffff2', 28], 22: ['3ffffffe', 30], 23: ['ffffff3', 28],
        24: ['ffffff4', 28], 25: ['ffffff5', 28], 26: ['ffffff6', 28], 27: ['ffffff7', 28], 28: ['ffffff8', 28], 29: ['ffffff9', 28],
        30: ['ffffffa', 28], 31: ['ffffffb', 28], 127: ['ffffffc', 28],
        32: ['14', 6], 48: ['0', 5], 116: ['9', 5], 58: ['5c', 7], 38: ['f8', 8], 63: ['3fc', 10], 39: ['7fa', 11], 62: ['ffb', 12],
        126: ['1ffd', 13], 125: ['3ffd', 14], 123: ['7ffe', 15], 92: ['7fff0', 19], 128: ['fffe6', 20], 153: ['1fffdc', 21],
        129: ['3fffd2', 22], 135: ['7fffd9', 23], 142: ['ffffeb', 24], 199: ['1ffffec', 25], 192: ['3ffffe0', 26],
        203: ['7ffffde', 27], 220: ['ffffffd', 28], 249: ['ffffffe', 28], 255: ['3ffffee', 26], 256: ['3fffffff', 30],
      };
      for (const [sym, [code, length]] of Object.entries(rfc)) {
        expect({ sym: Number(sym), code: codes[Number(sym)]!.code.toString(16), length: codes[Number(sym)]!.length }).to.deep.equal({ sym: Number(sym), code, length });
      }
    });

    it('is a complete prefix code: the lengths fill the code space exactly', () => {
      expect(codes).to.have.length(257);
      expect(codes.reduce((sum, c) => sum + 2 ** -c.length, 0)).to.equal(1);
    });

    it('decodes the RFC\'s examples', () => {
      const cases: [string, string][] = [
        ['f1e3 c2e5 f23a 6ba0 ab90 f4ff', 'www.example.com'],
        ['a8eb 1064 9cbf', 'no-cache'],
        ['25a8 49e9 5ba9 7d7f', 'custom-key'],
        ['25a8 49e9 5bb8 e8b4 bf', 'custom-value'],
        ['6402', '302'],
        ['aec3 771a 4b', 'private'],
        ['d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff', 'Mon, 21 Oct 2013 20:13:21 GMT'],
        ['9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3', 'https://www.example.com'],
        ['94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
          'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
        ['', ''],
      ];
      for (const [coded, text] of cases) expect(huffmanDecode(hex(coded)).toString('latin1')).to.equal(text);
    });

    it('decodes every symbol, from a bit string built with the rebuilt codes', () => {
      let bits = '';
      for (let sym = 0; sym < 256; sym++) bits += codes[sym]!.code.toString(2).padStart(codes[sym]!.length, '0');
      bits += '1'.repeat((8 - (bits.length % 8)) % 8);
      const bytes = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
      expect([...huffmanDecode(bytes)]).to.deep.equal([...Array(256).keys()]);
    });

    it('rejects padding that is too long or not all ones, and EOS', () => {
      expect(() => huffmanDecode(hex('f1e3 c2e5 f23a 6ba0 ab90 f4ff ff'))).to.throw(HuffmanError, /longer than 7/);
      expect(huffmanDecode(hex('1f')).toString()).to.equal('a'); // 00011 'a', then 111
      expect(() => huffmanDecode(hex('00'))).to.throw(HuffmanError, /not all ones/); // '0' then 000
      expect(() => huffmanDecode(hex('ff ff ff fc'))).to.throw(HuffmanError, /EOS/); // 30 ones, then 00
    });
  });

  describe('decoder (RFC 7541 C.2 to C.6)', () => {
    it('decodes the four single representations (C.2)', () => {
      const d = new HpackDecoder();
      expect(d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'))).to.deep.equal([['custom-key', 'custom-header']]);
      expect(d.table.size).to.equal(55);
      expect(new HpackDecoder().decode(hex('040c 2f73 616d 706c 652f 7061 7468'))).to.deep.equal([[':path', '/sample/path']]);
      const never = new HpackDecoder();
      expect(never.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'))).to.deep.equal([['password', 'secret']]);
      expect(never.table.entries).to.deep.equal([]);
      expect(new HpackDecoder().decode(hex('82'))).to.deep.equal([[':method', 'GET']]);
    });

    it('keeps the dynamic table across the blocks of a connection (C.3, raw strings)', () => {
      const d = new HpackDecoder();
      const base: HeaderField[] = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
      expect(d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'))).to.deep.equal(base);
      expect(d.table.size).to.equal(57);
      expect(d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'))).to.deep.equal([...base, ['cache-control', 'no-cache']]);
      expect(d.table.size).to.equal(110);
      expect(d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'))).to.deep.equal([
        [':method', 'GET'], [':scheme', 'https'], [':path', '/index.html'], [':authority', 'www.example.com'], ['custom-key', 'custom-value'],
      ]);
      expect(d.table.entries).to.deep.equal([['custom-key', 'custom-value'], ['cache-control', 'no-cache'], [':authority', 'www.example.com']]);
      expect(d.table.size).to.equal(164);
    });

    it('evicts the oldest entries from a 256-octet table (C.6, Huffman strings)', () => {
      const d = new HpackDecoder(256);
      const first = d.decode(hex(`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
        2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`));
      expect(first).to.deep.equal([[':status', '302'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
      expect(d.table.size).to.equal(222);
      const second = d.decode(hex('4883 640e ffc1 c0bf'));
      expect(second).to.deep.equal([[':status', '307'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'], ['location', 'https://www.example.com']]);
      expect(d.table.entries.map(([n, v]) => `${n}: ${v}`)).to.deep.equal([':status: 307', 'location: https://www.example.com', 'date: Mon, 21 Oct 2013 20:13:21 GMT', 'cache-control: private']);
      const third = d.decode(hex(`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
        77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07`));
      expect(third).to.deep.equal([
        [':status', '200'], ['cache-control', 'private'], ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'], ['location', 'https://www.example.com'],
        ['content-encoding', 'gzip'], ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
      ]);
      expect(d.table.entries.map(([n]) => n)).to.deep.equal(['set-cookie', 'content-encoding', 'date']);
      expect(d.table.size).to.equal(215);
    });

    it('applies size updates at the start of a block only, within our limit', () => {
      const d = new HpackDecoder();
      d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
      expect(d.decode(hex('20'))).to.deep.equal([]); // to 0: empties the table
      expect(d.table).to.deep.include({ size: 0, maxSize: 0 });
      expect(() => d.decode(hex('be'))).to.throw(HpackError, /beyond the dynamic table/);
      // Two updates in a row (3000 then 100), then a field that is added to the smaller table.
      const up = (n: number) => { const o: number[] = []; writeInteger(o, 0x20, 5, n); return Buffer.from(o); };
      d.decode(Buffer.concat([up(3000), up(100), hex('4001 61 01 62')]));
      expect(d.table).to.deep.equal({ entries: [['a', 'b']], size: 34, maxSize: 100 });
      expect(() => d.decode(Buffer.concat([hex('82'), up(10)]))).to.throw(HpackError, /after a header field/);
      expect(() => d.decode(up(4097))).to.throw(HpackError, /exceeds 4096/);
      expect(() => d.decode(hex('80'))).to.throw(HpackError, /index 0/);
    });

    it('empties the table for an entry larger than it, without adding it', () => {
      const d = new HpackDecoder(100);
      d.decode(hex('4001 61 01 62'));
      const big = Buffer.concat([hex('4001 61 7f 21'), Buffer.alloc(160, 0x78)]);
      expect(d.decode(big)).to.deep.equal([['a', 'x'.repeat(160)]]);
      expect(d.table).to.deep.include({ size: 0 });
      expect(d.table.entries).to.deep.equal([]);
    });
  });

  describe('encoder', () => {
    it('writes literals without indexing that any decoder reads back, raw strings, a size update when asked', () => {
      const e = new HpackEncoder();
      const fields: HeaderField[] = [[':method', 'POST'], [':path', '/a.b/C'], ['content-type', 'application/grpc'], ['te', 'trailers'], ['x-long', 'é'.repeat(300)]];
      const d = new HpackDecoder();
      expect(d.decode(e.encode(fields))).to.deep.equal(fields);
      expect(d.table.entries).to.deep.equal([]);
      e.peerTableSizeChanged();
      const block = e.encode([['a', 'b']]);
      expect(block[0]).to.equal(0x20);
      expect(d.decode(block)).to.deep.equal([['a', 'b']]);
      expect(e.encode([['a', 'b']])[0]).to.equal(0x00);
    });
  });
});
