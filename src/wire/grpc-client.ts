/**
 * A gRPC client over Node's own http2 for a unix socket: unary and
 * server-streaming calls, messages coded by the descriptor-driven codec.
 * It exists for the CLI's start-up: @grpc/grpc-js plus proto-loader cost
 * about 130 ms to load, more than a whole `ctr run` of containerd.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { Readable } from 'node:stream';
import type { MethodInfo, Schema } from './protobuf.js';

/** Numeric gRPC status codes (the subset this client produces itself). */
const CANCELLED = 1;
const UNKNOWN = 2;
const INTERNAL = 13;
const UNAVAILABLE = 14;

/** Response metadata, read like grpc-js's: lower-case keys, a list of values each. */
export class Metadata {
  constructor(private readonly values: ReadonlyMap<string, string[]> = new Map()) {}

  get(key: string): string[] {
    return this.values.get(key.toLowerCase()) ?? [];
  }

  static fromHeaders(headers: http2.IncomingHttpHeaders): Metadata {
    const m = new Map<string, string[]>();
    for (const [k, v] of Object.entries(headers)) {
      if (k.startsWith(':') || v === undefined) continue;
      m.set(k, Array.isArray(v) ? v : [String(v)]);
    }
    return new Metadata(m);
  }
}

/** A call's failure, shaped like grpc-js's ServiceError (code, details, metadata). */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
    readonly metadata: Metadata = new Metadata(),
  ) {
    super(`${code} ${details}`);
  }
}

/** A server-streaming call: an object-mode Readable of decoded messages; errors are GrpcErrors. */
export class ServerStream<T = unknown> extends Readable {
  constructor(private readonly onCancel: () => void) {
    super({ objectMode: true, read: () => {} });
  }

  /** Ends the call from this side (the stream fails with code CANCELLED, like grpc-js). */
  cancel(): void {
    this.onCancel();
  }

  override [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return super[Symbol.asyncIterator]() as AsyncIterableIterator<T>;
  }
}

/**
 * One HTTP/2 connection to a gRPC server on a unix socket, opened on first
 * use. `headers` go with every call (containerd's namespace header).
 */
export class GrpcChannel {
  private session: http2.ClientHttp2Session | undefined;

  constructor(
    private readonly socketPath: string,
    private readonly schema: Schema,
    private readonly headers: Record<string, string>,
  ) {}

  /** One request, one response; resolves with the decoded response and the response headers. */
  unary(service: string, method: string, request: object): Promise<{ response: Record<string, unknown>; headers: Metadata }> {
    const info = this.schema.method(service, method);
    return new Promise((resolve, reject) => {
      let response: Record<string, unknown> | undefined;
      let headers = new Metadata();
      this.start(info, request, {
        onHeaders: (md) => (headers = md),
        onMessage: (msg) => (response = msg),
        onEnd: (err) => {
          if (err) reject(err);
          else if (!response) reject(new GrpcError(INTERNAL, `${info.path}: the server sent no response message`));
          else resolve({ response, headers });
        },
      });
    });
  }

  /** One request, a stream of responses. */
  serverStream<T = unknown>(service: string, method: string, request: object): ServerStream<T> {
    const info = this.schema.method(service, method);
    let cancel = () => {};
    const stream = new ServerStream<T>(() => cancel());
    cancel = this.start(info, request, {
      onHeaders: () => {},
      onMessage: (msg) => stream.push(msg),
      onEnd: (err) => (err ? stream.destroy(err) : stream.push(null)),
    });
    return stream;
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(this.socketPath) });
    session.on('error', () => {}); // each call reports it through its own stream
    this.session = session;
    return session;
  }

  /** Starts a call; returns its cancel function. `onEnd` is called exactly once. */
  private start(info: MethodInfo, request: object, on: { onHeaders: (md: Metadata) => void; onMessage: (msg: Record<string, unknown>) => void; onEnd: (err?: GrpcError) => void }): () => void {
    let ended = false;
    const end = (err?: GrpcError) => {
      if (ended) return;
      ended = true;
      on.onEnd(err);
    };
    let body: Buffer;
    try {
      body = frame(this.schema.encode(info.request.fullName, request));
    } catch (err) {
      queueMicrotask(() => end(new GrpcError(INTERNAL, `cannot encode ${info.request.fullName}: ${(err as Error).message}`)));
      return () => {};
    }
    const req = this.connect().request({
      ':method': 'POST', ':path': info.path,
      'content-type': 'application/grpc', te: 'trailers',
      ...this.headers,
    });
    let status: { code: number; details: string; metadata: Metadata } | undefined;
    let httpStatus = 0;
    const takeStatus = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] === undefined) return;
      status = { code: Number(h['grpc-status']), details: decodeMessageHeader(String(h['grpc-message'] ?? '')), metadata: Metadata.fromHeaders(h) };
    };
    req.on('response', (h) => {
      httpStatus = Number(h[':status']);
      on.onHeaders(Metadata.fromHeaders(h));
      takeStatus(h); // a trailers-only response carries the status here
    });
    req.on('trailers', takeStatus);
    let pending: Buffer = Buffer.alloc(0);
    req.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 5) {
        const len = pending.readUInt32BE(1);
        if (pending.length < 5 + len) break;
        if (pending[0] !== 0) {
          end(new GrpcError(INTERNAL, `${info.path}: compressed responses are not supported`));
          req.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
        const msg = pending.subarray(5, 5 + len);
        pending = pending.subarray(5 + len);
        try {
          on.onMessage(this.schema.decode(info.response.fullName, msg));
        } catch (err) {
          end(new GrpcError(INTERNAL, `cannot decode ${info.response.fullName}: ${(err as Error).message}`));
          req.close(http2.constants.NGHTTP2_CANCEL);
          return;
        }
      }
    });
    // Node reports a failed connect as "The pending stream has been canceled (caused by: connect ENOENT ...)".
    req.on('error', (err: NodeJS.ErrnoException) => end(new GrpcError(UNAVAILABLE, /\(caused by: (.*)\)$/.exec(err.message)?.[1] ?? err.message)));
    req.on('close', () => {
      if (status) end(status.code === 0 ? undefined : new GrpcError(status.code, status.details, status.metadata));
      else if (httpStatus && httpStatus !== 200) end(new GrpcError(httpStatus === 404 ? 12 : UNKNOWN, `${info.path}: HTTP status ${httpStatus}`));
      else end(new GrpcError(UNAVAILABLE, `${info.path}: the connection closed without a status`));
    });
    req.end(body);
    return () => {
      end(new GrpcError(CANCELLED, 'Cancelled on client'));
      req.close(http2.constants.NGHTTP2_CANCEL);
    };
  }
}

/** A gRPC length-prefixed message (uncompressed). */
function frame(msg: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(msg.length, 1);
  return Buffer.concat([head, msg]);
}

/** grpc-message is percent-encoded. */
function decodeMessageHeader(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
