import * as grpc from '@grpc/grpc-js';
import { parseProtos, resolveProtoDir, servicesOf } from './proto.js';
import type { Descriptor } from './proto-types.js';

/** containerd-ts's own gRPC extensions (proto/containerd-ts), loaded beside containerd's API. */
const FILE = 'containerd-ts/services/images/v1/import.proto';

export interface ImportRequest {
  options?: { snapshotter: string; skip_unpack: boolean; platform?: string; all_platforms?: boolean };
  chunk?: Buffer;
  payload?: 'options' | 'chunk';
}
export interface ImportResponse {
  images: Array<{ name: string; target: Descriptor | null }>;
}

const loaded = new Map<string, grpc.ServiceClientConstructor>();

/**
 * Loads one of our extension services (package containerd_ts.services.images.v1)
 * once: parsed by protobufjs into the definitions proto.ts builds for the
 * containerd API (proto-loader's own loading was ~30 ms of each daemon start).
 */
function extensionService(file: string, name: 'ImageImport' | 'ImagePull'): grpc.ServiceClientConstructor {
  let ctor = loaded.get(name);
  if (!ctor) {
    const def = servicesOf(parseProtos(resolveProtoDir(), [file]));
    const pkg = grpc.loadPackageDefinition(def) as unknown as { containerd_ts: { services: { images: { v1: Record<string, grpc.ServiceClientConstructor> } } } };
    ctor = pkg.containerd_ts.services.images.v1[name]!;
    loaded.set(name, ctor);
  }
  return ctor;
}

const importConstructor = () => extensionService(FILE, 'ImageImport');

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

const PULL_FILE = 'containerd-ts/services/images/v1/pull.proto';

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

const pullConstructor = () => extensionService(PULL_FILE, 'ImagePull');

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
