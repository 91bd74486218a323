/**
 * HTTP/2 framing (RFC 9113 sections 4 and 6): the constants, a reader that
 * cuts a byte stream into frames, and builders for the frames a client sends.
 */

/** Frame types (RFC 9113 section 6). */
export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

/** Frame flags; END_STREAM and ACK share a bit on different frame types. */
export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 section 7). */
export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

/** SETTINGS parameters (RFC 9113 section 6.5.2). */
export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** What a client sends first, before its SETTINGS (RFC 9113 section 3.4). */
export const CLIENT_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Frame payloads are 16 KiB at most until a peer allows more. */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
/** Both kinds of flow-control window start here (RFC 9113 section 6.9.2). */
export const DEFAULT_WINDOW_SIZE = 65535;
/** The largest flow-control window, 2^31-1. */
export const MAX_WINDOW_SIZE = 0x7fffffff;

const HEADER_LENGTH = 9;

/** One frame as read: the payload still holds any padding and priority fields. */
export interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

/** A connection error (RFC 9113 section 5.4.1): we send GOAWAY with `code` and close. */
export class ConnectionError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** Cuts the bytes read from a connection into frames. */
export class FrameReader {
  private buffered: Buffer = Buffer.alloc(0);

  /** `maxFrameSize` is our SETTINGS_MAX_FRAME_SIZE: a longer frame is a FRAME_SIZE_ERROR. */
  constructor(private readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** The frames completed by `chunk`, in order. */
  push(chunk: Buffer): Frame[] {
    // What is left over is less than one frame, so this copies little.
    let buf = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const frames: Frame[] = [];
    while (buf.length >= HEADER_LENGTH) {
      const length = buf.readUIntBE(0, 3);
      if (length > this.maxFrameSize) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} octets exceeds ${this.maxFrameSize}`);
      if (buf.length < HEADER_LENGTH + length) break;
      frames.push({
        type: buf[3]!,
        flags: buf[4]!,
        streamId: buf.readUInt32BE(5) & MAX_WINDOW_SIZE,
        payload: buf.subarray(HEADER_LENGTH, HEADER_LENGTH + length),
      });
      buf = buf.subarray(HEADER_LENGTH + length);
    }
    this.buffered = buf;
    return frames;
  }
}

/** One frame's bytes. */
export function encodeFrame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.allocUnsafe(HEADER_LENGTH);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return payload.length ? Buffer.concat([head, payload]) : head;
}

/** A frame's content without its padding (DATA, HEADERS: PADDED flag, RFC 9113 section 6.1). */
export function unpad(frame: Frame): Buffer {
  if (!(frame.flags & Flag.PADDED)) return frame.payload;
  if (frame.payload.length < 1) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'padded frame without a pad length');
  const pad = frame.payload[0]!;
  if (pad >= frame.payload.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding longer than the frame');
  return frame.payload.subarray(1, frame.payload.length - pad);
}

/** A HEADERS frame's header block fragment: without padding and priority fields. */
export function headerFragment(frame: Frame): Buffer {
  const content = unpad(frame);
  if (!(frame.flags & Flag.PRIORITY)) return content;
  // Stream dependency (4 octets) and weight (1), which a client ignores.
  if (content.length < 5) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS too short for its priority fields');
  return content.subarray(5);
}

/** A SETTINGS frame's parameters as [identifier, value] pairs. */
export function parseSettings(payload: Buffer): [id: number, value: number][] {
  if (payload.length % 6) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length is not a multiple of 6');
  const out: [number, number][] = [];
  for (let i = 0; i < payload.length; i += 6) out.push([payload.readUInt16BE(i), payload.readUInt32BE(i + 2)]);
  return out;
}

export function settingsFrame(settings: readonly (readonly [id: number, value: number])[]): Buffer {
  const payload = Buffer.allocUnsafe(settings.length * 6);
  settings.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, i * 6);
    payload.writeUInt32BE(value, i * 6 + 2);
  });
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload);
}

export function windowUpdateFrame(streamId: number, increment: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(increment, 0);
  return encodeFrame(FrameType.WINDOW_UPDATE, 0, streamId, payload);
}

export function rstStreamFrame(streamId: number, code: number): Buffer {
  const payload = Buffer.allocUnsafe(4);
  payload.writeUInt32BE(code, 0);
  return encodeFrame(FrameType.RST_STREAM, 0, streamId, payload);
}

export function goawayFrame(lastStreamId: number, code: number, debug = ''): Buffer {
  const payload = Buffer.concat([Buffer.alloc(8), Buffer.from(debug)]);
  payload.writeUInt32BE(lastStreamId, 0);
  payload.writeUInt32BE(code, 4);
  return encodeFrame(FrameType.GOAWAY, 0, 0, payload);
}

/**
 * A header block as HEADERS plus CONTINUATION frames no longer than the
 * peer's maximum frame size (RFC 9113 section 6.10).
 */
export function headersFrames(streamId: number, block: Buffer, endStream: boolean, maxFrameSize: number): Buffer[] {
  const frames: Buffer[] = [];
  let offset = 0;
  do {
    const piece = block.subarray(offset, offset + maxFrameSize);
    offset += piece.length;
    const last = offset >= block.length;
    const first = frames.length === 0;
    const flags = (last ? Flag.END_HEADERS : 0) | (first && endStream ? Flag.END_STREAM : 0);
    frames.push(encodeFrame(first ? FrameType.HEADERS : FrameType.CONTINUATION, flags, streamId, piece));
  } while (offset < block.length);
  return frames;
}
