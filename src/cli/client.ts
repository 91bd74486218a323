import * as grpc from '@grpc/grpc-js';
import { loadContainerdApi, type ServiceName } from '../proto.js';
import { fromServiceError } from '../daemon/grpc/status.js';
import type { ContainerdServiceMethods, Init, Rpc, ServiceClient } from '../proto-types.js';

type MethodsOf<S extends ServiceName> = ContainerdServiceMethods[S];
type UnaryNames<M> = { [K in keyof M]: M[K] extends Rpc<'unary', unknown, unknown> ? K : never }[keyof M];
type ReqOf<M, K extends keyof M> = M[K] extends Rpc<'unary', infer Q, unknown> ? Init<Q> : never;
type ResOf<M, K extends keyof M> = M[K] extends Rpc<'unary', unknown, infer R> ? R : never;

/**
 * The CLI's connection to the daemon: one channel, lazily created service
 * clients, the namespace in every call's metadata, and promise-returning
 * unary calls whose errors come back as our error kinds.
 */
export class DaemonClient {
  private readonly clients = new Map<string, grpc.Client>();
  private readonly metadata = new grpc.Metadata();

  constructor(
    readonly address: string,
    readonly namespace: string,
  ) {
    this.metadata.set('containerd-namespace', namespace);
  }

  service<S extends ServiceName>(name: S): ServiceClient<MethodsOf<S>> {
    let c = this.clients.get(name);
    if (!c) {
      const Client = loadContainerdApi().services[name].Client as unknown as grpc.ServiceClientConstructor;
      const options: Partial<grpc.ClientOptions> = { 'grpc.max_receive_message_length': 64 << 20, 'grpc.max_send_message_length': 64 << 20 };
      c = this.clients.size > 0 ? new Client(`unix://${this.address}`, grpc.credentials.createInsecure(), { ...options, channelOverride: this.clients.values().next().value!.getChannel() }) : new Client(`unix://${this.address}`, grpc.credentials.createInsecure(), options);
      this.clients.set(name, c);
    }
    return c as unknown as ServiceClient<MethodsOf<S>>;
  }

  /** One unary call, resolved with the response or rejected with a RuntimeError. */
  call<S extends ServiceName, K extends UnaryNames<MethodsOf<S>> & string>(service: S, method: K, request: ReqOf<MethodsOf<S>, K>): Promise<ResOf<MethodsOf<S>, K>> {
    const client = this.service(service) as unknown as Record<string, (req: unknown, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void>;
    return new Promise((resolve, reject) => {
      client[method]!.call(client, request, this.metadata, {}, (err, res) => (err ? reject(fromServiceError(err)) : resolve(res as ResOf<MethodsOf<S>, K>)));
    });
  }

  /** A unary call that also returns the response's initial metadata (containerd-ts extras such as OOM). */
  callWithHeaders<S extends ServiceName, K extends UnaryNames<MethodsOf<S>> & string>(service: S, method: K, request: ReqOf<MethodsOf<S>, K>): Promise<{ response: ResOf<MethodsOf<S>, K>; headers: grpc.Metadata }> {
    const client = this.service(service) as unknown as Record<string, (req: unknown, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: unknown) => void) => grpc.ClientUnaryCall>;
    let headers = new grpc.Metadata();
    return new Promise((resolve, reject) => {
      const c = client[method]!.call(client, request, this.metadata, {}, (err, res) =>
        err ? reject(fromServiceError(err)) : resolve({ response: res as ResOf<MethodsOf<S>, K>, headers }),
      );
      c.on('metadata', (md: grpc.Metadata) => (headers = md));
    });
  }

  /** Metadata for streaming calls made directly on a service client. */
  callMetadata(): grpc.Metadata {
    return this.metadata;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}
