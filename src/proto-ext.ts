import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, resolveProtoDir } from './proto.js';
import type { Descriptor } from './proto-types.js';

/** containerd-ts's own gRPC extensions (proto/containerd-ts), loaded beside containerd's API. */
const FILE = 'containerd-ts/services/images/v1/import.proto';

export interface ImportRequest {
  options?: { snapshotter: string; skip_unpack: boolean };
  chunk?: Buffer;
  payload?: 'options' | 'chunk';
}
export interface ImportResponse {
  images: Array<{ name: string; target: Descriptor | null }>;
}

let loaded: grpc.ServiceClientConstructor | undefined;

function importConstructor(): grpc.ServiceClientConstructor {
  if (!loaded) {
    const def = protoLoader.loadSync(FILE, { ...LOADER_OPTIONS, includeDirs: [resolveProtoDir()] });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { containerd_ts: { services: { images: { v1: { ImageImport: grpc.ServiceClientConstructor } } } } };
    loaded = pkg.containerd_ts.services.images.v1.ImageImport;
  }
  return loaded;
}

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
