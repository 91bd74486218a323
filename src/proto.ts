/**
 * Loader for the containerd 1.6 v1 API protos in proto/.
 *
 * - loadContainerdApi(): grpc-js service definitions and client constructors
 *   (with @grpc/proto-loader's object conventions), loaded once and cached.
 * - encodeMessage()/decodeMessage(): protobufjs (de)serialization of any message
 *   in proto/ by full name, for google.protobuf.Any payloads (runc options,
 *   events, ...). Decoded objects have the same shape as proto-loader produces.
 * - packAny()/unpackAny()/packJsonAny()/unpackJsonAny(): Any helpers using
 *   containerd's type URL conventions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import {
  SERVICE_FULL_NAMES,
  type Any,
  type ContainerdServiceMethods,
  type Init,
  type MessageName,
  type MessageTypeMap,
  type ServiceClientConstructor,
} from './proto-types.js';

/** name in package.json of the repository root that holds proto/ */
const PACKAGE_NAME = 'containerd-ts';

/** Every proto file of the API, relative to the proto directory. */
export const PROTO_FILES: readonly string[] = [
  'github.com/containerd/containerd/api/types/descriptor.proto',
  'github.com/containerd/containerd/api/types/mount.proto',
  'github.com/containerd/containerd/api/types/platform.proto',
  'github.com/containerd/containerd/api/types/metrics.proto',
  'github.com/containerd/containerd/api/types/task/task.proto',
  'google/rpc/status.proto',
  'github.com/containerd/containerd/api/services/version/v1/version.proto',
  'github.com/containerd/containerd/api/services/namespaces/v1/namespace.proto',
  'github.com/containerd/containerd/api/services/introspection/v1/introspection.proto',
  'github.com/containerd/containerd/api/services/containers/v1/containers.proto',
  'github.com/containerd/containerd/api/services/images/v1/images.proto',
  'github.com/containerd/containerd/api/services/tasks/v1/tasks.proto',
  'github.com/containerd/containerd/api/services/events/v1/events.proto',
  'github.com/containerd/containerd/api/services/content/v1/content.proto',
  'github.com/containerd/containerd/api/services/snapshots/v1/snapshots.proto',
  'github.com/containerd/containerd/api/services/diff/v1/diff.proto',
  'github.com/containerd/containerd/api/services/leases/v1/leases.proto',
  'github.com/containerd/containerd/api/events/container.proto',
  'github.com/containerd/containerd/api/events/content.proto',
  'github.com/containerd/containerd/api/events/image.proto',
  'github.com/containerd/containerd/api/events/namespace.proto',
  'github.com/containerd/containerd/api/events/snapshot.proto',
  'github.com/containerd/containerd/api/events/task.proto',
  'github.com/containerd/containerd/runtime/v2/runc/options/oci.proto',
  'github.com/containerd/containerd/runtime/linux/runctypes/runc.proto',
  'github.com/containerd/containerd/pkg/runtimeoptions/v1/api.proto',
  'github.com/containerd/cgroups/stats/v1/metrics.proto',
  'github.com/containerd/cgroups/v2/stats/metrics.proto',
  'containerd-ts/services/images/v1/resolve.proto',
];

/**
 * Well-known types, served from protobufjs's bundled definitions (never from
 * proto/). Loaded explicitly into the protobufjs root so that all of them are
 * available to encodeMessage/decodeMessage even if no API proto imports them.
 */
const BUNDLED_WELL_KNOWN_FILES: readonly string[] = [
  'google/protobuf/any.proto',
  'google/protobuf/duration.proto',
  'google/protobuf/empty.proto',
  'google/protobuf/field_mask.proto',
  'google/protobuf/timestamp.proto',
];

/** Options given to @grpc/proto-loader (and mirrored by decodeMessage). */
export const LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
} as const;

/** protobufjs toObject options equivalent to LOADER_OPTIONS. */
const CONVERSION_OPTIONS: protobuf.IConversionOptions = {
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

export { TYPE_URLS } from './type-urls.js';

// ---------------------------------------------------------------------------
// Locating proto/
// ---------------------------------------------------------------------------

function readPackageName(dir: string): string | undefined {
  try {
    const json: unknown = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    if (json !== null && typeof json === 'object' && 'name' in json && typeof json.name === 'string') {
      return json.name;
    }
  } catch {
    // no (readable) package.json here
  }
  return undefined;
}

/**
 * The directory holding the .proto files: $CONTAINERD_TS_PROTO_DIR if set,
 * otherwise `proto/` in the nearest ancestor of this module (src/ or
 * dist/src/) whose package.json is named "containerd-ts".
 */
export function resolveProtoDir(): string {
  const override = process.env.CONTAINERD_TS_PROTO_DIR;
  if (override) return path.resolve(override);
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (readPackageName(dir) === PACKAGE_NAME) {
      const protoDir = path.join(dir, 'proto');
      if (fs.existsSync(path.join(protoDir, PROTO_FILES[0] ?? ''))) return protoDir;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  throw new Error(
    `proto directory not found: no ancestor of ${fileURLToPath(import.meta.url)} ` +
      `has a package.json named "${PACKAGE_NAME}" next to proto/`,
  );
}

// ---------------------------------------------------------------------------
// gRPC services
// ---------------------------------------------------------------------------

export type ServiceName = keyof ContainerdServiceMethods;

export interface ServiceEntry<M> {
  /** full proto name, e.g. "containerd.services.version.v1.Version" */
  readonly fullName: string;
  /** pass to grpc.Server#addService */
  readonly service: grpc.ServiceDefinition;
  /** grpc-js client constructor; instances have typed methods */
  readonly Client: ServiceClientConstructor<M> & grpc.ServiceClientConstructor;
}

export type ContainerdServices = {
  readonly [K in ServiceName]: ServiceEntry<ContainerdServiceMethods[K]>;
};

export interface ContainerdApi {
  readonly protoDir: string;
  readonly packageDefinition: protoLoader.PackageDefinition;
  readonly grpcObject: grpc.GrpcObject;
  readonly services: ContainerdServices;
}

let cachedApi: ContainerdApi | undefined;

function lookupGrpc(obj: grpc.GrpcObject, fullName: string): unknown {
  let cur: unknown = obj;
  for (const part of fullName.split('.')) {
    if (cur === null || (typeof cur !== 'object' && typeof cur !== 'function')) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

function isServiceClientConstructor(v: unknown): v is grpc.ServiceClientConstructor {
  return typeof v === 'function' && 'service' in v && typeof (v as { service: unknown }).service === 'object';
}

/**
 * Loads (once) the API's services. Their definitions come from the
 * descriptor's JSON; the protobufjs types behind their (de)serializers are
 * built with the first message (see servicesOf).
 */
export function loadContainerdApi(): ContainerdApi {
  if (cachedApi) return cachedApi;
  const json = compiledApi() ?? loadProtoRoot().toJSON({ keepComments: false });
  const packageDefinition = servicesOf(json, loadProtoRoot);
  const grpcObject = grpc.loadPackageDefinition(packageDefinition);
  const services = {} as Record<ServiceName, ServiceEntry<unknown>>;
  for (const [short, fullName] of Object.entries(SERVICE_FULL_NAMES) as [ServiceName, string][]) {
    const ctor = lookupGrpc(grpcObject, fullName);
    if (!isServiceClientConstructor(ctor)) throw new Error(`service ${fullName} missing from loaded protos`);
    services[short] = {
      fullName,
      service: ctor.service,
      Client: ctor as ServiceEntry<unknown>['Client'],
    };
  }
  cachedApi = {
    // Looked up when asked: the daemon's bundle carries the descriptor and needs no proto/.
    get protoDir() {
      return resolveProtoDir();
    },
    packageDefinition,
    grpcObject,
    services: services as unknown as ContainerdServices,
  };
  return cachedApi;
}

/**
 * The services of the descriptor `json` as grpc-js wants them, with
 * proto-loader's conversions (fromObject/encode; decode/toObject with
 * LOADER_OPTIONS) on the protobufjs types of `types()`, which is called with
 * the first message a method (de)serializes: building the API's types
 * (fromJSON and resolveAll, ~30-45 ms) is then no part of a daemon's start
 * (the daemon builds them right after it says it is ready). proto-loader's
 * own loading parsed the descriptor a second time and built a reflection
 * descriptor of every message (~100 ms of each daemon start); nothing here
 * uses reflection, so message types are left out.
 */
export function servicesOf(json: protobuf.INamespace, types: () => protobuf.Root): protoLoader.PackageDefinition {
  const definition: protoLoader.PackageDefinition = {};
  const visit = (nested: Record<string, protobuf.AnyNestedObject> | undefined, scope: string): void => {
    for (const [name, node] of Object.entries(nested ?? {})) {
      const fullName = scope ? `${scope}.${name}` : name;
      if ('methods' in node) definition[fullName] = serviceDefinition(fullName, node, types);
      else if ('nested' in node) visit(node.nested, fullName);
    }
  };
  visit(json.nested, '');
  return definition;
}

function serviceDefinition(serviceName: string, service: protobuf.IService, types: () => protobuf.Root): protoLoader.ServiceDefinition {
  const methods: Record<string, protoLoader.MethodDefinition<object, object>> = {};
  for (const [name, method] of Object.entries(service.methods)) {
    let resolved: protobuf.Method | undefined;
    const resolve = () => (resolved ??= types().lookupService(serviceName).methods[name]!.resolve() as protobuf.Method);
    const request = () => resolve().resolvedRequestType!;
    const response = () => resolve().resolvedResponseType!;
    methods[name] = {
      path: `/${serviceName}/${name}`,
      requestStream: Boolean(method.requestStream),
      responseStream: Boolean(method.responseStream),
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      // grpc-js also looks an implementation up by this name (proto-loader's camelCase of it).
      originalName: name.charAt(0).toLowerCase() + name.slice(1),
      requestType: messageDefinition(request),
      responseType: messageDefinition(response),
      options: {},
    } as unknown as protoLoader.MethodDefinition<object, object>;
  }
  return methods as protoLoader.ServiceDefinition;
}

function serializer(type: () => protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`cannot serialize an array as ${type().name}`);
    const t = type();
    // protobufjs writes into a Buffer under Node: no copy.
    return t.encode(t.fromObject(value)).finish() as Buffer;
  };
}

function deserializer(type: () => protobuf.Type): (buf: Buffer) => object {
  return (buf) => {
    const t = type();
    return t.toObject(t.decode(buf), CONVERSION_OPTIONS);
  };
}

/** What grpc-js keeps of a message type: its conversions (no reflection descriptor). */
function messageDefinition(type: () => protobuf.Type): object {
  return { format: 'Protocol Buffer 3 DescriptorProto', type: {}, fileDescriptorProtos: [], serialize: serializer(type), deserialize: deserializer(type) };
}

// ---------------------------------------------------------------------------
// protobufjs root for Any payloads
// ---------------------------------------------------------------------------

let cachedRoot: protobuf.Root | undefined;

/** The protobufjs Root holding every message of proto/ plus the well-known types (cached). */
export function loadProtoRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const json = compiledApi();
  // From the descriptor the build wrote and checked whole; fromJSON resolves every type (its resolveAll).
  cachedRoot = json ? protobuf.Root.fromJSON(json) : parseProtoFiles(resolveProtoDir());
  return cachedRoot;
}

/** Parses proto/ (the slow path: about 80 ms), used when no compiled JSON is up to date. */
function parseProtoFiles(protoDir: string): protobuf.Root {
  const root = parseProtos(protoDir, [...BUNDLED_WELL_KNOWN_FILES, ...PROTO_FILES]);
  root.resolveAll();
  return root;
}

/** Parses `files` (relative to `protoDir`; their imports too) into a new protobufjs Root. */
export function parseProtos(protoDir: string, files: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin: string, target: string): string => {
    if (path.isAbsolute(target)) return target;
    const candidate = path.join(protoDir, target);
    // google/protobuf/* never reaches here from imports (protobufjs serves its
    // bundled copies first); anything else must exist in proto/.
    return fs.existsSync(candidate) ? candidate : target;
  };
  root.loadSync([...files], { keepCase: true });
  return root;
}

/** Where the build writes a compiled descriptor (`dist/<name>`, beside proto/). */
const compiledPath = (protoDir: string, name: string) => path.join(path.dirname(protoDir), 'dist', name);

/** The API's compiled descriptor (every CLI call and daemon start skips parsing). */
const API_DESCRIPTOR = 'proto-api.json';

/** Writes the compiled descriptor from proto/ (run by `npm run build`). */
export function writeCompiledProtos(): string {
  return writeCompiledDescriptor(API_DESCRIPTOR, parseProtoFiles(resolveProtoDir()));
}

/** Writes `root` (parsed from proto/) as the compiled descriptor dist/`name`. */
export function writeCompiledDescriptor(name: string, root: protobuf.Root): string {
  const file = compiledPath(resolveProtoDir(), name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(root.toJSON({ keepComments: false })));
  return file;
}

/**
 * dist/proto-api.json's text, put into the daemon's bundle by its build
 * (scripts/esbuild/build-cli.mjs); not defined when running from dist/src.
 */
declare const CONTAINERD_TS_PROTO_API: string | undefined;

/** The API's compiled descriptor, read once (undefined when it is missing or stale). */
let compiledJson: protobuf.INamespace | null | undefined;
function compiledApi(): protobuf.INamespace | undefined {
  if (compiledJson === undefined) {
    // The bundle's own copy matches the code it was built with: no file to read, no stat of every .proto (~3 ms a start).
    compiledJson = typeof CONTAINERD_TS_PROTO_API === 'string'
      ? (JSON.parse(CONTAINERD_TS_PROTO_API) as protobuf.INamespace)
      : (readCompiledDescriptor(resolveProtoDir(), API_DESCRIPTOR, PROTO_FILES) ?? null);
  }
  return compiledJson ?? undefined;
}

/** The compiled descriptor dist/`name`, if it is newer than each of `files` (a stale one is ignored). */
export function readCompiledDescriptor(protoDir: string, name: string, files: readonly string[]): protobuf.INamespace | undefined {
  const file = compiledPath(protoDir, name);
  let built: number;
  try {
    built = fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  if (files.some((f) => fs.statSync(path.join(protoDir, f)).mtimeMs > built)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as protobuf.INamespace;
}

function lookupType(fullName: string): protobuf.Type {
  const name = fullName.startsWith('.') ? fullName.slice(1) : fullName;
  return loadProtoRoot().lookupType(name);
}

type InitOf<N extends string> = N extends MessageName ? Init<MessageTypeMap[N]> : object;
type DecodedOf<N extends string> = N extends MessageName ? MessageTypeMap[N] : Record<string, unknown>;

/**
 * Serializes `obj` (proto field names; int64 as string or number; enums as
 * name or number; bytes as Buffer/Uint8Array) as the message `fullName`.
 */
export function encodeMessage<N extends string>(fullName: N, obj: InitOf<N>): Buffer {
  const type = lookupType(fullName);
  const bytes = type.encode(type.fromObject(obj as Record<string, unknown>)).finish();
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Parses `buf` as the message `fullName`, into the same shape @grpc/proto-loader
 * produces (proto field names, int64 as string, enums as names, bytes as Buffer,
 * defaults filled in, unset messages null).
 */
export function decodeMessage<N extends string>(fullName: N, buf: Uint8Array): DecodedOf<N> {
  const type = lookupType(fullName);
  return type.toObject(type.decode(buf), CONVERSION_OPTIONS) as DecodedOf<N>;
}

/** Whether `fullName` is a message known to the loaded protos. */
export function hasMessageType(fullName: string): boolean {
  try {
    lookupType(fullName);
    return true;
  } catch {
    return false;
  }
}

/**
 * Message name from a type URL: containerd uses bare names
 * ("containerd.events.TaskExit"); "type.googleapis.com/x.y.Z" style is also accepted.
 */
export function messageNameFromTypeUrl(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf('/');
  return slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
}

/**
 * Packs a protobuf message as google.protobuf.Any the way containerd's typeurl
 * does: type_url is the bare full message name.
 */
export function packAny<N extends string>(fullName: N, obj: InitOf<N>): Any {
  return { type_url: fullName, value: encodeMessage(fullName, obj) };
}

/** Unpacks a protobuf Any (type_url must name a message in proto/). */
export function unpackAny(any: Pick<Any, 'type_url' | 'value'>): {
  typeName: string;
  message: Record<string, unknown>;
} {
  const typeName = messageNameFromTypeUrl(any.type_url);
  return { typeName, message: decodeMessage(typeName, any.value) };
}

/** Packs a JSON payload (e.g. the OCI spec, TYPE_URLS.spec) as Any, like containerd's typeurl for non-proto types. */
export function packJsonAny(typeUrl: string, value: unknown): Any {
  return { type_url: typeUrl, value: Buffer.from(JSON.stringify(value), 'utf8') };
}

/** Parses the JSON value of an Any (e.g. Container.spec with TYPE_URLS.spec). */
export function unpackJsonAny<T = unknown>(any: Pick<Any, 'value'>): T {
  return JSON.parse(Buffer.from(any.value).toString('utf8')) as T;
}

// ---------------------------------------------------------------------------
// Timestamps
// ---------------------------------------------------------------------------

export { fromTimestamp, toTimestamp } from './timestamp.js';
