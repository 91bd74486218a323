import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, bus, closeBus, ctrTs, eventually, leftovers, sh, systemdAvailable } from './helpers.js';

/**
 * The system bus restarted under a running daemon (`systemctl restart dbus`,
 * or stopped for a while): the daemon's bus connection reconnects and
 * resubscribes, and what depends on it (scopes, machines, update, exits)
 * keeps working through the daemon.
 */
describe('D-Bus restarts under the daemon (integration)', function () {
  let trigger = '';
  before(async function () {
    if (!systemdAvailable() || process.env['CONTAINERD_TS_TEST_DBUS_RESTART'] === '0') this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
    trigger = mkdtempSync('/var/tmp/dbus-restart-');
  });
  after(async () => {
    for (const id of ['bus-keep', 'bus-exit']) {
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await eventually(async () => !/RUNNING/.test(await taskRow(id) ?? ''));
      await ctrTs(['tasks', 'rm', id]);
      await ctrTs(['containers', 'rm', id]);
    }
    if (trigger) rmSync(trigger, { recursive: true, force: true });
    closeBus();
  });

  const taskRow = async (id: string) => (await ctrTs(['tasks', 'ls'])).stdout.split('\n').find((l) => l.startsWith(`${id} `));
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it('keeps working after systemctl restart dbus, and reports an exit that happened while the bus was down', async () => {
    expect((await ctrTs(['run', '-d', '--memory', '64M', BUSYBOX, 'bus-keep', 'sleep', '300'])).exitCode).to.equal(0);
    const waitFor = 'while [ ! -e /trigger/go ]; do sleep 0.1; done; exit 7';
    const started = await ctrTs(['run', '-d', '--mount', `type=bind,src=${trigger},dst=/trigger,options=rbind:ro`, BUSYBOX, 'bus-exit', 'sh', '-c', waitFor]);
    expect(started.exitCode, started.stderr).to.equal(0);
    const exitPid = Number((await taskRow('bus-exit'))!.split(/\s+/)[1]);

    // The bus goes away; the container exits while it is gone; then it comes back.
    const since = `@${Math.floor(Date.now() / 1000) - 1}`;
    closeBus();
    expect((await sh('systemctl', ['stop', 'dbus.socket', 'dbus.service'])).exitCode).to.equal(0);
    writeFileSync(`${trigger}/go`, '');
    expect(await eventually(async () => !alive(exitPid))).to.equal(true);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await sh('systemctl', ['start', 'dbus.socket', 'dbus.service'])).exitCode).to.equal(0);
    // And a plain restart on top, as an admin would do it.
    expect((await sh('systemctl', ['restart', 'dbus'])).exitCode).to.equal(0);

    expect(await eventually(async () => /STOPPED/.test((await taskRow('bus-exit')) ?? ''))).to.equal(true);
    const rm = await ctrTs(['tasks', 'rm', 'bus-exit']);
    expect(rm.exitCode, rm.stderr).to.equal(0);
    expect(rm.stdout).to.contain('exit status 7');
    expect((await ctrTs(['containers', 'rm', 'bus-exit'])).exitCode).to.equal(0);
    expect(await leftovers('bus-exit')).to.deep.equal([]);

    // A new container: scope, machine registration and cleanup all go over the new bus.
    const run = await ctrTs(['run', '--rm', BUSYBOX, 'bus-new', 'sh', '-c', 'grep -c systemd /proc/self/cgroup; exit 3']);
    expect(run.exitCode, run.stderr).to.equal(3);
    expect(await leftovers('bus-new')).to.deep.equal([]);

    // update changes the running scope through systemd at once.
    const upd = await ctrTs(['update', '--memory', '96M', '--pids', '40', 'bus-keep']);
    expect(upd.exitCode, upd.stderr).to.equal(0);
    const shown = await sh('systemctl', ['show', 'containerd-bus-keep.scope', '-p', 'MemoryMax', '-p', 'TasksMax']);
    expect(shown.stdout.split('\n').sort()).to.deep.equal(['MemoryMax=100663296', 'TasksMax=40']);
    expect((await bus().systemd.readScopeProperties('containerd-bus-keep.scope')).memoryMax).to.equal(100663296n);
    const metrics = await ctrTs(['tasks', 'metrics', 'bus-keep']);
    expect(metrics.stdout).to.match(/systemd\.MemoryMax\s+96\.0 MiB/);
    // The daemon's own connection really went through it (and says so in its journal).
    const journal = await sh('journalctl', ['-u', 'containerd-ts', '-o', 'cat', '--no-pager', '--since', since]);
    expect(journal.stdout).to.match(/system bus connection lost/);
    expect(journal.stdout).to.match(/system bus reconnected/);
  });
});
