/**
 * A small protobuf codec driven by the compiled descriptor JSON that the
 * build writes (dist/proto-api.json, protobufjs's JSON form). The CLI uses it
 * instead of protobufjs + proto-loader, whose loading cost the CLI about
 * 90 ms per command. Objects follow proto-loader's conventions exactly
 * (keepCase, longs as decimal strings, enums as names, defaults filled in,
 * oneofs named), so code written against the grpc-js client reads the same.
 */

/** A descriptor node as protobufjs writes it to JSON. */
export interface JsonNode {
  nested?: Record<string, JsonNode>;
  fields?: Record<string, JsonField>;
  oneofs?: Record<string, { oneof: string[] }>;
  values?: Record<string, number>;
  methods?: Record<string, JsonMethod>;
}
interface JsonField {
  type: string;
  id: number;
  rule?: string;
  keyType?: string;
  options?: { packed?: boolean };
}
export interface JsonMethod {
  requestType: string;
  responseType: string;
  requestStream?: boolean;
  responseStream?: boolean;
}

export interface Field {
  name: string;
  id: number;
  type: string;
  repeated: boolean;
  keyType: string | undefined;
  packed: boolean;
  oneof: string | undefined;
  /** The message or enum type of the field, resolved on first use. */
  ref?: MessageType | EnumType;
}

export interface EnumType {
  kind: 'enum';
  fullName: string;
  byName: Record<string, number>;
  byNumber: Map<number, string>;
}

export interface MessageType {
  kind: 'message';
  fullName: string;
  fields: Field[];
  byId: Map<number, Field>;
}

export interface MethodInfo {
  path: string;
  request: MessageType;
  response: MessageType;
  requestStream: boolean;
  responseStream: boolean;
}

type Decoded = Record<string, unknown>;

const LONG = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const VARINT = new Set(['int32', 'uint32', 'sint32', 'bool', 'int64', 'uint64', 'sint64']);
const FIXED32 = new Set(['fixed32', 'sfixed32', 'float']);
const FIXED64 = new Set(['fixed64', 'sfixed64', 'double']);
const SCALARS = new Set([...VARINT, ...FIXED32, ...FIXED64, 'string', 'bytes']);

/** All message, enum and service types of one descriptor, by full name. */
export class Schema {
  private readonly nodes = new Map<string, { node: JsonNode; scope: string }>();
  private readonly types = new Map<string, MessageType | EnumType>();

  constructor(root: JsonNode) {
    const walk = (node: JsonNode, scope: string) => {
      for (const [name, child] of Object.entries(node.nested ?? {})) {
        const full = scope ? `${scope}.${name}` : name;
        this.nodes.set(full, { node: child, scope });
        walk(child, full);
      }
    };
    walk(root, '');
  }

  has(fullName: string): boolean {
    const n = this.nodes.get(fullName)?.node;
    return !!n && (n.fields !== undefined || n.values !== undefined);
  }

  message(fullName: string): MessageType {
    const t = this.type(fullName);
    if (t.kind !== 'message') throw new TypeError(`${fullName} is an enum, not a message`);
    return t;
  }

  /** The method `Service/Method` of a service given by full name. */
  method(service: string, method: string): MethodInfo {
    const s = this.nodes.get(service);
    const m = s?.node.methods?.[method];
    if (!s || !m) throw new TypeError(`no method ${service}/${method} in the descriptor`);
    return {
      path: `/${service}/${method}`,
      request: this.message(this.resolve(m.requestType, service)),
      response: this.message(this.resolve(m.responseType, service)),
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
    };
  }

  encode(fullName: string, value: object): Buffer {
    const w = new Writer();
    this.writeMessage(w, this.message(fullName), value as Record<string, unknown>);
    return w.finish();
  }

  decode(fullName: string, buf: Uint8Array): Decoded {
    return this.readMessage(this.message(fullName), buf);
  }

  // ----------------------------------------------------------------- types

  private type(fullName: string): MessageType | EnumType {
    const cached = this.types.get(fullName);
    if (cached) return cached;
    const entry = this.nodes.get(fullName);
    if (!entry) throw new TypeError(`no type ${fullName} in the descriptor`);
    const { node } = entry;
    let t: MessageType | EnumType;
    if (node.values) {
      t = { kind: 'enum', fullName, byName: node.values, byNumber: new Map(Object.entries(node.values).map(([k, v]) => [v, k])) };
    } else if (node.fields) {
      const oneofOf = new Map<string, string>();
      for (const [name, o] of Object.entries(node.oneofs ?? {})) for (const f of o.oneof) oneofOf.set(f, name);
      const fields = Object.entries(node.fields)
        .map(([name, f]): Field => ({
          name, id: f.id, type: f.type, repeated: f.rule === 'repeated', keyType: f.keyType,
          packed: f.rule === 'repeated' && f.options?.packed !== false && (VARINT.has(f.type) || FIXED32.has(f.type) || FIXED64.has(f.type) || !SCALARS.has(f.type)),
          oneof: oneofOf.get(name),
        }))
        .sort((a, b) => a.id - b.id);
      t = { kind: 'message', fullName, fields, byId: new Map(fields.map((f) => [f.id, f])) };
    } else {
      throw new TypeError(`${fullName} is not a message or enum`);
    }
    this.types.set(fullName, t);
    return t;
  }

  /** protobufjs's lookup: a name relative to `scope`, tried from the innermost namespace outwards. */
  private resolve(name: string, scope: string): string {
    if (name.startsWith('.')) return name.slice(1);
    const parts = scope ? scope.split('.') : [];
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), name].join('.');
      if (this.nodes.has(candidate)) return candidate;
    }
    throw new TypeError(`cannot resolve type ${name} from ${scope}`);
  }

  /** The message or enum type of a field (undefined for scalars). */
  fieldRef(msg: MessageType, f: Field): MessageType | EnumType | undefined {
    if (SCALARS.has(f.type)) return undefined;
    f.ref ??= this.type(this.resolve(f.type, msg.fullName));
    return f.ref;
  }

  // -------------------------------------------------------------- encoding

  private writeMessage(w: Writer, msg: MessageType, obj: Record<string, unknown>): void {
    for (const f of msg.fields) {
      const v = obj[f.name];
      if (v === undefined || v === null) continue;
      const ref = this.fieldRef(msg, f);
      if (f.keyType) {
        for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
          if (val === undefined || val === null) continue;
          w.tag(f.id, 2).fork();
          this.writeValue(w, 1, f.keyType, undefined, f.keyType === 'string' ? k : keyValue(f.keyType, k));
          this.writeValue(w, 2, f.type, ref, val);
          w.join();
        }
      } else if (f.repeated) {
        const list = v as unknown[];
        if (f.packed && (SCALARS.has(f.type) || ref?.kind === 'enum') && list.length > 0) {
          w.tag(f.id, 2).fork();
          for (const item of list) this.writeBare(w, f.type, ref, item);
          w.join();
        } else {
          for (const item of list) this.writeValue(w, f.id, f.type, ref, item);
        }
      } else {
        this.writeValue(w, f.id, f.type, ref, v);
      }
    }
  }

  private writeValue(w: Writer, id: number, type: string, ref: MessageType | EnumType | undefined, v: unknown): void {
    if (ref?.kind === 'message') {
      w.tag(id, 2).fork();
      this.writeMessage(w, ref, v as Record<string, unknown>);
      w.join();
      return;
    }
    w.tag(id, ref ? 0 : wireType(type));
    this.writeBare(w, type, ref, v);
  }

  private writeBare(w: Writer, type: string, ref: MessageType | EnumType | undefined, v: unknown): void {
    if (ref?.kind === 'enum') {
      const n = typeof v === 'number' ? v : ref.byName[String(v)];
      if (n === undefined) throw new TypeError(`${String(v)} is not a value of enum ${ref.fullName}`);
      w.varint(BigInt.asUintN(64, BigInt(n)));
      return;
    }
    switch (type) {
      case 'string': w.bytes(Buffer.from(String(v), 'utf8')); break;
      case 'bytes': w.bytes(typeof v === 'string' ? Buffer.from(v, 'base64') : Buffer.from(v as Uint8Array)); break;
      case 'bool': w.varint(v ? 1n : 0n); break;
      case 'int32': case 'int64': case 'uint32': case 'uint64':
        w.varint(BigInt.asUintN(64, toBigInt(v))); break;
      case 'sint32': case 'sint64': {
        const n = toBigInt(v);
        w.varint(BigInt.asUintN(64, (n << 1n) ^ (n < 0n ? -1n : 0n)));
        break;
      }
      case 'fixed32': w.fixed32(Number(v) >>> 0); break;
      case 'sfixed32': w.fixed32(Number(v) | 0); break;
      case 'float': w.float(Number(v)); break;
      case 'fixed64': case 'sfixed64': w.fixed64(BigInt.asUintN(64, toBigInt(v))); break;
      case 'double': w.double(Number(v)); break;
      default: throw new TypeError(`cannot encode field type ${type}`);
    }
  }

  // -------------------------------------------------------------- decoding

  private readMessage(msg: MessageType, buf: Uint8Array): Decoded {
    const out: Decoded = {};
    for (const f of msg.fields) {
      if (f.keyType) out[f.name] = {};
      else if (f.repeated) out[f.name] = [];
      else if (f.oneof) continue;
      else out[f.name] = this.defaultValue(msg, f);
    }
    const r = new Reader(buf);
    while (r.more()) {
      const key = Number(r.varint());
      const id = key >>> 3;
      const wt = key & 7;
      const f = msg.byId.get(id);
      if (!f) {
        r.skip(wt);
        continue;
      }
      const ref = this.fieldRef(msg, f);
      if (f.keyType) {
        const entry = new Reader(r.bytes());
        let k: unknown = this.defaultScalar(f.keyType);
        let v: unknown = ref?.kind === 'message' ? null : this.defaultValue(msg, f);
        while (entry.more()) {
          const ek = Number(entry.varint());
          if (ek >>> 3 === 1) k = this.readBare(entry, f.keyType, undefined);
          else if (ek >>> 3 === 2) v = this.readValue(entry, f.type, ref);
          else entry.skip(ek & 7);
        }
        (out[f.name] as Record<string, unknown>)[String(k)] = v;
      } else if (f.repeated) {
        const list = out[f.name] as unknown[];
        if (wt === 2 && (SCALARS.has(f.type) && f.type !== 'string' && f.type !== 'bytes' || ref?.kind === 'enum')) {
          const packed = new Reader(r.bytes());
          while (packed.more()) list.push(this.readBare(packed, f.type, ref));
        } else {
          list.push(this.readValue(r, f.type, ref));
        }
      } else {
        out[f.name] = this.readValue(r, f.type, ref);
        if (f.oneof) out[f.oneof] = f.name;
      }
    }
    return out;
  }

  private readValue(r: Reader, type: string, ref: MessageType | EnumType | undefined): unknown {
    if (ref?.kind === 'message') return this.readMessage(ref, r.bytes());
    return this.readBare(r, type, ref);
  }

  private readBare(r: Reader, type: string, ref: MessageType | EnumType | undefined): unknown {
    if (ref?.kind === 'enum') {
      const n = Number(BigInt.asIntN(32, r.varint()));
      return ref.byNumber.get(n) ?? n;
    }
    switch (type) {
      case 'string': return Buffer.from(r.bytes()).toString('utf8');
      case 'bytes': return Buffer.from(r.bytes());
      case 'bool': return r.varint() !== 0n;
      case 'int32': return Number(BigInt.asIntN(32, r.varint()));
      case 'uint32': return Number(BigInt.asUintN(32, r.varint()));
      case 'sint32': case 'sint64': {
        const n = r.varint();
        const v = (n >> 1n) ^ -(n & 1n);
        return type === 'sint32' ? Number(v) : v.toString();
      }
      case 'int64': return BigInt.asIntN(64, r.varint()).toString();
      case 'uint64': return r.varint().toString();
      case 'fixed32': return r.fixed32() >>> 0;
      case 'sfixed32': return r.fixed32() | 0;
      case 'float': return r.float();
      case 'fixed64': return r.fixed64().toString();
      case 'sfixed64': return BigInt.asIntN(64, r.fixed64()).toString();
      case 'double': return r.double();
      default: throw new TypeError(`cannot decode field type ${type}`);
    }
  }

  private defaultValue(msg: MessageType, f: Field): unknown {
    const ref = this.fieldRef(msg, f);
    if (ref?.kind === 'message') return null;
    if (ref?.kind === 'enum') return ref.byNumber.get(0) ?? Object.keys(ref.byName)[0] ?? 0;
    return this.defaultScalar(f.type);
  }

  private defaultScalar(type: string): unknown {
    if (type === 'string') return '';
    if (type === 'bytes') return Buffer.alloc(0);
    if (type === 'bool') return false;
    return LONG.has(type) ? '0' : 0;
  }
}

function wireType(type: string): number {
  if (VARINT.has(type)) return 0;
  if (FIXED64.has(type)) return 1;
  if (FIXED32.has(type)) return 5;
  return 2;
}

function toBigInt(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  if (typeof v === 'string') return BigInt(v === '' ? 0 : v);
  if (typeof v === 'boolean') return v ? 1n : 0n;
  throw new TypeError(`not an integer: ${String(v)}`);
}

function keyValue(keyType: string, k: string): unknown {
  return keyType === 'bool' ? k === 'true' : k;
}

/** Appends protobuf wire data; fork()/join() length-prefix a nested part. */
class Writer {
  private chunks: Buffer[] = [];
  private readonly stack: Buffer[][] = [];

  tag(id: number, wt: number): this {
    this.varint(BigInt((id << 3) | wt));
    return this;
  }

  varint(n: bigint): void {
    const bytes: number[] = [];
    let v = n;
    while (v > 0x7fn) {
      bytes.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    bytes.push(Number(v));
    this.chunks.push(Buffer.from(bytes));
  }

  bytes(b: Buffer): void {
    this.varint(BigInt(b.length));
    this.chunks.push(b);
  }

  fixed32(n: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(n >>> 0);
    this.chunks.push(b);
  }

  float(n: number): void {
    const b = Buffer.alloc(4);
    b.writeFloatLE(n);
    this.chunks.push(b);
  }

  fixed64(n: bigint): void {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(n);
    this.chunks.push(b);
  }

  double(n: number): void {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    this.chunks.push(b);
  }

  fork(): void {
    this.stack.push(this.chunks);
    this.chunks = [];
  }

  join(): void {
    const inner = Buffer.concat(this.chunks);
    this.chunks = this.stack.pop()!;
    this.bytes(inner);
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Reader {
  private pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  more(): boolean {
    return this.pos < this.buf.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.buf.length) throw new RangeError('truncated protobuf varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new RangeError('protobuf varint too long');
    }
  }

  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (this.pos + len > this.buf.length) throw new RangeError('truncated protobuf field');
    const out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  }

  fixed32(): number {
    const v = this.view().getUint32(this.take(4), true);
    return v;
  }

  float(): number {
    return this.view().getFloat32(this.take(4), true);
  }

  fixed64(): bigint {
    return this.view().getBigUint64(this.take(8), true);
  }

  double(): number {
    return this.view().getFloat64(this.take(8), true);
  }

  skip(wt: number): void {
    if (wt === 0) this.varint();
    else if (wt === 1) this.take(8);
    else if (wt === 2) this.bytes();
    else if (wt === 5) this.take(4);
    else throw new RangeError(`unsupported protobuf wire type ${wt}`);
  }

  private take(n: number): number {
    if (this.pos + n > this.buf.length) throw new RangeError('truncated protobuf field');
    const at = this.pos;
    this.pos += n;
    return at;
  }

  private view(): DataView {
    return new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  }
}
