import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { parseProtos, readCompiledDescriptor, resolveProtoDir, servicesOf, writeCompiledDescriptor } from './proto.js';
import type { Descriptor } from './proto-types.js';

/**
 * containerd-ts's own gRPC extensions (package containerd_ts.services.images.v1)
 * that only image import and pull use, kept out of the API's descriptor so
 * that the CLI's other commands do not carry them. The build compiles them
 * into dist/proto-ext.json (see writeCompiledExtensions).
 */
const FILES = ['containerd-ts/services/images/v1/import.proto', 'containerd-ts/services/images/v1/pull.proto'] as const;
/** What FILES import: a change there makes the compiled descriptor stale too. */
const IMPORTED = ['github.com/containerd/containerd/api/types/descriptor.proto'] as const;
const DESCRIPTOR = 'proto-ext.json';

/** Compiles FILES into dist/proto-ext.json (run by `npm run build`). */
export function writeCompiledExtensions(): string {
  return writeCompiledDescriptor(DESCRIPTOR, parseProtos(resolveProtoDir(), FILES));
}

export interface ImportRequest {
  options?: { snapshotter: string; skip_unpack: boolean; platform?: string; all_platforms?: boolean };
  chunk?: Buffer;
  payload?: 'options' | 'chunk';
}
export interface ImportResponse {
  images: Array<{ name: string; target: Descriptor | null }>;
}

/** dist/proto-ext.json's text in the daemon's bundle (as CONTAINERD_TS_PROTO_API in proto.ts); not defined elsewhere. */
declare const CONTAINERD_TS_PROTO_EXT: string | undefined;

type ExtensionPackage = { containerd_ts: { services: { images: { v1: Record<string, grpc.ServiceClientConstructor> } } } };
let loaded: ExtensionPackage | undefined;

/**
 * Loads our extension services once into definitions like those proto.ts
 * makes for the containerd API: from the compiled descriptor (parsing the
 * .proto files, the fallback, was ~10 ms of each daemon start), with the
 * protobufjs types built at the first message.
 */
function extensionService(name: 'ImageImport' | 'ImagePull'): grpc.ServiceClientConstructor {
  if (!loaded) {
    const compiled = typeof CONTAINERD_TS_PROTO_EXT === 'string'
      ? (JSON.parse(CONTAINERD_TS_PROTO_EXT) as protobuf.INamespace)
      : readCompiledDescriptor(resolveProtoDir(), DESCRIPTOR, [...FILES, ...IMPORTED]);
    let root: protobuf.Root | undefined;
    const types = () => (root ??= compiled ? protobuf.Root.fromJSON(compiled) : parseProtos(resolveProtoDir(), FILES));
    const def = servicesOf(compiled ?? types().toJSON({ keepComments: false }), types);
    loaded = grpc.loadPackageDefinition(def) as unknown as ExtensionPackage;
  }
  return loaded.containerd_ts.services.images.v1[name]!;
}

const importConstructor = () => extensionService('ImageImport');

/** The service definition the daemon registers. */
export function imageImportServiceDefinition(): grpc.ServiceDefinition {
  return importConstructor().service;
}

/** A client for the CLI. */
export function importClient(address: string): grpc.Client & {
  Import(md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: ImportResponse) => void): grpc.ClientWritableStream<ImportRequest>;
} {
  const Ctor = importConstructor();
  return new Ctor(`unix://${address}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 64 << 20 }) as never;
}

/* ---- ImagePull (proto/containerd-ts/services/images/v1/pull.proto): daemon-side pull with progress ---- */

export interface PullRequest {
  ref: string;
  platform: string;
  plain_http: boolean;
  insecure_hosts: string[];
  username: string;
  secret: string;
  tls_ca_pem: string;
  max_concurrent_downloads: number;
  skip_unpack: boolean;
  all_platforms: boolean;
}
export interface PullProgressMessage {
  digest: string;
  media_type: string;
  /** int64 as a decimal string (LOADER_OPTIONS longs: String). */
  offset: string;
  total: string;
  status: string;
}
export interface PullResponse {
  progress?: PullProgressMessage | null;
  result?: { name: string; target: Descriptor | null } | null;
  event?: 'progress' | 'result';
}

const pullConstructor = () => extensionService('ImagePull');

/** The ImagePull service definition the daemon registers. */
export function imagePullServiceDefinition(): grpc.ServiceDefinition {
  return pullConstructor().service;
}

/** An ImagePull client for the CLI. */
export function pullClient(address: string): grpc.Client & {
  Pull(req: Partial<PullRequest>, md: grpc.Metadata): grpc.ClientReadableStream<PullResponse>;
} {
  const Ctor = pullConstructor();
  return new Ctor(`unix://${address}`, grpc.credentials.createInsecure(), {}) as never;
}
