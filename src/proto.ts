/**
 * Loader for the containerd 1.6 v1 API protos in proto/.
 *
 * - loadContainerdApi(): grpc-js service definitions and client constructors
 *   (via @grpc/proto-loader), loaded once and cached.
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
import * as protoLoader from '@grpc/proto-loader';
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

/** Loads (once) all protos with @grpc/proto-loader and returns the services. */
export function loadContainerdApi(): ContainerdApi {
  if (cachedApi) return cachedApi;
  const protoDir = resolveProtoDir();
  const packageDefinition = readCompiledProtos(protoDir)
    ? servicesOf(loadProtoRoot())
    : protoLoader.loadSync([...PROTO_FILES], { ...LOADER_OPTIONS, includeDirs: [protoDir] });
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
    protoDir,
    packageDefinition,
    grpcObject,
    services: services as unknown as ContainerdServices,
  };
  return cachedApi;
}

/**
 * The services of `root` as grpc-js wants them, with proto-loader's
 * conversions (fromObject/encode; decode/toObject with LOADER_OPTIONS),
 * built on the one root the daemon already holds for Any payloads.
 * proto-loader's fromJSON parsed the descriptor a second time and built a
 * reflection descriptor of every message (~100 ms of each daemon start);
 * nothing here uses reflection, so message types are left out.
 */
export function servicesOf(root: protobuf.Root): protoLoader.PackageDefinition {
  const definition: protoLoader.PackageDefinition = {};
  const visit = (ns: protobuf.NamespaceBase): void => {
    for (const nested of ns.nestedArray) {
      if (nested instanceof protobuf.Service) definition[nested.fullName.slice(1)] = serviceDefinition(nested);
      else if (nested instanceof protobuf.Namespace) visit(nested);
    }
  };
  visit(root);
  return definition;
}

function serviceDefinition(service: protobuf.Service): protoLoader.ServiceDefinition {
  const methods: Record<string, protoLoader.MethodDefinition<object, object>> = {};
  const serviceName = service.fullName.slice(1);
  for (const method of service.methodsArray) {
    method.resolve();
    const request = method.resolvedRequestType!;
    const response = method.resolvedResponseType!;
    methods[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: Boolean(method.requestStream),
      responseStream: Boolean(method.responseStream),
      requestSerialize: serializer(request),
      requestDeserialize: deserializer(request),
      responseSerialize: serializer(response),
      responseDeserialize: deserializer(response),
      // grpc-js also looks an implementation up by this name (proto-loader's camelCase of it).
      originalName: method.name.charAt(0).toLowerCase() + method.name.slice(1),
      requestType: messageDefinition(request),
      responseType: messageDefinition(response),
      options: {},
    } as unknown as protoLoader.MethodDefinition<object, object>;
  }
  return methods as protoLoader.ServiceDefinition;
}

function serializer(type: protobuf.Type): (value: object) => Buffer {
  return (value) => {
    if (Array.isArray(value)) throw new Error(`cannot serialize an array as ${type.name}`);
    // protobufjs writes into a Buffer under Node: no copy.
    return type.encode(type.fromObject(value)).finish() as Buffer;
  };
}

function deserializer(type: protobuf.Type): (buf: Buffer) => object {
  return (buf) => type.toObject(type.decode(buf), CONVERSION_OPTIONS);
}

/** What grpc-js keeps of a message type: its conversions (no reflection descriptor). */
function messageDefinition(type: protobuf.Type): object {
  return { format: 'Protocol Buffer 3 DescriptorProto', type: {}, fileDescriptorProtos: [], serialize: serializer(type), deserialize: deserializer(type) };
}

// ---------------------------------------------------------------------------
// protobufjs root for Any payloads
// ---------------------------------------------------------------------------

let cachedRoot: protobuf.Root | undefined;

/** The protobufjs Root holding every message of proto/ plus the well-known types (cached). */
export function loadProtoRoot(): protobuf.Root {
  if (cachedRoot) return cachedRoot;
  const protoDir = resolveProtoDir();
  const json = readCompiledProtos(protoDir);
  if (json) {
    // Types resolve on first use: the build checked this descriptor whole (resolveAll of it was ~40 ms a start).
    cachedRoot = protobuf.Root.fromJSON(json);
    return cachedRoot;
  }
  return (cachedRoot = parseProtoFiles(protoDir));
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

/** The compiled descriptor written at build time (every CLI call and daemon start skips parsing). */
const compiledPath = (protoDir: string) => path.join(path.dirname(protoDir), 'dist', 'proto-api.json');

/** Writes the compiled descriptor from proto/ (run by `npm run build`). */
export function writeCompiledProtos(): string {
  const protoDir = resolveProtoDir();
  const file = compiledPath(protoDir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(parseProtoFiles(protoDir).toJSON({ keepComments: false })));
  return file;
}

/** The compiled descriptor, if it is newer than every proto file (a stale one is ignored). */
function readCompiledProtos(protoDir: string): protobuf.INamespace | undefined {
  const file = compiledPath(protoDir);
  let built: number;
  try {
    built = fs.statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
  if (PROTO_FILES.some((f) => fs.statSync(path.join(protoDir, f)).mtimeMs > built)) return undefined;
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
