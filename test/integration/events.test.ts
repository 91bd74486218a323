import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, CTR_TS, SOCKET, ctrTs, systemdAvailable } from './helpers.js';

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
    const expected = ['/containers/create', '/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete', '/containers/delete'];
    expect(topics(mine)).to.deep.equal(expected);
    expect(mine).to.match(/\/tasks\/exit \{"container_id":"ev-1","id":"ev-1","pid":\d+,"exit_status":3,/);
    // ctr prints "<time> <namespace> <topic> <json>" with its own time format; compare topics and payload.
    expect(ctr.split('\n').filter((l) => l.includes('"ev-1"')).map((l) => / (\/[a-z]+\/[a-z]+) /.exec(l)?.[1])).to.deep.equal(expected);
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

  it('rejects a malformed filter with a clear error', async () => {
    const r = await ctrTs(['events', '--filter', 'colour==blue']);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/invalid event filter/);
  });
});
