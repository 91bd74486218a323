import type { Any } from '../proto-types.js';
import { containerdSchema } from './schema.js';

/** Packs a message as google.protobuf.Any the way containerd's typeurl does: type_url is the bare full name. */
export function packAny(fullName: string, obj: object): Any {
  return { type_url: fullName, value: containerdSchema().encode(fullName, obj) };
}

/** The message inside an Any, decoded; undefined when its type is not in the schema. */
export function unpackAnyIfKnown(any: Pick<Any, 'type_url' | 'value'>): Record<string, unknown> | undefined {
  const name = any.type_url.slice(any.type_url.lastIndexOf('/') + 1);
  const schema = containerdSchema();
  return schema.has(name) ? schema.decode(name, any.value) : undefined;
}
