import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, bus, closeBus, ctrTs, eventually, killDaemon, leftovers, sh, STATE, systemdAvailable } from './helpers.js';

/** Tasks outlive the daemon: restarts, shims that die, a daemon killed mid-create. */
describe('daemon restarts and lost shims (integration)', function () {
  before(async function () {
    if (!systemdAvailable()) this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
  });
  after(() => closeBus());

  const taskRow = async (id: string) => (await ctrTs(['tasks', 'ls'])).stdout.split('\n').find((l) => l.startsWith(`${id} `));
  const shimPid = (id: string) => Number(readFileSync(`${STATE}/tasks/default/${id}/shim.pid`, 'utf8'));
  async function remove(id: string) {
    await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
    await eventually(async () => /STOPPED/.test((await taskRow(id)) ?? 'STOPPED'));
    const rm = await ctrTs(['tasks', 'rm', id]);
    await ctrTs(['containers', 'rm', id]);
    return rm;
  }

  it('keeps shims out of containerd-ts.service', async () => {
    expect((await ctrTs(['run', '-d', BUSYBOX, 'place-1', 'sleep', '300'])).exitCode).to.equal(0);
    try {
      expect(await bus().systemd.getUnitByPid(shimPid('place-1'))).to.equal('containerd-ts-shims.scope');
    } finally {
      await remove('place-1');
    }
    expect(await leftovers('place-1')).to.deep.equal([]);
  });

  it('finds every task again after systemctl restart, with exits that happened while it was down', async () => {
    expect((await ctrTs(['run', '-d', BUSYBOX, 'keep-1', 'sleep', '300'])).exitCode).to.equal(0);
    expect((await ctrTs(['run', '-d', BUSYBOX, 'gone-1', 'sh', '-c', 'sleep 1; exit 5'])).exitCode).to.equal(0);
    const pidBefore = Number((await taskRow('keep-1'))!.split(/\s+/)[1]);
    expect((await sh('systemctl', ['stop', 'containerd-ts'])).exitCode).to.equal(0);
    await new Promise((r) => setTimeout(r, 2000)); // gone-1 exits while nobody listens
    expect((await sh('systemctl', ['start', 'containerd-ts'])).exitCode).to.equal(0);

    expect(await taskRow('keep-1')).to.match(new RegExp(`^keep-1\\s+${pidBefore}\\s+RUNNING`));
    expect(await taskRow('gone-1')).to.match(/STOPPED/);
    expect(await bus().systemd.getUnitByPid(pidBefore)).to.equal('containerd-keep-1.scope');
    const gone = await ctrTs(['tasks', 'rm', 'gone-1']);
    expect(gone.stdout).to.contain('exit status 5');
    await ctrTs(['containers', 'rm', 'gone-1']);
    const kept = await remove('keep-1');
    expect(kept.stdout).to.contain('exit status 137');
    expect(await leftovers('keep-1')).to.deep.equal([]);
    expect(await leftovers('gone-1')).to.deep.equal([]);
  });

  it('reports a task whose shim was SIGKILLed as exited, and cleans its scope, machine and mount', async () => {
    const id = 'shimkill-1';
    expect((await ctrTs(['run', '-d', BUSYBOX, id, 'sleep', '300'])).exitCode).to.equal(0);
    process.kill(shimPid(id), 'SIGKILL');
    expect(await eventually(async () => /STOPPED/.test((await taskRow(id)) ?? ''))).to.equal(true);
    expect(await eventually(async () => (await bus().systemd.unitState(`containerd-${id}.scope`)) === null)).to.equal(true);
    expect(await bus().machined.getMachine(id)).to.equal(null);
    const rm = await ctrTs(['tasks', 'rm', id]);
    expect(rm.stdout).to.contain('exit status 137');
    await ctrTs(['containers', 'rm', id]);
    expect(await leftovers(id)).to.deep.equal([]);
  });

  it('machinectl terminate stops the container and the daemon records its exit', async () => {
    const id = 'term-1';
    const r = await ctrTs(['run', '-d', BUSYBOX, id, 'sh', '-c', 'trap "exit 7" TERM; while true; do sleep 0.2; done']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect((await sh('machinectl', ['terminate', id])).exitCode).to.equal(0);
    expect(await eventually(async () => /STOPPED/.test((await taskRow(id)) ?? ''), 15_000)).to.equal(true);
    const rm = await ctrTs(['tasks', 'rm', id]);
    expect(rm.stdout).to.contain('exit status 7');
    await ctrTs(['containers', 'rm', id]);
    expect(await leftovers(id)).to.deep.equal([]);
  });

  it('after the daemon is SIGKILLed during creates, every container is whole or gone', async () => {
    const ids = ['crash-1', 'crash-2', 'crash-3'];
    const runs = ids.map((id) => ctrTs(['run', '-d', BUSYBOX, id, 'sleep', '300']));
    await new Promise((r) => setTimeout(r, 250));
    await killDaemon();
    await Promise.all(runs);
    expect(await eventually(async () => (await sh('systemctl', ['is-active', 'containerd-ts'])).stdout.trim() === 'active', 15_000), 'the daemon back').to.equal(true);
    for (const id of ids) {
      const row = await taskRow(id);
      if (row) {
        expect(row, id).to.match(/RUNNING|CREATED/);
        const pid = Number(row.split(/\s+/)[1]);
        expect(await bus().systemd.getUnitByPid(pid)).to.equal(`containerd-${id}.scope`);
        await remove(id);
      } else {
        await ctrTs(['containers', 'rm', id]);
      }
      expect(await leftovers(id), id).to.deep.equal([]);
    }
  });
});
