/**
 * Recovers PAX `SCHILY.xattr.*` values as raw bytes. tar-stream decodes PAX
 * values as UTF-8, which corrupts binary xattrs such as security.capability;
 * this pass-through follows the tar framing exactly as tar-stream 3 does
 * (same entry boundaries, same PAX size override, same "directory has no
 * data" rule) and queues each entry's raw xattrs, one queue item per entry
 * tar-stream will emit, in order.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Raw xattrs of one entry, by xattr name (without the SCHILY.xattr. prefix). */
export type RawXattrs = Map<string, Buffer>;

const BLOCK = 512;
const XATTR_PREFIX = 'SCHILY.xattr.';
// typeflag - '0', as tar-stream computes it
const TYPE_GNU_LONG_LINK = 27;
const TYPE_GNU_LONG_PATH = 28;
const TYPE_GNU_LONG_PATH_OLD = 30;
const TYPE_PAX_GLOBAL = 55;
const TYPE_PAX = 72;
const TYPE_DIRECTORY = 5;

type State = { mode: 'header'; filled: number } | { mode: 'pax'; remaining: number; chunks: Buffer[]; padding: number } | { mode: 'skip'; remaining: number };

/** Pass-through that records raw PAX xattrs per tar entry. */
export class PaxXattrTap extends Transform {
  private readonly header = Buffer.alloc(BLOCK);
  private state: State = { mode: 'header', filled: 0 };
  private pendingXattrs: RawXattrs | undefined;
  private pendingSize: number | undefined;
  private readonly queue: RawXattrs[] = [];
  private broken = false;

  /** Raw xattrs of the next entry, or undefined if framing was lost (then callers use tar-stream's values). */
  next(): RawXattrs | undefined {
    if (this.broken) return undefined;
    return this.queue.shift();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.broken) {
      try {
        this.consume(chunk);
      } catch {
        this.broken = true;
      }
    }
    callback(null, chunk);
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const s = this.state;
      if (s.mode === 'skip') {
        const n = Math.min(s.remaining, chunk.length - pos);
        s.remaining -= n;
        pos += n;
        if (s.remaining === 0) this.state = { mode: 'header', filled: 0 };
      } else if (s.mode === 'pax') {
        const n = Math.min(s.remaining, chunk.length - pos);
        s.chunks.push(chunk.subarray(pos, pos + n));
        s.remaining -= n;
        pos += n;
        if (s.remaining === 0) {
          this.readPax(Buffer.concat(s.chunks));
          this.state = s.padding > 0 ? { mode: 'skip', remaining: s.padding } : { mode: 'header', filled: 0 };
        }
      } else {
        const n = Math.min(BLOCK - s.filled, chunk.length - pos);
        chunk.copy(this.header, s.filled, pos, pos + n);
        s.filled += n;
        pos += n;
        if (s.filled === BLOCK) this.onHeader();
      }
    }
  }

  private onHeader(): void {
    const h = this.header;
    this.state = { mode: 'header', filled: 0 };
    if (h.every((b) => b === 0)) return;
    const typeflag = h[156] === 0 ? 0 : (h[156] as number) - 48;
    const size = parseSize(h.subarray(124, 136));
    if (size === undefined) throw new Error('bad size');
    if (typeflag === TYPE_PAX) {
      this.state = { mode: 'pax', remaining: size, chunks: [], padding: padding(size) };
      if (size === 0) this.state = { mode: 'header', filled: 0 };
      return;
    }
    if (typeflag === TYPE_PAX_GLOBAL || typeflag === TYPE_GNU_LONG_LINK || typeflag === TYPE_GNU_LONG_PATH || typeflag === TYPE_GNU_LONG_PATH_OLD) {
      this.skip(size + padding(size));
      return;
    }
    const nameEnd = h.indexOf(0);
    const nameField = h.subarray(0, nameEnd === -1 || nameEnd > 100 ? 100 : nameEnd);
    const isDir = typeflag === TYPE_DIRECTORY || (typeflag === 0 && nameField.length > 0 && nameField[nameField.length - 1] === 0x2f);
    const dataSize = this.pendingSize ?? size;
    this.queue.push(this.pendingXattrs ?? new Map());
    this.pendingXattrs = undefined;
    this.pendingSize = undefined;
    if (!isDir && dataSize > 0) this.skip(dataSize + padding(dataSize));
  }

  private skip(n: number): void {
    this.state = n > 0 ? { mode: 'skip', remaining: n } : { mode: 'header', filled: 0 };
  }

  private readPax(buf: Buffer): void {
    const xattrs: RawXattrs = new Map();
    this.pendingSize = undefined;
    let rest = buf;
    while (rest.length > 0) {
      const space = rest.indexOf(0x20);
      if (space <= 0) break;
      const len = Number.parseInt(rest.subarray(0, space).toString('latin1'), 10);
      if (!Number.isSafeInteger(len) || len <= space + 1 || len > rest.length) break;
      const record = rest.subarray(space + 1, len - 1);
      const eq = record.indexOf(0x3d);
      if (eq !== -1) {
        const key = record.subarray(0, eq).toString('utf8');
        const value = record.subarray(eq + 1);
        if (key.startsWith(XATTR_PREFIX)) xattrs.set(key.slice(XATTR_PREFIX.length), Buffer.from(value));
        if (key === 'size') {
          const n = Number.parseInt(value.toString('latin1'), 10);
          this.pendingSize = Number.isNaN(n) ? undefined : n;
        }
      }
      rest = rest.subarray(len);
    }
    this.pendingXattrs = xattrs;
  }
}

function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}

/** Octal or base-256 size field, as tar-stream decodes it. */
function parseSize(field: Buffer): number | undefined {
  if ((field[0] as number) & 0x80) {
    if (field[0] !== 0x80) return undefined;
    let sum = 0;
    for (let i = 1; i < field.length; i++) sum = sum * 256 + (field[i] as number);
    return sum;
  }
  const text = field.toString('latin1').replace(/^[ \0]+/, '').split(/[ \0]/)[0] ?? '';
  if (text === '') return 0;
  const n = Number.parseInt(text, 8);
  return Number.isNaN(n) ? undefined : n;
}
