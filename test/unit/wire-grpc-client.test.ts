import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { loadContainerdApi } from '../../src/proto.js';
import { GrpcChannel, GrpcError } from '../../src/wire/grpc-client.js';
import { containerdSchema } from '../../src/wire/schema.js';
import { fromServiceError } from '../../src/grpc-codes.js';

const VERSION = 'containerd.services.version.v1.Version';
const EVENTS = 'containerd.services.events.v1.Events';
const CONTAINERS = 'containerd.services.containers.v1.Containers';
const CONTENT = 'containerd.services.content.v1.Content';

/** A spec of `n` bytes of JSON that no compression shortens much. */
function bigSpec(n: number): Buffer {
  let s = '{"x":"';
  for (let i = 0; s.length < n - 2; i++) s += ((i * 2654435761) >>> 0).toString(36);
  return Buffer.from(`${s.slice(0, n - 2)}"}`);
}

/** A real grpc-js server (what the daemon runs) on a unix socket, with a few behaviours to talk to. */
describe('wire/grpc-client against a grpc-js server', () => {
  let dir: string;
  let socket: string;
  let server: grpc.Server;
  let channel: GrpcChannel;
  let seenNamespace = '';
  let cancelled: Promise<void>;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wire-grpc-'));
    socket = path.join(dir, 'grpc.sock');
    const api = loadContainerdApi();
    server = new grpc.Server();
    let failNext = false;
    server.addService(api.services.version.service, {
      Version: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        seenNamespace = String(call.metadata.get('containerd-namespace')[0] ?? '');
        if (failNext) {
          const md = new grpc.Metadata();
          md.set('containerd-ts-error-code', 'NOT_FOUND');
          cb({ code: grpc.status.NOT_FOUND, details: 'no such thing: ünïcode 100%', metadata: md });
          return;
        }
        failNext = true;
        const md = new grpc.Metadata();
        md.set('x-extra', 'yes');
        call.sendMetadata(md);
        cb(null, { version: '9.9.9', revision: 'abc' });
      },
    });
    let onCancel: () => void = () => {};
    cancelled = new Promise((r) => (onCancel = r));
    server.addService(api.services.events.service, {
      Subscribe: (call: grpc.ServerWritableStream<{ filters: string[] }, unknown>) => {
        const n = call.request.filters[0] === 'forever' ? Infinity : 3;
        let i = 0;
        const timer = setInterval(() => {
          if (i >= n) {
            clearInterval(timer);
            call.end();
            return;
          }
          call.write({ namespace: 'default', topic: `/t/${i++}`, timestamp: { seconds: '1', nanos: 0 } });
        }, 5);
        call.on('cancelled', () => {
          clearInterval(timer);
          onCancel();
        });
      },
    });
    server.addService(api.services.containers.service, {
      // Echoes the container: a request and a response well over the 64 KiB default windows.
      Create: (call: grpc.ServerUnaryCall<{ container: unknown }, unknown>, cb: grpc.sendUnaryData<unknown>) => cb(null, { container: call.request.container }),
      // Fails with a long message and many distinct metadata keys: nghttp2 fills and evicts its dynamic table.
      Delete: (call: grpc.ServerUnaryCall<{ id: string }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
        const md = new grpc.Metadata();
        for (let i = 0; i < 60; i++) md.set(`x-key-${i}`, `${call.request.id}-value-${i}-${'v'.repeat(i * 3)}`);
        cb({ code: grpc.status.FAILED_PRECONDITION, details: `${call.request.id}: ${'dépassé ✓ '.repeat(800)}`, metadata: md });
      },
    });
    server.addService(api.services.content.service, {
      Read: (call: grpc.ServerWritableStream<{ size: string }, unknown>) => {
        const size = Number(call.request.size);
        for (let offset = 0; offset < 6 * size; offset += size) call.write({ offset, data: Buffer.alloc(size, offset / size + 1) });
        call.end();
      },
    });
    await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${socket}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
    channel = new GrpcChannel(socket, containerdSchema(), { 'containerd-namespace': 'ns1' });
  });

  after(() => {
    channel.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes a unary call with the namespace header and returns response and headers', async () => {
    const { response, headers } = await channel.unary(VERSION, 'Version', {});
    expect(response).to.deep.equal({ version: '9.9.9', revision: 'abc' });
    expect(headers.get('x-extra')).to.deep.equal(['yes']);
    expect(seenNamespace).to.equal('ns1');
  });

  it('turns a status into a GrpcError with code, decoded details and metadata, and our kinds', async () => {
    const err = await channel.unary(VERSION, 'Version', {}).then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(GrpcError);
    const g = err as GrpcError;
    expect(g.code).to.equal(grpc.status.NOT_FOUND);
    expect(g.details).to.equal('no such thing: ünïcode 100%');
    const re = fromServiceError(g);
    expect(re.kind).to.equal('NotFound');
    expect(re.message).to.equal('no such thing: ünïcode 100%');
  });

  it('streams server messages in order and ends', async () => {
    const topics: string[] = [];
    for await (const e of channel.serverStream<{ topic: string }>(EVENTS, 'Subscribe', { filters: [] })) topics.push(e.topic);
    expect(topics).to.deep.equal(['/t/0', '/t/1', '/t/2']);
  });

  it('cancels a stream: the server sees it, the reader gets CANCELLED', async () => {
    const stream = channel.serverStream<{ topic: string }>(EVENTS, 'Subscribe', { filters: ['forever'] });
    const got: string[] = [];
    const err = await (async () => {
      try {
        for await (const e of stream) {
          got.push(e.topic);
          if (got.length === 2) stream.cancel();
        }
        return null;
      } catch (e) {
        return e as GrpcError;
      }
    })();
    expect(err?.code).to.equal(grpc.status.CANCELLED);
    await cancelled;
  });

  it('reports a daemon that is not there as Unavailable, naming the socket', async () => {
    const nowhere = new GrpcChannel(path.join(dir, 'nope.sock'), containerdSchema(), {});
    const err = await nowhere.unary(VERSION, 'Version', {}).then(() => null, (e: unknown) => e);
    nowhere.close();
    const re = fromServiceError(err);
    expect(re.kind).to.equal('Unavailable');
    expect(re.message).to.match(/cannot reach the containerd-ts daemon: .*ENOENT.*nope\.sock/);
  });

  it('sends and receives messages far larger than the HTTP/2 windows (containers.Create with a 600 KB spec)', async () => {
    const spec = bigSpec(600_000);
    const container = { id: 'big', image: 'img', runtime: { name: 'io.containerd.runc.v2' }, spec: { type_url: 'types.containerd.io/opencontainers/runtime-spec/1/Spec', value: spec } };
    const { response } = await channel.unary(CONTAINERS, 'Create', { container });
    const got = response.container as { id: string; spec: { value: Buffer } };
    expect(got.id).to.equal('big');
    expect(Buffer.compare(got.spec.value, spec)).to.equal(0);
  });

  it('streams large messages (content.Read, 6 of 1 MiB)', async () => {
    const sizes: number[] = [];
    let ok = true;
    for await (const m of channel.serverStream<{ offset: string | number; data: Buffer }>(CONTENT, 'Read', { digest: 'sha256:x', size: 1 << 20 })) {
      sizes.push(m.data.length);
      ok &&= m.data.every((b) => b === sizes.length);
    }
    expect(sizes).to.deep.equal(Array(6).fill(1 << 20));
    expect(ok).to.equal(true);
  });

  it('reads long percent-encoded details and many metadata keys, call after call (HPACK dynamic table)', async () => {
    for (const id of ['a', 'bb', 'a', 'ccc']) {
      const err = (await channel.unary(CONTAINERS, 'Delete', { id }).then(() => null, (e: unknown) => e)) as GrpcError;
      expect(err.code).to.equal(grpc.status.FAILED_PRECONDITION);
      expect(err.details).to.equal(`${id}: ${'dépassé ✓ '.repeat(800)}`);
      for (let i = 0; i < 60; i += 7) expect(err.metadata.get(`x-key-${i}`)).to.deep.equal([`${id}-value-${i}-${'v'.repeat(i * 3)}`]);
    }
  });

  it('runs calls concurrently on one connection', async () => {
    const calls = await Promise.all([
      channel.unary(CONTAINERS, 'Create', { container: { id: 'c1' } }),
      (async () => {
        let n = 0;
        for await (const _ of channel.serverStream(EVENTS, 'Subscribe', { filters: [] })) n++;
        return n;
      })(),
      channel.unary(CONTAINERS, 'Create', { container: { id: 'c2' } }),
    ]);
    expect((calls[0].response.container as { id: string }).id).to.equal('c1');
    expect(calls[1]).to.equal(3);
    expect((calls[2].response.container as { id: string }).id).to.equal('c2');
  });

  it('refuses to send a request that does not fit the schema, without calling', async () => {
    const err = await channel.unary('containerd.services.tasks.v1.Tasks', 'Kill', { container_id: 'x', signal: 'not a number' }).then(() => null, (e: unknown) => e);
    expect((err as GrpcError).code).to.equal(grpc.status.INTERNAL);
    expect((err as GrpcError).details).to.match(/cannot encode/);
  });
});

/** A node:http2 server playing a broken or departing gRPC server: how each HTTP/2 ending becomes a gRPC status. */
describe('wire/grpc-client against a misbehaving HTTP/2 server', () => {
  let dir: string;
  let socket: string;
  let server: http2.Http2Server;
  const sessions = new Set<http2.ServerHttp2Session>();
  let sessionCount = 0;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'wire-grpc-h2-'));
    socket = path.join(dir, 'h2.sock');
    server = http2.createServer();
    server.on('session', (s) => {
      sessions.add(s);
      sessionCount++;
    });
    server.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      const what = String(headers['x-do']);
      if (what === 'reset-refused') stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      else if (what === 'reset-internal') stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else if (what === 'reset-calm') stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      else if (what === 'drop') stream.session!.destroy();
      // Refuses every stream after the connection's first (node takes a last stream id of 0 to mean "the last one received").
      else if (what === 'goaway' && stream.id! > 1) (stream.session as http2.ServerHttp2Session).goaway(http2.constants.NGHTTP2_NO_ERROR, stream.id! - 2);
      else if (what === '404') {
        stream.respond({ ':status': 404 });
        stream.end();
      } else {
        // A well-formed answer, written by hand: VersionResponse{version: "1"}.
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.from([0, 0, 0, 0, 3, 0x0a, 1, 0x31]));
      }
    });
    await new Promise<void>((r) => server.listen(socket, r));
  });

  after(() => {
    for (const s of sessions) s.destroy();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const failure = async (todo: string) => {
    const channel = new GrpcChannel(socket, containerdSchema(), { 'x-do': todo });
    const err = await channel.unary(VERSION, 'Version', {}).then(() => null, (e: unknown) => e);
    channel.close();
    return err as GrpcError;
  };

  it('maps RST_STREAM codes as gRPC does (REFUSED_STREAM: Unavailable, ENHANCE_YOUR_CALM: ResourceExhausted, others: Internal)', async () => {
    expect((await failure('reset-refused')).code).to.equal(grpc.status.UNAVAILABLE);
    expect((await failure('reset-calm')).code).to.equal(grpc.status.RESOURCE_EXHAUSTED);
    const internal = await failure('reset-internal');
    expect(internal.code).to.equal(grpc.status.INTERNAL);
    expect(internal.details).to.match(/reset the stream \(INTERNAL_ERROR\)/);
  });

  it('reports a dropped connection as Unavailable, and an HTTP error status', async () => {
    const dropped = await failure('drop');
    expect(dropped.code).to.equal(grpc.status.UNAVAILABLE);
    expect(fromServiceError(dropped).message).to.match(/^cannot reach the containerd-ts daemon: /);
    expect((await failure('404')).code).to.equal(grpc.status.UNIMPLEMENTED);
  });

  it('fails a call the server refused with GOAWAY as Unavailable, and makes the next call on a new connection', async () => {
    const channel = new GrpcChannel(socket, containerdSchema(), {});
    expect((await channel.unary(VERSION, 'Version', {})).response).to.deep.equal({ version: '1', revision: '' });
    const before = sessionCount;
    const goaway = new GrpcChannel(socket, containerdSchema(), { 'x-do': 'goaway' });
    expect((await goaway.unary(VERSION, 'Version', {})).response.version).to.equal('1');
    const err = (await goaway.unary(VERSION, 'Version', {}).then(() => null, (e: unknown) => e)) as GrpcError;
    expect(err.code).to.equal(grpc.status.UNAVAILABLE);
    expect(err.details).to.match(/GOAWAY/);
    expect(sessionCount).to.equal(before + 1);
    // Its next call goes on a new connection.
    expect((await goaway.unary(VERSION, 'Version', {})).response.version).to.equal('1');
    expect(sessionCount).to.equal(before + 2);
    goaway.close();
    expect((await channel.unary(VERSION, 'Version', {})).response.version).to.equal('1');
    channel.close();
  });
});
