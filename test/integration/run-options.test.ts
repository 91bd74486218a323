import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, bus, cgroupV2, closeBus, ctrTs, eventually, leftovers, STATE, systemdAvailable } from './helpers.js';

/** The run options a containerd or podman user expects, each checked inside the container. */
describe('run options (integration)', function () {
  before(async function () {
    if (!systemdAvailable()) this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
  });
  after(() => closeBus());

  async function runOut(id: string, flags: string[], script: string) {
    const r = await ctrTs(['run', '--rm', ...flags, BUSYBOX, id, 'sh', '-c', script]);
    expect(await leftovers(id)).to.deep.equal([]);
    return r;
  }

  it('--env, --cwd, --user, --hostname', async () => {
    const r = await runOut('opt-1', ['-e', 'A=1', '--env', 'B=two', '--cwd', '/tmp', '--user', 'nobody', '--hostname', 'h1'], 'echo $A $B $(pwd) $(id -u) $(hostname)');
    expect(r.stdout, r.stderr).to.equal('1 two /tmp 65534 h1');
  });

  it('--read-only makes the rootfs read-only', async () => {
    const r = await runOut('opt-2', ['--read-only'], 'touch /x');
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/Read-only file system/);
    expect((await runOut('opt-2b', [], 'touch /x && echo ok')).stdout).to.equal('ok');
  });

  it('--net none gives a loopback-only namespace, --net host the host network', async () => {
    expect((await runOut('opt-3', [], 'ls /sys/class/net')).stdout.split(/\s+/)).to.deep.equal(['lo']);
    const host = (await runOut('opt-3b', ['--net', 'host'], 'ls /sys/class/net')).stdout.split(/\s+/);
    expect(host.length).to.be.greaterThan(1);
    expect((await ctrTs(['run', '--rm', '--net', 'bridge', BUSYBOX, 'opt-3c', 'true'])).stderr).to.match(/--net must be none or host/);
  });

  it('--mount binds a host directory', async () => {
    const dir = mkdtempSync('/var/tmp/ctrts-mount-');
    try {
      writeFileSync(`${dir}/hello`, 'from the host\n');
      const r = await runOut('opt-4', ['--mount', `type=bind,src=${dir},dst=/data,options=rbind:ro`], 'cat /data/hello; touch /data/x 2>&1 || true');
      expect(r.stdout).to.match(/^from the host\n.*Read-only file system/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--cap-drop ALL, --cap-add and --privileged change the capability sets', async () => {
    const capEff = async (id: string, flags: string[]) => (await runOut(id, flags, 'grep CapEff /proc/self/status')).stdout.split(/\s+/)[1];
    expect(await capEff('opt-5a', ['--cap-drop', 'ALL'])).to.equal('0000000000000000');
    expect(await capEff('opt-5b', ['--cap-drop', 'ALL', '--cap-add', 'NET_ADMIN'])).to.equal('0000000000001000');
    const privileged = BigInt(`0x${await capEff('opt-5c', ['--privileged'])}`);
    const normal = BigInt(`0x${await capEff('opt-5d', [])}`);
    expect(privileged > normal).to.equal(true);
    expect(privileged & (1n << 21n)).to.equal(1n << 21n); // CAP_SYS_ADMIN
  });

  it('--slice puts the scope into another slice', async () => {
    const r = await runOut('opt-6', ['--slice', 'machine.slice'], 'grep -m1 memory /proc/self/cgroup || cat /proc/self/cgroup');
    expect(r.stdout).to.match(/\/machine\.slice\/containerd-opt-6\.scope/);
  });

  it('--cpu-shares and --cpuset-cpus reach the scope', async function () {
    const id = 'opt-7';
    expect((await ctrTs(['run', '-d', '--cpu-shares', '512', '--cpuset-cpus', '0', BUSYBOX, id, 'sleep', '60'])).exitCode).to.equal(0);
    try {
      const cg = (await bus().systemd.readScopeProperties(`containerd-${id}.scope`)).controlGroup;
      if (cgroupV2()) {
        expect(readFileSync(`/sys/fs/cgroup${cg}/cpuset.cpus`, 'utf8').trim()).to.equal('0');
      } else {
        expect(readFileSync(`/sys/fs/cgroup/cpu${cg}/cpu.shares`, 'utf8').trim()).to.equal('512');
        expect(readFileSync(`/sys/fs/cgroup/cpuset${cg}/cpuset.cpus`, 'utf8').trim()).to.equal('0');
      }
    } finally {
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await eventually(async () => !/RUNNING/.test((await ctrTs(['tasks', 'ls'])).stdout));
      await ctrTs(['tasks', 'rm', id]);
      await ctrTs(['containers', 'rm', id]);
    }
    expect(await leftovers(id)).to.deep.equal([]);
  });

  it('--runtime crun runs the container with crun, still as a systemd scope with its limits', async () => {
    const id = 'crun-1';
    expect((await ctrTs(['run', '-d', '--runtime', 'crun', '--memory', '64M', '--pids', '20', BUSYBOX, id, 'sleep', '60'])).exitCode).to.equal(0);
    try {
      const record = JSON.parse(readFileSync(`${STATE}/tasks/default/${id}/task.json`, 'utf8')) as { runtime: string; pid: number };
      expect(record.runtime).to.equal('crun');
      expect(await bus().systemd.getUnitByPid(record.pid)).to.equal(`containerd-${id}.scope`);
      const p = await bus().systemd.readScopeProperties(`containerd-${id}.scope`);
      expect(p.memoryMax).to.equal(67108864n);
      expect(p.tasksMax).to.equal(20n);
    } finally {
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
      await eventually(async () => !/RUNNING/.test((await ctrTs(['tasks', 'ls'])).stdout));
      await ctrTs(['tasks', 'rm', id]);
      await ctrTs(['containers', 'rm', id]);
    }
    expect(await leftovers(id)).to.deep.equal([]);
    expect((await ctrTs(['run', '--rm', '--runtime', 'youki', BUSYBOX, 'crun-2', 'true'])).stderr).to.match(/--runtime must be runc or crun/);
  });
});
