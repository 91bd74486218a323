import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { execa } from 'execa';
import { loadContainerdApi } from '../../src/proto.js';
import type { Init, WriteContentRequest } from '../../src/proto-types.js';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, CTR_TS, SOCKET, ctr, ctrTs, systemdAvailable } from './helpers.js';

/** The blob the content event test writes and deletes (random, so no other test has it). */
const DATA = randomBytes(64);
const DATA_DIGEST = `sha256:${createHash('sha256').update(DATA).digest('hex')}`;

/**
 * Stores `data` in one Content.Write COMMIT, labelled as a GC root: `ctr
 * content ingest` writes under a lease it deletes at once, so the collector
 * could take the blob before the test deletes it.
 */
async function storeRootBlob(namespace: string, data: Buffer, digest: string): Promise<void> {
  const api = loadContainerdApi();
  const client = new api.services.content.Client(`unix://${SOCKET}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Write(md: grpc.Metadata): grpc.ClientDuplexStream<Init<WriteContentRequest>, unknown>;
  };
  const md = new grpc.Metadata();
  md.set('containerd-namespace', namespace);
  try {
    const call = client.Write(md);
    await new Promise<void>((resolve, reject) => {
      call.on('data', () => call.end());
      call.on('error', reject);
      call.on('status', (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve() : reject(new Error(s.details))));
      call.write({ action: 'COMMIT', ref: 'ev-blob', data, total: String(data.length), expected: digest, labels: { 'containerd.io/gc.root': 'events test' } });
    });
  } finally {
    client.close();
  }
}

/** Collects lines printed by an events subscriber started before the actions. */
function subscribe(cmd: string, args: string[]) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  return {
    ready: () => new Promise((r) => setTimeout(r, 500)),
    stop: async () => {
      await new Promise((r) => setTimeout(r, 300));
      child.kill('SIGINT');
      return out;
    },
  };
}

describe('events (integration)', function () {
  before(async function () {
    if (!systemdAvailable()) this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
  });

  it('streams the container and task lifecycle to ctr-ts events and to the real ctr events', async () => {
    const ours = subscribe(CTR_TS, ['events']);
    const theirs = subscribe('ctr', ['--address', SOCKET, 'events']);
    const filtered = subscribe(CTR_TS, ['events', '--filter', 'topic=="/tasks/exit"']);
    await Promise.all([ours.ready(), theirs.ready(), filtered.ready()]);
    const r = await ctrTs(['run', '--rm', BUSYBOX, 'ev-1', 'sh', '-c', 'exit 3']);
    expect(r.exitCode).to.equal(3);
    const [mine, ctr, onlyExit] = await Promise.all([ours.stop(), theirs.stop(), filtered.stop()]);
    const topics = (text: string) => text.trim().split('\n').filter((l) => l.includes('ev-1')).map((l) => l.split(' ')[2]);
    // The CLI prepares the rootfs snapshot (key ev-1) and creates the record side by side, and after the
    // task is deleted removes them side by side: each of those pairs comes in either order.
    const expected = ['/containers/create', '/snapshot/prepare', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete', '/snapshot/remove'];
    const pairsSorted = (list: Array<string | undefined>) => [...list.slice(0, 2).sort(), ...list.slice(2, -2), ...list.slice(-2).sort()];
    expect(pairsSorted(topics(mine))).to.deep.equal(expected);
    expect(mine).to.match(/\/tasks\/exit \{"container_id":"ev-1","id":"ev-1","pid":\d+,"exit_status":3,/);
    // ctr prints "<time> <namespace> <topic> <json>" with its own time format; compare topics and payload.
    expect(pairsSorted(ctr.split('\n').filter((l) => l.includes('"ev-1"')).map((l) => / (\/[a-z]+\/[a-z]+) /.exec(l)?.[1]))).to.deep.equal(expected);
    expect(ctr).to.match(/\/tasks\/exit \{"container_id":"ev-1","id":"ev-1","pid":\d+,"exit_status":3/);
    expect(topics(onlyExit)).to.deep.equal(['/tasks/exit']);
  });

  it('reports an OOM kill as /tasks/oom before /tasks/exit', async () => {
    const sub = subscribe(CTR_TS, ['events', '--filter', 'topic~="^/tasks/(oom|exit)"']);
    await sub.ready();
    const r = await ctrTs(['run', '--rm', '--memory', '32M', BUSYBOX, 'ev-oom', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=96M', 'count=1']);
    expect(r.exitCode).to.equal(137);
    const out = await sub.stop();
    expect(out.trim().split('\n').map((l) => l.split(' ')[2])).to.deep.equal(['/tasks/oom', '/tasks/exit']);
  });

  it('publishes snapshot, image and content events as containerd does, decoded by the real ctr events', async () => {
    const ns = 'ctrev';
    const c = async (args: string[]) => {
      const r = await execa('ctr', ['--address', SOCKET, '-n', ns, ...args], { reject: false });
      expect(r.exitCode, `ctr ${args.join(' ')}: ${r.stderr}`).to.equal(0);
      return r.stdout;
    };
    const theirs = subscribe('ctr', ['--address', SOCKET, 'events']);
    const ours = subscribe(CTR_TS, ['events', '--filter', `namespace==${ns}`]);
    await Promise.all([theirs.ready(), ours.ready()]);
    try {
      await c(['snapshots', 'prepare', 'ev-a']);
      await c(['snapshots', 'commit', 'ev-c', 'ev-a']);
      await c(['snapshots', 'prepare', 'ev-b', 'ev-c']);
      await c(['snapshots', 'view', 'ev-v', 'ev-c']); // containerd publishes nothing for a view
      await c(['snapshots', 'rm', 'ev-b', 'ev-v']);
      await c(['snapshots', 'rm', 'ev-c']);
      await c(['images', 'import', BUSYBOX_ARCHIVE]);
      await c(['images', 'label', BUSYBOX, 'ev=1']);
      await c(['images', 'rm', BUSYBOX]);
      await storeRootBlob(ns, DATA, DATA_DIGEST);
      await c(['content', 'rm', DATA_DIGEST]);
    } finally {
      await ctr(['namespaces', 'rm', ns]);
    }
    const [ctrOut, oursOut] = await Promise.all([theirs.stop(), ours.stop()]);
    // ctr prints "<time> <namespace> <topic> <json of the decoded event>".
    const events = ctrOut
      .split('\n')
      .map((l) => / ctrev (\/\S+) (.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ topic: m[1] as string, body: JSON.parse(m[2] as string) as Record<string, unknown> }));
    const of = (topic: string) => events.filter((e) => e.topic === topic).map((e) => e.body);
    const snapshotKeys = (topic: string) => of(topic).filter((b) => String(b.key).startsWith('ev-'));
    expect(snapshotKeys('/snapshot/prepare')).to.deep.equal([{ key: 'ev-a' }, { key: 'ev-b', parent: 'ev-c' }]);
    expect(snapshotKeys('/snapshot/commit')).to.deep.equal([{ key: 'ev-a', name: 'ev-c' }]);
    // The collector's removals (after images rm) are silent, as in containerd.
    expect(of('/snapshot/remove')).to.deep.equal([{ key: 'ev-b' }, { key: 'ev-v' }, { key: 'ev-c' }]);
    expect(events.some((e) => e.topic.startsWith('/snapshot/') && String(e.body.key).startsWith('ev-v') && e.topic !== '/snapshot/remove')).to.equal(false);
    // ctr's unpack of the import: an extract-* snapshot prepared and committed as the layer's chain ID.
    const extract = of('/snapshot/prepare').filter((b) => String(b.key).startsWith('extract-'));
    expect(extract.length).to.be.greaterThan(0);
    expect(of('/snapshot/commit').filter((b) => String(b.key).startsWith('extract-')).map((b) => String(b.name))).to.satisfy((names: string[]) => names.length > 0 && names.every((n) => /^sha256:[0-9a-f]{64}$/.test(n)));
    expect(of('/images/create').map((b) => b.name)).to.deep.equal([BUSYBOX]);
    expect(of('/images/update')).to.deep.include({ name: BUSYBOX, labels: { ev: '1' } });
    expect(of('/images/delete')).to.deep.equal([{ name: BUSYBOX }]);
    expect(of('/content/delete')).to.deep.equal([{ digest: DATA_DIGEST }]);
    // ctr-ts events decodes the same events.
    expect(oursOut).to.contain(`/snapshot/commit {"key":"ev-a","name":"ev-c"}`);
    expect(oursOut).to.contain(`/content/delete {"digest":"${DATA_DIGEST}"}`);
  });

  it('rejects a malformed filter with a clear error', async () => {
    const r = await ctrTs(['events', '--filter', 'colour==blue']);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/invalid event filter/);
  });
});
