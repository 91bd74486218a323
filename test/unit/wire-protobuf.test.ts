import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { decodeMessage, encodeMessage } from '../../src/proto.js';
import { MESSAGE_TYPE_NAMES } from '../../src/proto-types.js';
import { Schema, type JsonNode, type MessageType } from '../../src/wire/protobuf.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const schema = new Schema(JSON.parse(readFileSync(path.join(REPO, 'dist/proto-api.json'), 'utf8')) as JsonNode);

/** A message with every field set to a non-default value (values chosen to hit signs, 64-bit range, packing, maps). */
function sample(msg: MessageType, depth = 0): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const seenOneofs = new Set<string>();
  for (const f of msg.fields) {
    if (f.oneof) {
      if (seenOneofs.has(f.oneof)) continue;
      seenOneofs.add(f.oneof);
    }
    const ref = schema.fieldRef(msg, f);
    if (ref?.kind === 'message' && depth >= 2) continue;
    const one = (i: number): unknown => {
      if (ref?.kind === 'message') return sample(ref, depth + 1);
      if (ref?.kind === 'enum') {
        const names = Object.keys(ref.byName);
        return names[Math.min(1 + i, names.length - 1)];
      }
      return scalar(f.type, f.id + i);
    };
    if (f.keyType) out[f.name] = { alpha: one(0), 'beta/key': one(1) };
    else if (f.repeated) out[f.name] = [one(0), one(1)];
    else out[f.name] = one(0);
  }
  return out;
}

function scalar(type: string, n: number): unknown {
  switch (type) {
    case 'string': return `value-${n}-é`;
    case 'bytes': return Buffer.from([n & 0xff, 0, 0xff]);
    case 'bool': return true;
    case 'int32': case 'sint32': case 'sfixed32': return -n - 1;
    case 'uint32': case 'fixed32': return 4_000_000_000 - n;
    case 'int64': case 'sint64': case 'sfixed64': return String(-9_007_199_254_740_993n - BigInt(n));
    case 'uint64': case 'fixed64': return String(18_446_744_073_709_551_615n - BigInt(n));
    case 'double': return 1.5 + n;
    case 'float': return 0.5;
    default: throw new Error(`no sample for ${type}`);
  }
}

describe('wire/protobuf: the CLI codec agrees with protobufjs on every message of the API', () => {
  it('covers the API (sanity: the list is not empty)', () => {
    expect(MESSAGE_TYPE_NAMES.length).to.be.greaterThan(100);
  });

  for (const name of MESSAGE_TYPE_NAMES) {
    it(`${name}: ours -> protobufjs and protobufjs -> ours decode to the same object`, () => {
      const msg = schema.message(name);
      const value = sample(msg);
      const viaOurs = schema.encode(name, value);
      const viaPbjs = encodeMessage(name, value as never);
      const expected = decodeMessage(name, viaPbjs);
      expect(decodeMessage(name, viaOurs), 'protobufjs reading our bytes').to.deep.equal(expected);
      expect(schema.decode(name, viaPbjs), 'our reading of protobufjs bytes').to.deep.equal(expected);
    });
  }

  it('fills defaults like proto-loader (empty message)', () => {
    const name = 'containerd.services.tasks.v1.CreateTaskRequest';
    expect(schema.decode(name, Buffer.alloc(0))).to.deep.equal(decodeMessage(name, Buffer.alloc(0)));
  });

  it('rejects truncated input instead of inventing values', () => {
    const name = 'containerd.services.containers.v1.Container';
    const bytes = schema.encode(name, { id: 'c1', labels: { a: 'b' } });
    expect(() => schema.decode(name, bytes.subarray(0, bytes.length - 2))).to.throw(RangeError, /truncated/);
  });

  it('rejects an enum name that does not exist', () => {
    expect(() => schema.encode('containerd.v1.types.Process', { status: 'SLEEPING' })).to.throw(TypeError, /SLEEPING/);
  });

  it('resolves service methods with their streaming kinds', () => {
    const m = schema.method('containerd.services.events.v1.Events', 'Subscribe');
    expect(m.path).to.equal('/containerd.services.events.v1.Events/Subscribe');
    expect(m.responseStream).to.equal(true);
    expect(m.response.fullName).to.equal('containerd.services.events.v1.Envelope');
  });
});
