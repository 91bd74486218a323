import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, bus, closeBus, ctrTs, eventually, leftovers, sh, STATE, systemdAvailable } from './helpers.js';

/**
 * Units without a task at daemon start-up, and containers runc cannot kill:
 * the daemon stops what is provably its own, leaves alone what may be
 * someone else's, and kills a stuck container's scope through systemd.
 */
describe('stray units and KillUnit (integration)', function () {
  before(async function () {
    if (!systemdAvailable()) this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
  });
  after(async () => {
    await sh('systemctl', ['stop', 'containerd-stray-theirs.scope']);
    closeBus();
  });

  const taskRow = async (id: string) => (await ctrTs(['tasks', 'ls'])).stdout.split('\n').find((l) => l.startsWith(`${id} `));
  const journalSince = async (since: string) => (await sh('journalctl', ['-u', 'containerd-ts', '-o', 'cat', '--no-pager', '--since', since])).stdout;
  const active = async (unit: string) => (await bus().systemd.unitState(unit))?.activeState === 'active';

  it('at start-up stops the scopes of a container whose task record is lost, and leaves a foreign containerd-*.scope alone', async () => {
    // Ours: a running container whose record (its bundle) disappears while the daemon is down.
    expect((await ctrTs(['run', '-d', BUSYBOX, 'stray-own', 'sleep', '300'])).exitCode).to.equal(0);
    // Not ours: a scope of that name made by hand (as containerd itself would name one).
    const theirs = execa('systemd-run', ['--scope', '--unit', 'containerd-stray-theirs', 'sleep', '300'], { reject: false });
    expect(await eventually(() => active('containerd-stray-theirs.scope'))).to.equal(true);

    const since = `@${Math.floor(Date.now() / 1000) - 1}`;
    expect((await sh('systemctl', ['stop', 'containerd-ts'])).exitCode).to.equal(0);
    const bundle = `${STATE}/tasks/default/stray-own`;
    expect((await sh('umount', [`${bundle}/rootfs`])).exitCode).to.equal(0);
    expect((await sh('rm', ['-rf', bundle])).exitCode).to.equal(0);
    expect(await active('containerd-stray-own.scope')).to.equal(true);
    expect((await sh('systemctl', ['start', 'containerd-ts'])).exitCode).to.equal(0);

    expect(await active('containerd-stray-own.scope')).to.equal(false);
    expect(await bus().machined.getMachine('stray-own')).to.equal(null);
    expect(existsSync(`${STATE}/runc/default/stray-own`)).to.equal(false);
    expect(await active('containerd-stray-theirs.scope')).to.equal(true);
    const journal = await journalSince(since);
    expect(journal).to.match(/stopping a container scope no task owns unit=containerd-stray-own\.scope/);
    expect(journal).to.match(/killing a shim no task owns .*cwd=\S*\/tasks\/default\/stray-own \(deleted\)/);
    expect(journal).to.match(/not created by containerd-ts: left alone .*unit=containerd-stray-theirs\.scope/);

    expect((await ctrTs(['containers', 'rm', 'stray-own'])).exitCode).to.equal(0);
    expect(await leftovers('stray-own')).to.deep.equal([]);
    await sh('systemctl', ['stop', 'containerd-stray-theirs.scope']);
    await theirs;
  });

  it('kills a container runc has lost through its scope (KillUnit), and the exit is reported', async () => {
    const id = 'stuck-1';
    expect((await ctrTs(['run', '-d', BUSYBOX, id, 'sleep', '300'])).exitCode).to.equal(0);
    const pid = Number((await taskRow(id))!.split(/\s+/)[1]);
    // runc's state goes: `runc kill` can no longer find the container, its processes live on.
    expect((await sh('rm', ['-rf', `${STATE}/runc/default/${id}`])).exitCode).to.equal(0);
    const since = `@${Math.floor(Date.now() / 1000) - 1}`;
    const kill = await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
    expect(kill.exitCode, kill.stderr).to.equal(0);
    expect(await eventually(async () => /STOPPED/.test((await taskRow(id)) ?? ''))).to.equal(true);
    expect(existsSync(`/proc/${pid}`)).to.equal(false);
    expect(await journalSince(since)).to.match(/killing its scope through systemd \(KillUnit\).*unit=containerd-stuck-1\.scope/);
    const rm = await ctrTs(['tasks', 'rm', id]);
    expect(rm.stdout, rm.stderr).to.contain('exit status 137');
    expect((await ctrTs(['containers', 'rm', id])).exitCode).to.equal(0);
    expect(await leftovers(id)).to.deep.equal([]);
  });
});
