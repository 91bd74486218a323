/**
 * A synchronous, incremental tar parser: push the stream's chunks in, pull
 * events out (an entry's header, pieces of its data as views of the pushed
 * chunks, its end). No streams, promises or copies per entry, so the layer
 * applier's worker can parse tens of thousands of small entries cheaply;
 * async consumers (the archive importer) wrap it (tar-entries.ts).
 *
 * Extensions are applied to the entry they precede: PAX headers (`path`,
 * `linkpath`, `size`; every record is passed on in `pax`) and GNU long
 * names and links; PAX global headers are skipped, as containerd does. An
 * extension body over 4 MiB, a bad checksum, an unknown format, a size that
 * is not a number and input that ends inside an entry are InvalidArgument.
 */
import { invalidArgument, isRuntimeError } from '../errors.js';
import { BLOCK, dataSize, decodeHeaderBlock, decodeLongName, padding, parsePaxRecords, type TarHeader } from './tar-header.js';

/** Largest PAX or GNU long-name body accepted (tar-stream's limit). */
export const MAX_EXTENSION_BYTES = 4 * 1024 * 1024;

/** What the parser found next: an entry, a piece of its data (a view: use it before the next push), or the end of its data. */
export type TarEvent = { kind: 'entry'; header: TarHeader } | { kind: 'data'; bytes: Buffer } | { kind: 'end' };

const END: TarEvent = { kind: 'end' };
const NO_PAX: ReadonlyMap<string, Buffer> = new Map();

/** An extension header being read: its kind and the body so far. */
interface Extension {
  kind: 'pax' | 'pax-global' | 'gnu-long-name' | 'gnu-long-link';
  parts: Buffer[];
}

/** Where the parser is: reading a header block, an extension's body, an entry's data, or bytes to skip (padding). */
const State = { Header: 0, Extension: 1, Data: 2, Skip: 3 } as const;
type State = (typeof State)[keyof typeof State];

/** See the file comment. Use: push(chunk), then next() until it returns undefined; end() after the last chunk. */
export class TarReader {
  private chunk: Buffer = Buffer.alloc(0);
  private pos = 0;
  private state: State = State.Header;
  /** Header bytes gathered across chunks. */
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  /** Data bytes (Data) or bytes to skip (Skip, Extension) still to come. */
  private remaining = 0;
  /** Padding after the current entry's data or extension body. */
  private pad = 0;
  private extension: Extension | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Map<string, Buffer> | undefined;

  /** `what` names the stream in errors ('layer', 'image archive'). */
  constructor(private readonly what = 'tar stream') {}

  /** Hands over the next chunk; the previous one must be used up (next() returned undefined). */
  push(chunk: Buffer): void {
    this.chunk = chunk;
    this.pos = 0;
  }

  /** The next event, or undefined when more input is needed. */
  next(): TarEvent | undefined {
    try {
      return this.step();
    } catch (err) {
      throw isRuntimeError(err) ? invalidArgument(`${this.what} is not a valid tar stream: ${err.message}`, { cause: err }) : err;
    }
  }

  /** Call after the last chunk: InvalidArgument if the input stopped inside an entry. */
  end(): void {
    if (this.state !== State.Header || this.blockFill !== 0) throw invalidArgument(`${this.what} is truncated: unexpected end of data`);
  }

  private step(): TarEvent | undefined {
    for (;;) {
      const available = this.chunk.length - this.pos;
      switch (this.state) {
        case State.Data: {
          if (this.remaining === 0) {
            this.enterSkip(this.pad);
            return END;
          }
          if (available === 0) return undefined;
          const n = Math.min(available, this.remaining);
          const bytes = this.chunk.subarray(this.pos, this.pos + n);
          this.pos += n;
          this.remaining -= n;
          return { kind: 'data', bytes };
        }
        case State.Skip: {
          const n = Math.min(available, this.remaining);
          this.pos += n;
          this.remaining -= n;
          if (this.remaining > 0) return undefined;
          this.state = State.Header;
          break;
        }
        case State.Extension: {
          const ext = this.extension as Extension;
          const n = Math.min(available, this.remaining);
          if (n > 0) ext.parts.push(Buffer.from(this.chunk.subarray(this.pos, this.pos + n)));
          this.pos += n;
          this.remaining -= n;
          if (this.remaining > 0) return undefined;
          this.applyExtension(ext.kind, Buffer.concat(ext.parts));
          this.extension = undefined;
          this.enterSkip(this.pad);
          break;
        }
        case State.Header: {
          let block: Buffer;
          let at: number;
          if (this.blockFill === 0 && available >= BLOCK) {
            block = this.chunk;
            at = this.pos;
            this.pos += BLOCK;
          } else {
            const n = Math.min(available, BLOCK - this.blockFill);
            this.chunk.copy(this.block, this.blockFill, this.pos, this.pos + n);
            this.pos += n;
            this.blockFill += n;
            if (this.blockFill < BLOCK) return undefined;
            this.blockFill = 0;
            block = this.block;
            at = 0;
          }
          const entry = this.header(block, at);
          if (entry !== undefined) return entry;
          break;
        }
      }
    }
  }

  /** Handles one header block: an entry event, or undefined for zero blocks and extensions. */
  private header(block: Buffer, at: number): TarEvent | undefined {
    const h = decodeHeaderBlock(block, at);
    if (h === undefined) return undefined;
    if (!Number.isSafeInteger(h.size)) throw invalidArgument(`invalid size field in the header of ${JSON.stringify(h.name)}`);
    if (h.kind === 'pax' || h.kind === 'pax-global' || h.kind === 'gnu-long-name' || h.kind === 'gnu-long-link') {
      if (h.size > MAX_EXTENSION_BYTES) throw invalidArgument(`a ${h.kind} header of ${h.size} bytes exceeds max size (${MAX_EXTENSION_BYTES} bytes)`);
      this.extension = { kind: h.kind, parts: [] };
      this.state = State.Extension;
      this.remaining = h.size;
      this.pad = padding(h.size);
      return undefined;
    }
    const pax = this.pax ?? NO_PAX;
    let name = this.longName ?? h.name;
    let linkname = this.longLink ?? h.linkname;
    let size = h.size;
    const paxPath = pax.get('path');
    if (paxPath !== undefined) name = paxPath.toString('utf8');
    const paxLink = pax.get('linkpath');
    if (paxLink !== undefined) linkname = paxLink.toString('utf8');
    const paxSize = pax.get('size');
    if (paxSize !== undefined) {
      const text = paxSize.toString('latin1');
      size = /^[0-9]{1,16}$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
      if (!Number.isSafeInteger(size)) throw invalidArgument(`invalid PAX size ${JSON.stringify(text)} for ${JSON.stringify(name)}`);
    }
    this.pax = undefined;
    this.longName = undefined;
    this.longLink = undefined;
    // An old-style regular file whose name ends in '/' is a directory (tar-stream and Go agree).
    const kind = h.kind === 'file' && name.endsWith('/') ? 'directory' : h.kind;
    const header: TarHeader = {
      name,
      type: kind === 'unknown' ? null : kind,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      size,
      mtime: h.mtime,
      linkname,
      devmajor: h.devmajor,
      devminor: h.devminor,
      pax,
    };
    const data = dataSize(kind, size);
    this.state = State.Data;
    this.remaining = data;
    this.pad = padding(data);
    return { kind: 'entry', header };
  }

  private applyExtension(kind: Extension['kind'], data: Buffer): void {
    if (kind === 'pax') this.pax = parsePaxRecords(data);
    else if (kind === 'gnu-long-name') this.longName = decodeLongName(data);
    else if (kind === 'gnu-long-link') this.longLink = decodeLongName(data);
    else parsePaxRecords(data); // global: checked, not applied
  }

  private enterSkip(n: number): void {
    this.state = n > 0 ? State.Skip : State.Header;
    this.remaining = n;
  }
}
