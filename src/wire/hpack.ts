/**
 * HPACK (RFC 7541), the header compression of HTTP/2: a complete decoder
 * (static and dynamic tables, size updates, Huffman strings) and a minimal
 * encoder that never touches the peer's dynamic table (literals without
 * indexing, raw strings), which is all a client sending a few small headers
 * needs. Names and values are latin1 strings: one character per octet, as
 * the table's size accounting counts octets.
 */
import { huffmanDecode, HuffmanError } from './hpack-huffman.js';

/** One header field: name (lower case) and value. */
export type HeaderField = readonly [name: string, value: string];

/** A malformed header block: the connection must fail with COMPRESSION_ERROR. */
export class HpackError extends Error {}

/** RFC 7541 Appendix A: indexes 1..61. */
const STATIC_TABLE: readonly HeaderField[] = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/** Each entry's size counts 32 octets of overhead besides name and value (RFC 7541 section 4.1). */
const ENTRY_OVERHEAD = 32;

/** Decodes the header blocks of one connection, in the order they arrive (they share the dynamic table). */
export class HpackDecoder {
  /** Newest first: dynamic index 62 is entries[0]. */
  private readonly entries: HeaderField[] = [];
  private size = 0;
  private maxSize: number;

  /** `limit` is our SETTINGS_HEADER_TABLE_SIZE: the largest table the peer's encoder may ask for. */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /** The dynamic table, newest first, and its size in octets (for tests). */
  get table(): { entries: readonly HeaderField[]; size: number; maxSize: number } {
    return { entries: this.entries, size: this.size, maxSize: this.maxSize };
  }

  /** One complete header block (HEADERS plus any CONTINUATIONs) to its fields. */
  decode(block: Uint8Array): HeaderField[] {
    const r = new Reader(block);
    const fields: HeaderField[] = [];
    let sizeUpdateAllowed = true;
    while (!r.done()) {
      const b = r.peek();
      if (b & 0x80) {
        fields.push(this.lookup(r.integer(7)));
      } else if (b & 0x40) {
        const field = this.literal(r, 6);
        this.add(field);
        fields.push(field);
      } else if (b & 0x20) {
        // Only at the start of a block (RFC 7541 section 4.2).
        if (!sizeUpdateAllowed) throw new HpackError('dynamic table size update after a header field');
        const size = r.integer(5);
        if (size > this.limit) throw new HpackError(`dynamic table size update to ${size} exceeds ${this.limit}`);
        this.maxSize = size;
        this.evict(0);
        continue;
      } else {
        // Without indexing (0000) or never indexed (0001): the same for a decoder.
        fields.push(this.literal(r, 4));
      }
      sizeUpdateAllowed = false;
    }
    return fields;
  }

  private lookup(index: number): HeaderField {
    if (index === 0) throw new HpackError('header index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
    const entry = this.entries[index - STATIC_TABLE.length - 1];
    if (!entry) throw new HpackError(`header index ${index} is beyond the dynamic table`);
    return entry;
  }

  /** A literal field whose name is an index (non-zero) or a string. */
  private literal(r: Reader, prefix: number): HeaderField {
    const index = r.integer(prefix);
    const name = index === 0 ? r.string() : this.lookup(index)[0];
    return [name, r.string()];
  }

  private add(field: HeaderField): void {
    const size = field[0].length + field[1].length + ENTRY_OVERHEAD;
    // An entry larger than the table empties it and is not added (RFC 7541 section 4.4).
    this.evict(size);
    if (size > this.maxSize) return;
    this.entries.unshift(field);
    this.size += size;
  }

  /** Drops the oldest entries until `room` more octets fit. */
  private evict(room: number): void {
    while (this.entries.length && this.size + room > this.maxSize) {
      const old = this.entries.pop()!;
      this.size -= old[0].length + old[1].length + ENTRY_OVERHEAD;
    }
  }
}

/** Reads HPACK's primitives from a header block. */
class Reader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  done(): boolean {
    return this.pos >= this.buf.length;
  }

  peek(): number {
    return this.buf[this.pos]!;
  }

  private byte(): number {
    if (this.pos >= this.buf.length) throw new HpackError('header block ends inside a field');
    return this.buf[this.pos++]!;
  }

  /** An integer with an N-bit prefix (RFC 7541 section 5.1). */
  integer(prefix: number): number {
    const max = (1 << prefix) - 1;
    let value = this.byte() & max;
    if (value < max) return value;
    for (let shift = 0; ; shift += 7) {
      // Nothing in a header block needs more than 32 bits.
      if (shift > 28) throw new HpackError('header integer too large');
      const b = this.byte();
      value += (b & 0x7f) * 2 ** shift;
      if (!(b & 0x80)) return value;
    }
  }

  /** A string literal, Huffman-coded or raw (RFC 7541 section 5.2). */
  string(): string {
    const huffman = (this.peek() & 0x80) !== 0;
    const length = this.integer(7);
    if (this.pos + length > this.buf.length) throw new HpackError('header block ends inside a string');
    const raw = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    if (!huffman) return Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('latin1');
    try {
      return huffmanDecode(raw).toString('latin1');
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
  }
}

/** The first static index of each name, for literals with an indexed name. */
const STATIC_NAME_INDEX = new Map<string, number>();
STATIC_TABLE.forEach(([name], i) => {
  if (!STATIC_NAME_INDEX.has(name)) STATIC_NAME_INDEX.set(name, i + 1);
});

/**
 * Encodes header blocks without ever adding to the peer's dynamic table, so
 * our side keeps no table state. A peer's new SETTINGS_HEADER_TABLE_SIZE
 * still has to be answered by a size update at the start of the next block
 * (RFC 7541 section 4.2): we announce 0, which every limit allows.
 */
export class HpackEncoder {
  private sizeUpdatePending = false;

  /** The peer sent SETTINGS_HEADER_TABLE_SIZE. */
  peerTableSizeChanged(): void {
    this.sizeUpdatePending = true;
  }

  encode(fields: readonly HeaderField[]): Buffer {
    const parts: number[] = [];
    if (this.sizeUpdatePending) {
      writeInteger(parts, 0x20, 5, 0);
      this.sizeUpdatePending = false;
    }
    for (const [name, value] of fields) {
      const index = STATIC_NAME_INDEX.get(name);
      // Literal without indexing (0000xxxx): an indexed name, or 0 then the name.
      writeInteger(parts, 0x00, 4, index ?? 0);
      if (index === undefined) writeString(parts, name);
      writeString(parts, value);
    }
    return Buffer.from(parts);
  }
}

/** An integer with an N-bit prefix after the representation's high bits. */
export function writeInteger(out: number[], high: number, prefix: number, value: number): void {
  const max = (1 << prefix) - 1;
  if (value < max) {
    out.push(high | value);
    return;
  }
  out.push(high | max);
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
}

/** A raw (not Huffman-coded) string literal. */
function writeString(out: number[], s: string): void {
  writeInteger(out, 0x00, 7, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i) & 0xff);
}
