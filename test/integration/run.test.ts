import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { expect } from 'chai';
import { readCgroupLimits } from '../../src/systemd/cgroupfs.js';
import { DaemonClient } from '../../src/cli/client.js';
import { BUSYBOX, BUSYBOX_ARCHIVE, SOCKET, bus, cgroupV2, closeBus, ctr, ctrTs, eventually, leftovers, sh, systemdAvailable } from './helpers.js';

/**
 * The foundation slice end to end against the real systemd, D-Bus,
 * machined and runc: import, run with limits, inspect the scope, exit
 * codes, OOM, and that nothing is left behind.
 */
describe('containers as systemd scopes (integration)', function () {
  before(async function () {
    if (!systemdAvailable()) this.skip();
    const imported = await ctrTs(['images', 'import', BUSYBOX_ARCHIVE]);
    expect(imported.exitCode, imported.stderr).to.equal(0);
  });
  after(() => closeBus());

  it('lists the imported image', async () => {
    const r = await ctrTs(['images', 'ls']);
    expect(r.stdout).to.contain(BUSYBOX);
    const real = await ctr(['images', 'ls', '-q']);
    expect(real.stdout.split('\n')).to.include(BUSYBOX);
  });

  it('runs a container in the foreground and streams its output', async () => {
    const r = await ctrTs(['run', '--rm', 'busybox', 'hello-1', 'sh', '-c', 'echo out; echo err >&2; echo to-dev-stdout > /dev/stdout']);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.equal('out\nto-dev-stdout');
    expect(r.stderr).to.equal('err');
    expect(await leftovers('hello-1')).to.deep.equal([]);
  });

  for (const [script, code] of [['exit 0', 0], ['exit 1', 1], ['exit 42', 42]] as const) {
    it(`reports the exit status of "${script}" as ${code}`, async () => {
      const id = `exit-${code}`;
      const r = await ctrTs(['run', '--rm', BUSYBOX, id, 'sh', '-c', script]);
      expect(r.exitCode, r.stderr).to.equal(code);
      expect(await leftovers(id)).to.deep.equal([]);
    });
  }

  it('reports death by a signal from outside as 128+signal (SIGKILL: 137)', async () => {
    // Signals from inside the container to its init are ignored by the kernel (pid-namespace init), so kill from outside.
    const id = 'signal-1';
    expect((await ctrTs(['run', '-d', BUSYBOX, id, 'sleep', '300'])).exitCode).to.equal(0);
    expect((await ctrTs(['tasks', 'kill', '--signal', 'SIGKILL', id])).exitCode).to.equal(0);
    expect(await eventually(async () => /STOPPED/.test((await ctrTs(['tasks', 'ls'])).stdout))).to.equal(true);
    const rm = await ctrTs(['tasks', 'rm', id]);
    expect(rm.stdout).to.contain('exit status 137');
    expect((await ctrTs(['containers', 'rm', id])).exitCode).to.equal(0);
    expect(await leftovers(id)).to.deep.equal([]);
  });

  describe('a detached container with limits', () => {
    const id = 'limits-1';
    let pid = 0;
    before(async function () {
      this.timeout(60_000);
      const r = await ctrTs(['run', '-d', '--memory', '64M', '--cpus', '0.5', '--pids', '50', BUSYBOX, id, 'sleep', '300']);
      expect(r.exitCode, r.stderr).to.equal(0);
      const ls = await ctrTs(['tasks', 'ls']);
      const row = ls.stdout.split('\n').find((l) => l.startsWith(`${id} `));
      expect(row, ls.stdout).to.match(/RUNNING/);
      pid = Number(row!.split(/\s+/)[1]);
    });
    after(async () => {
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await eventually(async () => (await ctrTs(['tasks', 'ls'])).stdout.includes('STOPPED'));
      await ctrTs(['tasks', 'rm', id]);
      await ctrTs(['containers', 'rm', id]);
    });

    it('runs init in containerd-<id>.scope (GetUnitByPID)', async () => {
      expect(await bus().systemd.getUnitByPid(pid)).to.equal(`containerd-${id}.scope`);
    });

    it('carries MemoryMax, CPUQuotaPerSecUSec and TasksMax over D-Bus', async () => {
      const p = await bus().systemd.readScopeProperties(`containerd-${id}.scope`);
      expect(p.memoryMax).to.equal(64n * 1024n * 1024n);
      expect(p.cpuQuotaPerSecUSec).to.equal(500_000n);
      expect(p.tasksMax).to.equal(50n);
      const shown = await sh('systemctl', ['show', `containerd-${id}.scope`, '-p', 'MemoryMax', '-p', 'CPUQuotaPerSecUSec', '-p', 'TasksMax']);
      expect(shown.stdout.split('\n').sort()).to.deep.equal(['CPUQuotaPerSecUSec=500ms', 'MemoryMax=67108864', 'TasksMax=50']);
    });

    it('has the same limits in the cgroup files', async () => {
      const p = await bus().systemd.readScopeProperties(`containerd-${id}.scope`);
      const limits = readCgroupLimits(p.controlGroup);
      expect(limits.memoryMax).to.equal(67108864n);
      expect(limits.cpuQuotaUs).to.equal(50000n);
      expect(limits.cpuPeriodUs).to.equal(100000n);
      expect(limits.pidsMax).to.equal(50n);
      const file = cgroupV2() ? `/sys/fs/cgroup${p.controlGroup}/memory.max` : `/sys/fs/cgroup/memory${p.controlGroup}/memory.limit_in_bytes`;
      expect(readFileSync(file, 'utf8').trim()).to.equal('67108864');
    });

    it('is registered with machined and shows in machinectl and systemd-cgls', async () => {
      const list = await sh('machinectl', ['list', '--no-legend']);
      expect(list.stdout).to.match(new RegExp(`^${id}\\s+container\\s`, 'm'));
      const status = await sh('machinectl', ['status', id]);
      expect(status.stdout).to.contain(`Unit: containerd-${id}.scope`);
      const machine = await bus().machined.getMachine(id);
      expect(machine?.unit).to.equal(`containerd-${id}.scope`);
      expect(machine?.leader).to.equal(pid);
      const cgls = await sh('systemd-cgls', ['--no-pager', '-u', `containerd-${id}.scope`]);
      expect(cgls.stdout).to.contain(`containerd-${id}.scope`);
      expect(cgls.stdout).to.contain('sleep 300');
    });

    it('refuses a second container with the same id (AlreadyExists) and leaves the first alone', async () => {
      const r = await ctrTs(['run', '--rm', BUSYBOX, id, 'true']);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.match(/already exists/);
      expect(await bus().systemd.getUnitByPid(pid)).to.equal(`containerd-${id}.scope`);
    });

    it('is gone entirely after kill, tasks rm and containers rm', async () => {
      expect((await ctrTs(['tasks', 'kill', '--signal', 'KILL', id])).exitCode).to.equal(0);
      expect(await eventually(async () => /STOPPED/.test((await ctrTs(['tasks', 'ls'])).stdout))).to.equal(true);
      const rm = await ctrTs(['tasks', 'rm', id]);
      expect(rm.stdout).to.contain('exit status 137');
      expect((await ctrTs(['containers', 'rm', id])).exitCode).to.equal(0);
      expect(await leftovers(id)).to.deep.equal([]);
    });
  });

  it('runs the same id again at once after a delete, while the old scope and machine may still be winding down', async () => {
    // A delete answers before systemd and machined have finished with the old scope and machine
    // (same names as the next task's): the next create must wait for them, and their release must
    // never reach the new container.
    const id = 'again-1';
    for (let i = 0; i < 4; i++) {
      const r = await ctrTs(['run', '--rm', BUSYBOX, id, 'true']);
      expect(r.exitCode, `run ${i}: ${r.stderr}`).to.equal(0);
    }
    expect((await ctrTs(['run', '-d', BUSYBOX, id, 'sleep', '300'])).exitCode).to.equal(0);
    const client = new DaemonClient(SOCKET, 'default');
    try {
      for (let i = 0; i < 3; i++) {
        // Exit, delete and the next create back to back, as in a `run --rm` loop but without a CLI's start-up.
        const exited = client.call('tasks', 'Wait', { container_id: id });
        await client.call('tasks', 'Kill', { container_id: id, signal: 9 });
        await exited;
        await client.call('tasks', 'Delete', { container_id: id });
        const { pid } = await client.call('tasks', 'Create', { container_id: id });
        await client.call('tasks', 'Start', { container_id: id });
        await new Promise((r) => setTimeout(r, 500)); // time for a late release of the old scope or machine to do harm
        expect((await bus().machined.getMachine(id))?.leader, `the new machine (round ${i})`).to.equal(pid);
        expect(await bus().systemd.getUnitByPid(pid)).to.equal(`containerd-${id}.scope`);
        expect((await bus().systemd.unitState(`containerd-${id}.scope`))?.activeState).to.equal('active');
      }
    } finally {
      client.close();
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await eventually(async () => /STOPPED/.test((await ctrTs(['tasks', 'ls'])).stdout));
      await ctrTs(['tasks', 'rm', id]);
      await ctrTs(['containers', 'rm', id]);
    }
    expect(await leftovers(id)).to.deep.equal([]);
  });

  it('undoes only what it made when the snapshot or the container record already exists (Prepare and Create run at once)', async () => {
    // A record without a snapshot of that key: Prepare succeeds, Create fails, the new snapshot goes again.
    expect((await ctr(['containers', 'create', '--rootfs', '/tmp', 'record-only', 'true'])).exitCode).to.equal(0);
    const a = await ctrTs(['run', '--rm', BUSYBOX, 'record-only', 'true']);
    expect(a.exitCode).to.equal(1);
    expect(a.stderr).to.match(/container "record-only" already exists/);
    expect((await ctr(['snapshots', 'ls'])).stdout).not.to.match(/^record-only\s/m);
    expect((await ctr(['containers', 'ls', '-q'])).stdout.split('\n')).to.include('record-only');
    expect((await ctr(['containers', 'rm', 'record-only'])).exitCode).to.equal(0);
    // A snapshot without a record: Create succeeds, Prepare fails, the new record goes again, the snapshot stays.
    const parent = (await ctr(['snapshots', 'ls'])).stdout.split('\n').find((l) => /Committed/.test(l))!.split(/\s+/)[0]!;
    expect((await ctr(['snapshots', 'prepare', 'snapshot-only', parent])).exitCode).to.equal(0);
    const b = await ctrTs(['run', '--rm', BUSYBOX, 'snapshot-only', 'true']);
    expect(b.exitCode).to.equal(1);
    expect(b.stderr).to.match(/snapshot-only already exists/);
    expect((await ctr(['containers', 'ls', '-q'])).stdout.split('\n')).not.to.include('snapshot-only');
    expect((await ctr(['snapshots', 'ls'])).stdout).to.match(/^snapshot-only\s/m);
    expect((await ctr(['snapshots', 'rm', 'snapshot-only'])).exitCode).to.equal(0);
    expect(await leftovers('record-only')).to.deep.equal([]);
    expect(await leftovers('snapshot-only')).to.deep.equal([]);
  });

  it('mounts a --rm container\'s rootfs volatile (its unmount skips syncing the disk), a kept container\'s not', async () => {
    const rootLine = "grep ' / / ' /proc/self/mountinfo";
    const throwaway = await ctrTs(['run', '--rm', BUSYBOX, 'volatile-1', 'sh', '-c', rootLine]);
    expect(throwaway.exitCode, throwaway.stderr).to.equal(0);
    // Kernels print the option as `volatile` or (6.x) `fsync=volatile`.
    expect(throwaway.stdout).to.match(/ - overlay overlay .*[,=]volatile/);
    const kept = await ctrTs(['run', BUSYBOX, 'volatile-2', 'sh', '-c', rootLine]);
    expect(kept.exitCode, kept.stderr).to.equal(0);
    expect(kept.stdout).to.match(/ - overlay overlay /).and.not.match(/volatile/);
    expect((await ctrTs(['containers', 'rm', 'volatile-2'])).exitCode).to.equal(0);
    expect(await leftovers('volatile-1')).to.deep.equal([]);
    expect(await leftovers('volatile-2')).to.deep.equal([]);
  });

  it('mounts a volatile snapshot again for the next task of its container, contents kept (real ctr)', async () => {
    const id = 'volatile-3';
    expect((await ctr(['containers', 'create', BUSYBOX, id, '--', 'sh', '-c', 'echo x >> /f; cat /f'])).exitCode).to.equal(0);
    try {
      expect((await ctr(['snapshots', 'label', id, 'io.containerd-ts.snapshot.volatile=true'])).exitCode).to.equal(0);
      // In the foreground, ctr tasks start deletes the task when it exits: the second start mounts anew.
      const first = await ctr(['tasks', 'start', id]);
      expect(first.stdout, first.stderr).to.equal('x');
      const second = await ctr(['tasks', 'start', id]);
      expect(second.stdout, second.stderr).to.equal('x\nx');
    } finally {
      await ctr(['containers', 'rm', id]);
    }
    expect(await leftovers(id)).to.deep.equal([]);
  });

  it('refuses --rm with --detach (nothing would remove the container), like ctr, and creates nothing', async () => {
    const r = await ctrTs(['run', '--rm', '-d', BUSYBOX, 'rm-detach-1', 'true']);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/--rm and --detach/);
    expect(await leftovers('rm-detach-1')).to.deep.equal([]);
  });

  it('OOM-kills a container that allocates past its memory limit: exit 137, reported as OOM', async () => {
    const r = await ctrTs(['run', '--rm', '--memory', '32M', BUSYBOX, 'oom-1', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=96M', 'count=1']);
    expect(r.exitCode).to.equal(137);
    expect(r.stderr).to.match(/OOM/);
    expect(await leftovers('oom-1')).to.deep.equal([]);
  });

  it('runs an image with the real ctr run --rm: every container becomes a scope, even without --runc-systemd-cgroup', async () => {
    const r = await ctr(['run', '--rm', BUSYBOX, 'ctr-run-1', 'sh', '-c', 'grep memory /proc/self/cgroup; exit 6']);
    expect(r.exitCode, r.stderr).to.equal(6);
    expect(r.stdout).to.match(/memory:\/system\.slice\/containerd-ctr-run-1\.scope/);
    const withFlags = await ctr(['run', '--rm', '--runc-systemd-cgroup', '--cgroup', 'system.slice:containerd:ctr-run-2', '--memory-limit', '67108864', BUSYBOX, 'ctr-run-2', 'true']);
    expect(withFlags.exitCode, withFlags.stderr).to.equal(0);
    expect(await leftovers('ctr-run-1')).to.deep.equal([]);
    expect(await leftovers('ctr-run-2')).to.deep.equal([]);
  });

  it('answers the real ctr: version and namespaces ls', async () => {
    const v = await ctr(['version']);
    expect(v.exitCode, v.stderr).to.equal(0);
    expect(v.stdout).to.match(/Server:\s+Version:\s+\d+\.\d+\.\d+/);
    const ns = await ctr(['namespaces', 'ls', '-q']);
    expect(ns.stdout.split('\n')).to.include('default');
  });

  it('leaves no shim or runc state behind after all of the above', () => {
    expect(existsSync('/run/containerd-ts/tasks/default') ? readdirSync('/run/containerd-ts/tasks/default') : []).to.deep.equal([]);
  });
});

