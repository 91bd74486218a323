/**
 * A minimal HTTP/2 client connection (RFC 9113) over a unix socket:
 * cleartext with prior knowledge, no upgrade, no TLS, no server push. It
 * exists so the CLI need not load node:http2, which with its dependencies
 * (tls, crypto, http, assert) was a fifth of a `ctr-ts version`.
 *
 * It does what a gRPC client needs: concurrent request streams, each sending
 * one header block and a body within the peer's flow-control windows, and
 * receiving header blocks (response headers, trailers) and data; plus the
 * connection's own duties (SETTINGS, PING, WINDOW_UPDATE, GOAWAY).
 */
import net from 'node:net';
import {
  CLIENT_PREFACE, ConnectionError, DEFAULT_MAX_FRAME_SIZE, DEFAULT_WINDOW_SIZE, ErrorCode, Flag, FrameReader, FrameType,
  MAX_WINDOW_SIZE, Setting, encodeFrame, goawayFrame, headerFragment, headersFrames, parseSettings, rstStreamFrame,
  settingsFrame, unpad, windowUpdateFrame, type Frame,
} from './h2-frames.js';
import { HpackDecoder, HpackEncoder, HpackError, type HeaderField } from './hpack.js';

/** How a stream ended; reported once, and never for a stream its caller cancelled. */
export type StreamClose =
  /** The server sent END_STREAM. */
  | { kind: 'ended' }
  /** The server reset the stream (RST_STREAM with an HTTP/2 error code). */
  | { kind: 'reset'; code: number }
  /** The server's GOAWAY says it never processed this stream; a retry would be safe. */
  | { kind: 'refused'; message: string }
  /** The connection was lost (socket error or close); `message` names a socket error if there was one. */
  | { kind: 'lost'; message?: string }
  /** The connection broke the protocol (ours or the server's fault): it is closed. */
  | { kind: 'error'; message: string };

/** What a request's caller hears about its stream. */
export interface StreamHandlers {
  /** A header block: the response headers, then the trailers (`end` set); one block with `end` for a trailers-only response. */
  headers(fields: HeaderField[], end: boolean): void;
  data(chunk: Buffer): void;
  close(result: StreamClose): void;
}

export interface H2ConnectionOptions {
  /** How far the server may send ahead on one stream before our WINDOW_UPDATE (our SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindow?: number;
  /** The same for the whole connection. */
  connectionWindow?: number;
}

/** Windows large enough that a big Content.Read is not throttled by round trips. */
const DEFAULT_STREAM_WINDOW = 4 << 20;
const DEFAULT_CONNECTION_WINDOW = 16 << 20;
/** A header block larger than this (a CONTINUATION flood) fails the connection. */
const MAX_HEADER_BLOCK = 1 << 20;
const MAX_STREAM_ID = 0x7fffffff;

interface Stream {
  id: number;
  readonly handlers: StreamHandlers;
  readonly headers: readonly HeaderField[];
  /** Request body still to send, from `offset`; END_STREAM goes with its last octet. */
  readonly body: Buffer;
  offset: number;
  localEnded: boolean;
  sendWindow: number;
  /** Octets received since our last WINDOW_UPDATE for this stream. */
  unacked: number;
}

const ERROR_NAMES = new Map<number, string>([
  [0x0, 'NO_ERROR'], [0x1, 'PROTOCOL_ERROR'], [0x2, 'INTERNAL_ERROR'], [0x3, 'FLOW_CONTROL_ERROR'],
  [0x4, 'SETTINGS_TIMEOUT'], [0x5, 'STREAM_CLOSED'], [0x6, 'FRAME_SIZE_ERROR'], [0x7, 'REFUSED_STREAM'],
  [0x8, 'CANCEL'], [0x9, 'COMPRESSION_ERROR'], [0xa, 'CONNECT_ERROR'], [0xb, 'ENHANCE_YOUR_CALM'],
  [0xc, 'INADEQUATE_SECURITY'], [0xd, 'HTTP_1_1_REQUIRED'],
]);

/** An HTTP/2 error code's name, for messages. */
export function errorCodeName(code: number): string {
  return ERROR_NAMES.get(code) ?? `error 0x${code.toString(16)}`;
}

/** One HTTP/2 connection to a server on a unix socket, connected at construction. */
export class H2Connection {
  private readonly socket: net.Socket;
  private readonly reader = new FrameReader();
  private readonly decoder = new HpackDecoder();
  private readonly encoder = new HpackEncoder();
  private readonly streamWindow: number;
  private readonly connectionWindow: number;

  /** Open streams by id, in the order they were opened. */
  private readonly streams = new Map<number, Stream>();
  /** Requests waiting for the server's MAX_CONCURRENT_STREAMS to allow them. */
  private readonly queued: Stream[] = [];
  private nextStreamId = 1;

  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private peerInitialWindow = DEFAULT_WINDOW_SIZE;
  private peerMaxStreams = Infinity;
  private sendWindow = DEFAULT_WINDOW_SIZE;
  private unacked = 0;

  /** A header block whose CONTINUATIONs are still arriving. */
  private partial: { streamId: number; end: boolean; parts: Buffer[]; size: number } | undefined;

  private out: Buffer[] = [];
  private flushScheduled = false;
  private dead = false;
  private goingAway = false;
  private closing = false;
  /** Why the connection went down, for the streams it takes with it. */
  private lostReason: string | undefined;

  constructor(socketPath: string, options: H2ConnectionOptions = {}) {
    this.streamWindow = options.streamWindow ?? DEFAULT_STREAM_WINDOW;
    this.connectionWindow = options.connectionWindow ?? DEFAULT_CONNECTION_WINDOW;
    this.socket = net.connect(socketPath);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => (this.lostReason ??= err.message));
    this.socket.on('close', () => this.onClose());
    // Prior knowledge: the preface and our settings go out at once, queued until the socket connects.
    this.write(CLIENT_PREFACE);
    this.write(settingsFrame([
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, this.streamWindow],
    ]));
    if (this.connectionWindow > DEFAULT_WINDOW_SIZE) this.write(windowUpdateFrame(0, this.connectionWindow - DEFAULT_WINDOW_SIZE));
  }

  /** False once the connection failed, is closing or was told GOAWAY: new requests need a new connection. */
  get usable(): boolean {
    return !this.dead && !this.goingAway && !this.closing && this.nextStreamId <= MAX_STREAM_ID;
  }

  /**
   * Opens a stream: sends `headers` (pseudo-headers first) and `body`, then
   * END_STREAM. Returns the stream's cancel: RST_STREAM(CANCEL), and no
   * further callbacks.
   */
  request(headers: readonly HeaderField[], body: Buffer, handlers: StreamHandlers): () => void {
    const stream: Stream = { id: 0, handlers, headers, body, offset: 0, localEnded: false, sendWindow: 0, unacked: 0 };
    if (!this.usable) {
      queueMicrotask(() => handlers.close({ kind: 'lost', message: this.lostReason }));
      return () => {};
    }
    this.socket.ref();
    this.queued.push(stream);
    this.startQueued();
    return () => this.cancel(stream);
  }

  /** Closes once the open streams are done (like http2's session.close()). */
  close(): void {
    this.closing = true;
    this.shutdownIfIdle();
  }

  private cancel(stream: Stream): void {
    const queuedAt = this.queued.indexOf(stream);
    if (queuedAt >= 0) this.queued.splice(queuedAt, 1);
    else if (this.streams.get(stream.id) === stream) {
      this.streams.delete(stream.id);
      if (!this.dead) this.write(rstStreamFrame(stream.id, ErrorCode.CANCEL));
    } else return;
    this.afterStreamEnd();
  }

  private startQueued(): void {
    while (this.queued.length && this.streams.size < this.peerMaxStreams && !this.dead) {
      const stream = this.queued.shift()!;
      stream.id = this.nextStreamId;
      this.nextStreamId += 2;
      stream.sendWindow = this.peerInitialWindow;
      this.streams.set(stream.id, stream);
      const block = this.encoder.encode(stream.headers);
      for (const f of headersFrames(stream.id, block, stream.body.length === 0, this.peerMaxFrameSize)) this.write(f);
      if (stream.body.length === 0) stream.localEnded = true;
    }
    this.sendData();
  }

  /** Sends what the flow-control windows allow of each stream's body, oldest stream first. */
  private sendData(): void {
    for (const stream of this.streams.values()) {
      while (!stream.localEnded && this.sendWindow > 0 && stream.sendWindow > 0) {
        const n = Math.min(stream.body.length - stream.offset, this.peerMaxFrameSize, stream.sendWindow, this.sendWindow);
        const last = stream.offset + n === stream.body.length;
        this.write(encodeFrame(FrameType.DATA, last ? Flag.END_STREAM : 0, stream.id, stream.body.subarray(stream.offset, stream.offset + n)));
        stream.offset += n;
        stream.sendWindow -= n;
        this.sendWindow -= n;
        stream.localEnded = last;
      }
      if (this.sendWindow <= 0) return;
    }
  }

  /** Removes a stream that ended and tells its caller. */
  private finish(stream: Stream, result: StreamClose): void {
    if (this.streams.get(stream.id) !== stream) return;
    this.streams.delete(stream.id);
    // A complete response ends the call even if our request was not all sent: stop sending it.
    if (result.kind === 'ended' && !stream.localEnded) this.write(rstStreamFrame(stream.id, ErrorCode.CANCEL));
    stream.handlers.close(result);
    this.afterStreamEnd();
  }

  private afterStreamEnd(): void {
    this.startQueued();
    this.shutdownIfIdle();
    // An idle connection does not keep the process alive (a pending call does).
    if (!this.streams.size && !this.queued.length) this.socket.unref();
  }

  private shutdownIfIdle(): void {
    if (this.dead || this.streams.size || this.queued.length) return;
    if (!this.closing && !this.goingAway) return;
    this.dead = true;
    this.write(goawayFrame(0, ErrorCode.NO_ERROR));
    this.flush();
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
    try {
      for (const frame of this.reader.push(chunk)) {
        if (this.dead) return;
        this.onFrame(frame);
      }
    } catch (err) {
      const code = err instanceof ConnectionError ? err.code : ErrorCode.INTERNAL_ERROR;
      this.fail(code, (err as Error).message);
    }
  }

  private onFrame(f: Frame): void {
    if (this.partial && f.type !== FrameType.CONTINUATION) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `frame type ${f.type} inside a header block`);
    switch (f.type) {
      case FrameType.DATA: return this.onDataFrame(f);
      case FrameType.HEADERS: {
        this.requireStream(f);
        const end = (f.flags & Flag.END_STREAM) !== 0;
        return this.onHeaderFragment(f, { streamId: f.streamId, end, parts: [], size: 0 }, headerFragment(f));
      }
      case FrameType.CONTINUATION:
        if (!this.partial || this.partial.streamId !== f.streamId) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block');
        return this.onHeaderFragment(f, this.partial, f.payload);
      case FrameType.PRIORITY: return; // advice for servers
      case FrameType.RST_STREAM: return this.onRstStream(f);
      case FrameType.SETTINGS: return this.onSettings(f);
      case FrameType.PUSH_PROMISE: throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE although we disabled push');
      case FrameType.PING: return this.onPing(f);
      case FrameType.GOAWAY: return this.onGoaway(f);
      case FrameType.WINDOW_UPDATE: return this.onWindowUpdate(f);
      default: return; // unknown frame types are ignored (RFC 9113 section 4.1)
    }
  }

  /** A stream frame must name a stream we opened (odd, already used); it may since have closed. */
  private requireStream(f: Frame): void {
    if (f.streamId === 0 || f.streamId % 2 === 0 || f.streamId >= this.nextStreamId) {
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `frame type ${f.type} on stream ${f.streamId}, which we never opened`);
    }
  }

  private onDataFrame(f: Frame): void {
    this.requireStream(f);
    // Padding counts against the windows too.
    this.unacked += f.payload.length;
    if (this.unacked >= this.connectionWindow / 2) {
      this.write(windowUpdateFrame(0, this.unacked));
      this.unacked = 0;
    }
    const stream = this.streams.get(f.streamId);
    const data = unpad(f);
    if (!stream) return; // cancelled or finished: its data only counted for the connection
    const end = (f.flags & Flag.END_STREAM) !== 0;
    stream.unacked += f.payload.length;
    if (!end && stream.unacked >= this.streamWindow / 2) {
      this.write(windowUpdateFrame(stream.id, stream.unacked));
      stream.unacked = 0;
    }
    if (data.length) stream.handlers.data(data);
    if (end) this.finish(stream, { kind: 'ended' });
  }

  private onHeaderFragment(f: Frame, block: { streamId: number; end: boolean; parts: Buffer[]; size: number }, fragment: Buffer): void {
    block.parts.push(fragment);
    block.size += fragment.length;
    if (block.size > MAX_HEADER_BLOCK) throw new ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, `header block larger than ${MAX_HEADER_BLOCK} octets`);
    if (!(f.flags & Flag.END_HEADERS)) {
      this.partial = block;
      return;
    }
    this.partial = undefined;
    let fields: HeaderField[];
    try {
      // Decoded even for a stream we no longer want: the blocks share the dynamic table.
      fields = this.decoder.decode(block.parts.length === 1 ? block.parts[0]! : Buffer.concat(block.parts));
    } catch (err) {
      if (err instanceof HpackError) throw new ConnectionError(ErrorCode.COMPRESSION_ERROR, `bad header block: ${err.message}`);
      throw err;
    }
    const stream = this.streams.get(block.streamId);
    if (!stream) return;
    stream.handlers.headers(fields, block.end);
    if (block.end) this.finish(stream, { kind: 'ended' });
  }

  private onRstStream(f: Frame): void {
    this.requireStream(f);
    if (f.payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM is not 4 octets');
    const stream = this.streams.get(f.streamId);
    if (stream) this.finish(stream, { kind: 'reset', code: f.payload.readUInt32BE(0) });
  }

  private onSettings(f: Frame): void {
    if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (f.flags & Flag.ACK) {
      if (f.payload.length) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    for (const [id, value] of parseSettings(f.payload)) {
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          this.encoder.peerTableSizeChanged();
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peerMaxStreams = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW_SIZE) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, `INITIAL_WINDOW_SIZE ${value} is too large`);
          // Applies to open streams too, and may take a window below zero (RFC 9113 section 6.9.2).
          const delta = value - this.peerInitialWindow;
          this.peerInitialWindow = value;
          for (const stream of this.streams.values()) stream.sendWindow += delta;
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value} is out of range`);
          this.peerMaxFrameSize = value;
          break;
        default:
          break; // ENABLE_PUSH, MAX_HEADER_LIST_SIZE (advisory) and unknown settings
      }
    }
    this.write(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    this.startQueued();
  }

  private onPing(f: Frame): void {
    if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (f.payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING is not 8 octets');
    if (!(f.flags & Flag.ACK)) this.write(encodeFrame(FrameType.PING, Flag.ACK, 0, f.payload));
  }

  private onGoaway(f: Frame): void {
    if (f.streamId !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (f.payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY shorter than 8 octets');
    const last = f.payload.readUInt32BE(0) & MAX_STREAM_ID;
    const code = f.payload.readUInt32BE(4);
    const debug = f.payload.subarray(8).toString('latin1');
    const what = `the server sent GOAWAY (${errorCodeName(code)}${debug ? `: ${debug}` : ''})`;
    this.goingAway = true;
    if (code !== ErrorCode.NO_ERROR) this.lostReason ??= what;
    // Streams above `last` were never processed; those below may still complete.
    for (const stream of [...this.streams.values()]) {
      if (stream.id > last) this.finish(stream, { kind: 'refused', message: `${what}: the call was not processed` });
    }
    for (const stream of this.queued.splice(0)) stream.handlers.close({ kind: 'refused', message: `${what}: the call was not sent` });
    this.afterStreamEnd();
  }

  private onWindowUpdate(f: Frame): void {
    if (f.payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE is not 4 octets');
    const increment = f.payload.readUInt32BE(0) & MAX_WINDOW_SIZE;
    if (f.streamId === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_SIZE) throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
    } else {
      this.requireStream(f);
      const stream = this.streams.get(f.streamId);
      if (!stream) return;
      stream.sendWindow += increment;
      // Stream errors: only this stream fails.
      if (increment === 0 || stream.sendWindow > MAX_WINDOW_SIZE) {
        const code = increment === 0 ? ErrorCode.PROTOCOL_ERROR : ErrorCode.FLOW_CONTROL_ERROR;
        this.write(rstStreamFrame(stream.id, code));
        stream.localEnded = true;
        this.finish(stream, { kind: 'error', message: `the server broke flow control on the stream (${errorCodeName(code)})` });
        return;
      }
    }
    this.sendData();
  }

  /** A connection error: GOAWAY with `code`, close, and fail every stream. */
  private fail(code: number, message: string): void {
    if (this.dead) return;
    this.dead = true;
    this.write(goawayFrame(0, code, message));
    this.flush();
    this.socket.end();
    this.failAll({ kind: 'error', message: `HTTP/2 ${errorCodeName(code)}: ${message}` });
  }

  private onClose(): void {
    this.dead = true;
    this.failAll({ kind: 'lost', message: this.lostReason });
  }

  private failAll(result: StreamClose): void {
    const streams = [...this.streams.values(), ...this.queued.splice(0)];
    this.streams.clear();
    for (const stream of streams) stream.handlers.close(result);
    this.socket.unref();
  }

  /** Frames go out together at the end of the current job: one write for a call's HEADERS and DATA. */
  private write(buf: Buffer): void {
    this.out.push(buf);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.out;
    if (!out.length) return;
    this.out = [];
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.cork();
    for (const buf of out) this.socket.write(buf);
    this.socket.uncork();
  }
}
