import { createRequire } from 'node:module';
import type * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../grpc-codes.js';
import type { ServiceName } from '../proto.js';
import { SERVICE_FULL_NAMES, type ContainerdServiceMethods, type Init, type Rpc } from '../proto-types.js';
import { GrpcChannel, type Metadata, type ServerStream } from '../wire/grpc-client.js';
import { containerdSchema } from '../wire/schema.js';

type MethodsOf<S extends ServiceName> = ContainerdServiceMethods[S];
type UnaryNames<M> = { [K in keyof M]: M[K] extends Rpc<'unary', unknown, unknown> ? K : never }[keyof M];
type StreamNames<M> = { [K in keyof M]: M[K] extends Rpc<'serverStream', unknown, unknown> ? K : never }[keyof M];
type ReqOf<M, K extends keyof M> = M[K] extends Rpc<infer _, infer Q, unknown> ? Init<Q> : never;
type ResOf<M, K extends keyof M> = M[K] extends Rpc<infer _, unknown, infer R> ? R : never;

/** A service's server-streaming methods, called like grpc-js's (the client adds the namespace header itself). */
export type StreamingClient<M> = { [K in StreamNames<M> & string]: (request: ReqOf<M, K>) => ServerStream<ResOf<M, K>> };

/** CTR_TS_TRACE=1: each call's duration and the time since the process began, on stderr. */
const trace = Boolean(process.env.CTR_TS_TRACE);

function traceLine(what: string, started: number): void {
  const now = performance.now();
  process.stderr.write(`trace: ${what} ${(now - started).toFixed(1)} ms (at ${now.toFixed(1)} ms)\n`);
}

/**
 * The CLI's connection to the daemon: one HTTP/2 connection (our own small
 * gRPC client, see src/wire), the namespace in every call's metadata, and
 * promise-returning calls whose errors come back as our error kinds.
 */
export class DaemonClient {
  private readonly channel: GrpcChannel;

  constructor(
    readonly address: string,
    readonly namespace: string,
  ) {
    this.channel = new GrpcChannel(address, containerdSchema(), { 'containerd-namespace': namespace });
  }

  /** A service's server-streaming calls (Events.Subscribe, Content.Read, ...). */
  service<S extends ServiceName>(name: S): StreamingClient<MethodsOf<S>> {
    const service = SERVICE_FULL_NAMES[name];
    return new Proxy({}, {
      get: (_t, method) => (request: object) => this.channel.serverStream(service, String(method), request),
    }) as StreamingClient<MethodsOf<S>>;
  }

  /** One unary call, resolved with the response or rejected with a RuntimeError. */
  async call<S extends ServiceName, K extends UnaryNames<MethodsOf<S>> & string>(service: S, method: K, request: ReqOf<MethodsOf<S>, K>): Promise<ResOf<MethodsOf<S>, K>> {
    return (await this.callWithHeaders(service, method, request)).response;
  }

  /** A unary call that also returns the response's headers (containerd-ts extras such as OOM). */
  async callWithHeaders<S extends ServiceName, K extends UnaryNames<MethodsOf<S>> & string>(service: S, method: K, request: ReqOf<MethodsOf<S>, K>): Promise<{ response: ResOf<MethodsOf<S>, K>; headers: Metadata }> {
    const started = trace ? performance.now() : 0;
    try {
      const { response, headers } = await this.channel.unary(SERVICE_FULL_NAMES[service], method, request as object);
      if (trace) traceLine(`${service}.${method}`, started);
      return { response: response as ResOf<MethodsOf<S>, K>, headers };
    } catch (err) {
      throw fromServiceError(err);
    }
  }

  /**
   * grpc-js metadata for our extension services (pull, import), which still
   * use grpc-js clients: loaded only by the commands that need them.
   */
  callMetadata(): grpc.Metadata {
    const { Metadata: GrpcMetadata } = createRequire(import.meta.url)('@grpc/grpc-js') as typeof grpc;
    const md = new GrpcMetadata();
    md.set('containerd-namespace', this.namespace);
    return md;
  }

  close(): void {
    this.channel.close();
  }
}
