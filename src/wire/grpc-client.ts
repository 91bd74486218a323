/**
 * A gRPC client for a unix socket over our own small HTTP/2 client
 * (h2-connection.ts): unary and server-streaming calls, messages coded by the
 * descriptor-driven codec. It exists for the CLI's start-up: @grpc/grpc-js
 * plus proto-loader cost about 130 ms to load, more than a whole `ctr run` of
 * containerd, and node:http2 with what it loads was still a fifth of a
 * `ctr-ts version`.
 */
import { Readable } from 'node:stream';
import { errorCodeName, H2Connection, type StreamClose } from './h2-connection.js';
import { ErrorCode } from './h2-frames.js';
import type { HeaderField } from './hpack.js';
import type { MethodInfo, Schema } from './protobuf.js';

/** Numeric gRPC status codes (the subset this client produces itself). */
const CANCELLED = 1;
const UNKNOWN = 2;
const PERMISSION_DENIED = 7;
const RESOURCE_EXHAUSTED = 8;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;
const UNAVAILABLE = 14;

/** Response metadata, read like grpc-js's: lower-case keys, a list of values each. */
export class Metadata {
  constructor(private readonly values: ReadonlyMap<string, string[]> = new Map()) {}

  get(key: string): string[] {
    return this.values.get(key.toLowerCase()) ?? [];
  }

  /** From a header block; pseudo-headers (:status) are not metadata. */
  static fromHeaders(fields: readonly HeaderField[]): Metadata {
    const m = new Map<string, string[]>();
    for (const [k, v] of fields) {
      if (k.startsWith(':')) continue;
      const values = m.get(k);
      if (values) values.push(v);
      else m.set(k, [v]);
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
 * use (and again after it failed or the server sent GOAWAY). `headers` go
 * with every call (containerd's namespace header).
 */
export class GrpcChannel {
  private connection: H2Connection | undefined;

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

  /** Closes the connection once its calls are done. */
  close(): void {
    this.connection?.close();
    this.connection = undefined;
  }

  private connect(): H2Connection {
    if (this.connection?.usable) return this.connection;
    this.connection = new H2Connection(this.socketPath);
    return this.connection;
  }

  /** Starts a call; returns its cancel function. `onEnd` is called exactly once. */
  private start(info: MethodInfo, request: object, on: { onHeaders: (md: Metadata) => void; onMessage: (msg: Record<string, unknown>) => void; onEnd: (err?: GrpcError) => void }): () => void {
    let ended = false;
    let cancelStream = () => {};
    const end = (err?: GrpcError) => {
      if (ended) return;
      ended = true;
      on.onEnd(err);
    };
    /** Ends the call from our side: the server is told, and hears nothing more of it. */
    const abandon = (err: GrpcError) => {
      end(err);
      cancelStream();
    };
    let body: Buffer;
    try {
      body = frame(this.schema.encode(info.request.fullName, request));
    } catch (err) {
      queueMicrotask(() => end(new GrpcError(INTERNAL, `cannot encode ${info.request.fullName}: ${(err as Error).message}`)));
      return () => {};
    }
    let status: { code: number; details: string; metadata: Metadata } | undefined;
    let httpStatus = 0;
    const takeStatus = (fields: readonly HeaderField[]) => {
      const code = fieldValue(fields, 'grpc-status');
      if (code === undefined) return;
      status = { code: Number(code), details: decodeMessageHeader(fieldValue(fields, 'grpc-message') ?? ''), metadata: Metadata.fromHeaders(fields) };
    };
    const messages = new MessageReader();
    cancelStream = this.connect().request([
      [':method', 'POST'], [':scheme', 'http'], [':path', info.path], [':authority', 'localhost'],
      ['content-type', 'application/grpc'], ['te', 'trailers'],
      ...Object.entries(this.headers),
    ], body, {
      headers: (fields, last) => {
        if (!httpStatus) {
          const s = Number(fieldValue(fields, ':status'));
          if (s >= 100 && s < 200 && !last) return; // informational: the real response follows
          httpStatus = s;
          on.onHeaders(Metadata.fromHeaders(fields));
        }
        takeStatus(fields); // the trailers, or a trailers-only response's headers
      },
      data: (chunk) => {
        try {
          for (const msg of messages.push(chunk)) {
            if (ended) return; // cancelled by a message's reader
            on.onMessage(this.schema.decode(info.response.fullName, msg));
          }
        } catch (err) {
          const what = err instanceof CompressedError ? `${info.path}: compressed responses are not supported` : `cannot decode ${info.response.fullName}: ${(err as Error).message}`;
          abandon(new GrpcError(INTERNAL, what));
        }
      },
      close: (result) => end(callResult(info.path, result, status, httpStatus)),
    });
    return () => abandon(new GrpcError(CANCELLED, 'Cancelled on client'));
  }
}

/** How a call ended, from how its stream ended and the status it carried. */
function callResult(path: string, result: StreamClose, status: { code: number; details: string; metadata: Metadata } | undefined, httpStatus: number): GrpcError | undefined {
  switch (result.kind) {
    case 'ended':
      if (status) return status.code === 0 ? undefined : new GrpcError(status.code, status.details, status.metadata);
      if (httpStatus && httpStatus !== 200) return new GrpcError(httpStatus === 404 ? UNIMPLEMENTED : UNKNOWN, `${path}: HTTP status ${httpStatus}`);
      return new GrpcError(UNKNOWN, `${path}: the response ended without a grpc-status`);
    case 'reset':
      return new GrpcError(resetCode(result.code), `${path}: the server reset the stream (${errorCodeName(result.code)})`);
    case 'refused':
      return new GrpcError(UNAVAILABLE, `${path}: ${result.message}`);
    case 'lost':
      return new GrpcError(UNAVAILABLE, result.message ?? `${path}: the connection closed without a status`);
    case 'error':
      return new GrpcError(INTERNAL, `${path}: ${result.message}`);
  }
}

/** RST_STREAM codes to gRPC codes (gRPC's PROTOCOL-HTTP2.md). */
function resetCode(code: number): number {
  switch (code) {
    case ErrorCode.REFUSED_STREAM: return UNAVAILABLE;
    case ErrorCode.CANCEL: return CANCELLED;
    case ErrorCode.ENHANCE_YOUR_CALM: return RESOURCE_EXHAUSTED;
    case ErrorCode.INADEQUATE_SECURITY: return PERMISSION_DENIED;
    default: return INTERNAL;
  }
}

function fieldValue(fields: readonly HeaderField[], name: string): string | undefined {
  return fields.find(([k]) => k === name)?.[1];
}

class CompressedError extends Error {}

/**
 * Cuts gRPC's length-prefixed messages out of the response body. Chunks are
 * kept as they come and joined once a message is complete, not once per chunk.
 */
class MessageReader {
  private chunks: Buffer[] = [];
  private length = 0;

  /** The messages that `chunk` completes, in order. */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.length += chunk.length;
    const messages: Buffer[] = [];
    while (this.length >= 5) {
      if (this.chunks[0]!.length < 5) this.chunks = [Buffer.concat(this.chunks)];
      const head = this.chunks[0]!;
      const size = head.readUInt32BE(1);
      if (this.length < 5 + size) break;
      if (head[0] !== 0) throw new CompressedError();
      const all = this.chunks.length === 1 ? head : Buffer.concat(this.chunks);
      messages.push(all.subarray(5, 5 + size));
      const rest = all.subarray(5 + size);
      this.chunks = rest.length ? [rest] : [];
      this.length = rest.length;
    }
    return messages;
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
