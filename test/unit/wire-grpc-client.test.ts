import { mkdtempSync, rmSync } from 'node:fs';
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

  it('refuses to send a request that does not fit the schema, without calling', async () => {
    const err = await channel.unary('containerd.services.tasks.v1.Tasks', 'Kill', { container_id: 'x', signal: 'not a number' }).then(() => null, (e: unknown) => e);
    expect((err as GrpcError).code).to.equal(grpc.status.INTERNAL);
    expect((err as GrpcError).details).to.match(/cannot encode/);
  });
});
