import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { H2Connection, type H2ConnectionOptions, type StreamClose } from '../../src/wire/h2-connection.js';
import {
  CLIENT_PREFACE, ErrorCode, Flag, FrameReader, FrameType, Setting, encodeFrame, parseSettings, settingsFrame, windowUpdateFrame, type Frame,
} from '../../src/wire/h2-frames.js';
import { HpackDecoder, writeInteger, type HeaderField } from '../../src/wire/hpack.js';

const REQUEST: HeaderField[] = [[':method', 'POST'], [':scheme', 'http'], [':path', '/echo'], [':authority', 'localhost']];

interface Reply {
  blocks: { fields: HeaderField[]; end: boolean }[];
  data: Buffer;
  close: StreamClose;
}

/** One request on `conn`, collected. */
function call(conn: H2Connection, body: Buffer | string = '', headers: HeaderField[] = REQUEST): Promise<Reply> {
  return new Promise((resolve) => {
    const blocks: Reply['blocks'] = [];
    const chunks: Buffer[] = [];
    conn.request(headers, Buffer.from(body), {
      headers: (fields, end) => blocks.push({ fields, end }),
      data: (chunk) => chunks.push(chunk),
      close: (close) => resolve({ blocks, data: Buffer.concat(chunks), close }),
    });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('wire/h2-connection', () => {
  let dir: string;
  let n = 0;
  const servers: { close(): void }[] = [];
  const conns: H2Connection[] = [];
  const sock = () => path.join(dir, `h2-${n++}.sock`);

  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wire-h2-'));
  });
  afterEach(() => {
    for (const c of conns.splice(0)) c.close();
    for (const s of servers.splice(0)) s.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** A node:http2 (nghttp2) server on a fresh unix socket. */
  async function nodeServer(onStream: (s: http2.ServerHttp2Stream, h: http2.IncomingHttpHeaders, session: http2.ServerHttp2Session) => void, options: http2.ServerOptions = {}) {
    const socketPath = sock();
    const server = http2.createServer(options);
    const sessions = new Set<http2.ServerHttp2Session>();
    server.on('session', (s) => sessions.add(s));
    server.on('stream', (s, h) => onStream(s, h, s.session as http2.ServerHttp2Session));
    await new Promise<void>((r) => server.listen(socketPath, r));
    servers.push({ close: () => { for (const s of sessions) s.destroy(); server.close(); } });
    return { socketPath, sessions };
  }

  function connect(socketPath: string, options?: H2ConnectionOptions): H2Connection {
    const c = new H2Connection(socketPath, options);
    conns.push(c);
    return c;
  }

  describe('against node:http2 (nghttp2)', () => {
    it('reads nghttp2\'s Huffman strings for every octet a header value may hold, and its dynamic table over many blocks', async () => {
      // Each rare octet sits among common letters, so nghttp2 Huffman-codes the value (it does when that is shorter).
      const octets = [9, ...Array.from({ length: 0x7f - 0x20 }, (_, i) => 0x20 + i), ...Array.from({ length: 0x80 }, (_, i) => 0x80 + i)];
      const value = (o: number, round: number) => `${'e'.repeat(30)}${String.fromCharCode(o)}${'t'.repeat(round)}`;
      const { socketPath } = await nodeServer((s, h) => {
        const round = Number(h['x-round']);
        const headers: http2.OutgoingHttpHeaders = { ':status': 200, 'x-same': 'the same every time' };
        for (const o of octets) headers[`x-o${o}`] = value(o, round);
        s.respond(headers);
        s.end('ok');
      });
      const conn = connect(socketPath);
      for (let round = 0; round < 4; round++) {
        const reply = await call(conn, '', [...REQUEST, ['x-round', String(round)]]);
        expect(reply.close).to.deep.equal({ kind: 'ended' });
        const got = new Map(reply.blocks[0]!.fields);
        expect(got.get(':status')).to.equal('200');
        expect(got.get('x-same')).to.equal('the same every time');
        for (const o of octets) expect(got.get(`x-o${o}`), `octet ${o}`).to.equal(value(o, round));
        expect(reply.data.toString()).to.equal('ok');
      }
    });

    it('sends a large body within the server\'s windows and frame size, and reads a larger one granting windows as it goes', async () => {
      const body = Buffer.alloc(1 << 20);
      for (let i = 0; i < body.length; i++) body[i] = (i * 7 + (i >> 11)) & 0xff;
      const { socketPath } = await nodeServer((s) => {
        const chunks: Buffer[] = [];
        s.on('data', (c: Buffer) => chunks.push(c));
        s.on('end', () => {
          const got = Buffer.concat(chunks);
          s.respond({ ':status': 200, 'x-sha': sha(got) });
          for (let i = 0; i < 5; i++) s.write(got);
          s.end();
        });
      });
      // Our smallest windows: the server has to wait for our WINDOW_UPDATEs all along.
      const conn = connect(socketPath, { streamWindow: 65535, connectionWindow: 65535 });
      const reply = await call(conn, body);
      expect(reply.close).to.deep.equal({ kind: 'ended' });
      expect(new Map(reply.blocks[0]!.fields).get('x-sha')).to.equal(sha(body));
      expect(reply.data.length).to.equal(5 * body.length);
      expect(sha(reply.data)).to.equal(sha(Buffer.concat([body, body, body, body, body])));
    });

    it('reads padded HEADERS and DATA, a header block split into CONTINUATIONs, and trailers', async () => {
      const big = Array.from({ length: 40000 }, (_, i) => String.fromCharCode(0x21 + ((i * 31) % 90))).join('');
      const { socketPath } = await nodeServer((s) => {
        s.respond({ ':status': 200, 'x-big': big }, { waitForTrailers: true });
        s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0', 'x-big-trailer': big.slice(0, 30000) }));
        s.end(Buffer.alloc(100000, 'd'));
      }, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
      const reply = await call(connect(socketPath));
      expect(reply.close).to.deep.equal({ kind: 'ended' });
      expect(reply.blocks.map((b) => b.end)).to.deep.equal([false, true]);
      expect(new Map(reply.blocks[0]!.fields).get('x-big')).to.equal(big);
      expect(reply.blocks[1]!.fields).to.deep.equal([['grpc-status', '0'], ['x-big-trailer', big.slice(0, 30000)]]);
      expect(reply.data.equals(Buffer.alloc(100000, 'd'))).to.equal(true);
    });

    it('runs concurrent streams on one connection with odd increasing ids, and answers PING', async () => {
      const ids: number[] = [];
      const { socketPath, sessions } = await nodeServer((s, h) => {
        ids.push(s.id!);
        setTimeout(() => {
          s.respond({ ':status': 200 });
          s.end(String(h['x-n']));
        }, 20);
      });
      const conn = connect(socketPath);
      const replies = await Promise.all([0, 1, 2, 3, 4].map((i) => call(conn, '', [...REQUEST, ['x-n', String(i)]])));
      expect(replies.map((r) => r.data.toString())).to.deep.equal(['0', '1', '2', '3', '4']);
      expect(ids).to.deep.equal([1, 3, 5, 7, 9]);
      expect(sessions.size).to.equal(1);
      const [session] = sessions;
      const payload = Buffer.from('12345678');
      const acked = await new Promise<Buffer>((resolve, reject) => session!.ping(payload, (err, _ms, p) => (err ? reject(err) : resolve(p))));
      expect(acked.equals(payload)).to.equal(true);
      expect((await call(conn)).close).to.deep.equal({ kind: 'ended' });
    });

    it('keeps to the server\'s MAX_CONCURRENT_STREAMS, queueing the rest', async () => {
      let open = 0;
      let most = 0;
      const { socketPath } = await nodeServer((s) => {
        most = Math.max(most, ++open);
        setTimeout(() => {
          open--;
          s.respond({ ':status': 200 });
          s.end('x');
        }, 15);
      }, { settings: { maxConcurrentStreams: 1 } });
      const conn = connect(socketPath);
      await call(conn); // the server's SETTINGS are in by its end
      const replies = await Promise.all([0, 1, 2].map(() => call(conn)));
      expect(replies.map((r) => r.close.kind)).to.deep.equal(['ended', 'ended', 'ended']);
      expect(most).to.equal(1);
    });

    it('cancels a stream with RST_STREAM(CANCEL) and goes on using the connection', async () => {
      let rst: Promise<number> = Promise.resolve(-1);
      const { socketPath } = await nodeServer((s, h) => {
        if (h[':path'] === '/hang') {
          rst = new Promise((r) => s.on('close', () => r(s.rstCode)));
          s.respond({ ':status': 200 });
          s.write('partial');
          return;
        }
        s.respond({ ':status': 200 });
        s.end('fine');
      });
      const conn = connect(socketPath);
      let closed = false;
      const cancel = conn.request([[':method', 'POST'], [':scheme', 'http'], [':path', '/hang'], [':authority', 'localhost']], Buffer.from('x'), {
        headers: () => {},
        data: () => cancel(),
        close: () => (closed = true),
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(await rst).to.equal(http2.constants.NGHTTP2_CANCEL);
      expect(closed, 'no callback after cancel').to.equal(false);
      expect((await call(conn)).data.toString()).to.equal('fine');
    });

    it('reports the server\'s RST_STREAM code', async () => {
      const { socketPath } = await nodeServer((s) => {
        s.on('error', () => {}); // node reports its own reset as an error
        s.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      });
      expect((await call(connect(socketPath))).close).to.deep.equal({ kind: 'reset', code: ErrorCode.ENHANCE_YOUR_CALM });
    });

    it('on GOAWAY fails the streams the server will not process, finishes the others, and takes no new ones', async () => {
      let first: http2.ServerHttp2Stream | undefined;
      const { socketPath } = await nodeServer((s, h, session) => {
        if (h[':path'] === '/first') {
          first = s;
          return;
        }
        s.on('error', () => {}); // node refuses it itself after the GOAWAY
        session.goaway(http2.constants.NGHTTP2_NO_ERROR, first!.id!, Buffer.from('bye'));
        first!.respond({ ':status': 200 });
        first!.end('done');
      });
      const conn = connect(socketPath);
      const one = call(conn, '', [[':method', 'POST'], [':scheme', 'http'], [':path', '/first'], [':authority', 'localhost']]);
      await new Promise((r) => setTimeout(r, 30));
      const two = call(conn);
      const [r1, r2] = await Promise.all([one, two]);
      expect(r1.close).to.deep.equal({ kind: 'ended' });
      expect(r1.data.toString()).to.equal('done');
      expect(r2.close.kind).to.equal('refused');
      expect((r2.close as { message: string }).message).to.match(/GOAWAY \(NO_ERROR: bye\)/);
      expect(conn.usable).to.equal(false);
      expect((await call(conn)).close.kind).to.equal('lost');
    });

    it('fails open streams when the server drops the connection, and names a failed connect', async () => {
      const { socketPath } = await nodeServer((s) => s.session!.destroy());
      const reply = await call(connect(socketPath));
      expect(reply.close.kind).to.equal('lost');
      const nowhere = await call(connect(path.join(dir, 'nope.sock')));
      expect(nowhere.close).to.deep.equal({ kind: 'lost', message: `connect ENOENT ${path.join(dir, 'nope.sock')}` });
    });
  });

  describe('against a raw peer (frames nghttp2 does not send)', () => {
    interface RawPeer {
      send(b: Buffer): void;
      /** The first frame from the client, not yet taken, that `pred` accepts (waiting for it if need be). */
      take(pred: (f: Frame) => boolean): Promise<Frame>;
      /** Every frame the client sent. */
      frames: Frame[];
    }

    /** A server that speaks HTTP/2 frames by hand; `peer` is its first connection. */
    async function rawServer(): Promise<{ socketPath: string; peer: Promise<RawPeer> }> {
      const socketPath = sock();
      const sockets = new Set<net.Socket>();
      let gotPeer: (p: RawPeer) => void = () => {};
      const peer = new Promise<RawPeer>((r) => (gotPeer = r));
      const server = net.createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
        const reader = new FrameReader(1 << 24);
        let preface = Buffer.alloc(0);
        const frames: Frame[] = [];
        const taken = new Set<Frame>();
        let wake = () => {};
        const take = async (pred: (f: Frame) => boolean): Promise<Frame> => {
          for (;;) {
            const f = frames.find((x) => !taken.has(x) && pred(x));
            if (f) {
              taken.add(f);
              return f;
            }
            await new Promise<void>((r) => (wake = r));
          }
        };
        socket.on('data', (chunk: Buffer) => {
          if (preface.length < CLIENT_PREFACE.length) {
            const need = CLIENT_PREFACE.length - preface.length;
            preface = Buffer.concat([preface, chunk.subarray(0, need)]);
            chunk = chunk.subarray(need);
          }
          frames.push(...reader.push(chunk));
          wake();
        });
        gotPeer({ send: (b) => socket.write(b), take, frames });
      });
      await new Promise<void>((r) => server.listen(socketPath, r));
      servers.push({ close: () => { for (const s of sockets) s.destroy(); server.close(); } });
      return { socketPath, peer };
    }

    const settle = () => new Promise((r) => setTimeout(r, 30));
    const is = (type: number, streamId?: number, flags = 0) => (f: Frame) => f.type === type && (streamId === undefined || f.streamId === streamId) && (f.flags & flags) === flags;
    const dataSent = (peer: RawPeer, id: number) => peer.frames.filter(is(FrameType.DATA, id)).reduce((n, f) => n + f.payload.length, 0);
    /** HEADERS ending the stream with `:status: 200` (static index 8). */
    const done = (id: number) => encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, id, Buffer.from([0x88]));
    const literal = (name: string, value: string, indexing = false): number[] => {
      const out: number[] = [indexing ? 0x40 : 0x00];
      for (const str of [name, value]) {
        writeInteger(out, 0, 7, str.length);
        out.push(...Buffer.from(str, 'latin1'));
      }
      return out;
    };

    it('sends its preface and settings, then keeps to the stream window, the connection window and the frame size', async () => {
      const { socketPath, peer: peerP } = await rawServer();
      const conn = connect(socketPath);
      const warmUp = call(conn); // an empty body: HEADERS with END_STREAM
      const peer = await peerP;
      const settings = new Map(parseSettings((await peer.take(is(FrameType.SETTINGS))).payload));
      expect(settings.get(Setting.ENABLE_PUSH)).to.equal(0);
      expect(settings.get(Setting.INITIAL_WINDOW_SIZE)).to.equal(4 << 20);
      expect((await peer.take(is(FrameType.WINDOW_UPDATE, 0))).payload.readUInt32BE(0)).to.equal((16 << 20) - 65535);
      peer.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 100], [Setting.HEADER_TABLE_SIZE, 1024]]));
      await peer.take(is(FrameType.HEADERS, 1, Flag.END_STREAM | Flag.END_HEADERS));
      await peer.take(is(FrameType.SETTINGS, 0, Flag.ACK));
      peer.send(done(1));
      expect((await warmUp).close).to.deep.equal({ kind: 'ended' });

      const body = Buffer.alloc(70000, 'b');
      const reply = call(conn, body, [...REQUEST, ['x-extra', 'yes']]);
      const headers = await peer.take(is(FrameType.HEADERS, 3));
      // Our HEADER_TABLE_SIZE was answered by a size update (to 0) at the start of the next block.
      expect(headers.payload[0]).to.equal(0x20);
      expect(new HpackDecoder().decode(headers.payload)).to.deep.equal([...REQUEST, ['x-extra', 'yes']]);
      await settle();
      expect(dataSent(peer, 3)).to.equal(100);
      peer.send(windowUpdateFrame(3, 100000));
      await settle();
      expect(dataSent(peer, 3)).to.equal(65535); // now the connection's window is the limit
      peer.send(windowUpdateFrame(0, 10000));
      await peer.take(is(FrameType.DATA, 3, Flag.END_STREAM));
      expect(dataSent(peer, 3)).to.equal(70000);
      expect(Math.max(...peer.frames.filter(is(FrameType.DATA)).map((f) => f.payload.length))).to.equal(16384);
      peer.send(done(3));
      expect((await reply).close).to.deep.equal({ kind: 'ended' });
    });

    it('stops sending a request whose complete response came first (RST_STREAM CANCEL)', async () => {
      const { socketPath, peer: peerP } = await rawServer();
      const conn = connect(socketPath);
      const warmUp = call(conn);
      const peer = await peerP;
      peer.send(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 10]]));
      await peer.take(is(FrameType.SETTINGS, 0, Flag.ACK));
      peer.send(done(1));
      await warmUp;
      const reply = call(conn, Buffer.alloc(1000));
      await peer.take(is(FrameType.DATA, 3));
      peer.send(done(3));
      expect((await reply).close).to.deep.equal({ kind: 'ended' });
      expect((await peer.take(is(FrameType.RST_STREAM, 3))).payload.readUInt32BE(0)).to.equal(ErrorCode.CANCEL);
      expect(dataSent(peer, 3)).to.equal(10);
    });

    it('reads PADDED and PRIORITY HEADERS continued by CONTINUATION, a size update, dynamic entries, padded DATA; answers PING; skips unknown frames', async () => {
      const { socketPath, peer: peerP } = await rawServer();
      const conn = connect(socketPath);
      const reply = call(conn, 'request');
      const peer = await peerP;
      await peer.take(is(FrameType.DATA, 1, Flag.END_STREAM));
      const sizeUpdate: number[] = [];
      writeInteger(sizeUpdate, 0x20, 5, 200);
      const block = Buffer.from([...sizeUpdate, 0x48, 3, ...Buffer.from('200'), ...literal('x-dyn', 'one', true)]);
      const cut = 5;
      peer.send(encodeFrame(0xfa, 0xff, 0, Buffer.from('unknown frame type')));
      peer.send(encodeFrame(FrameType.PRIORITY, 0, 1, Buffer.from([0, 0, 0, 0, 16])));
      const headersPayload = Buffer.concat([Buffer.from([3]), Buffer.from([0x80, 0, 0, 0, 15]), block.subarray(0, cut), Buffer.alloc(3)]);
      peer.send(encodeFrame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY, 1, headersPayload));
      peer.send(encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(cut)));
      peer.send(encodeFrame(FrameType.PING, 0, 0, Buffer.from('pingpong')));
      peer.send(encodeFrame(FrameType.DATA, Flag.PADDED, 1, Buffer.concat([Buffer.from([4]), Buffer.from('hello'), Buffer.alloc(4)])));
      // Index 62 is the newest dynamic entry (x-dyn: one), 63 the one before (:status: 200).
      peer.send(encodeFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.from([0xbe, 0xbf, ...literal('grpc-status', '0')])));
      const r = await reply;
      expect(r.close).to.deep.equal({ kind: 'ended' });
      expect(r.blocks).to.deep.equal([
        { fields: [[':status', '200'], ['x-dyn', 'one']], end: false },
        { fields: [['x-dyn', 'one'], [':status', '200'], ['grpc-status', '0']], end: true },
      ]);
      expect(r.data.toString()).to.equal('hello');
      expect((await peer.take(is(FrameType.PING, 0, Flag.ACK))).payload.toString()).to.equal('pingpong');
    });

    for (const [what, frame, code] of [
      ['a frame on a stream it never opened', encodeFrame(FrameType.DATA, 0, 2, Buffer.from('x')), ErrorCode.PROTOCOL_ERROR],
      ['a frame longer than its MAX_FRAME_SIZE', encodeFrame(FrameType.DATA, 0, 1, Buffer.alloc(20000)), ErrorCode.FRAME_SIZE_ERROR],
      ['a header block it cannot decode', encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80])), ErrorCode.COMPRESSION_ERROR],
      ['another frame inside a header block', Buffer.concat([encodeFrame(FrameType.HEADERS, 0, 1, Buffer.from([0x88])), encodeFrame(FrameType.PING, 0, 0, Buffer.alloc(8))]), ErrorCode.PROTOCOL_ERROR],
      ['PUSH_PROMISE', encodeFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.from([0, 0, 0, 2, 0x82])), ErrorCode.PROTOCOL_ERROR],
    ] as const) {
      it(`fails the connection with GOAWAY on ${what}`, async () => {
        const { socketPath, peer: peerP } = await rawServer();
        const conn = connect(socketPath);
        const reply = call(conn, 'x');
        const peer = await peerP;
        await peer.take(is(FrameType.DATA, 1, Flag.END_STREAM));
        peer.send(frame);
        const r = await reply;
        expect(r.close.kind).to.equal('error');
        const goaway = await peer.take(is(FrameType.GOAWAY, 0));
        expect(goaway.payload.readUInt32BE(4)).to.equal(code);
        expect(conn.usable).to.equal(false);
      });
    }
  });
});
