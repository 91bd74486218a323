import { existsSync, readFileSync } from 'node:fs';
import { expect } from 'chai';
import { readCgroupLimits } from '../../src/systemd/cgroupfs.js';
import { BUSYBOX, BUSYBOX_ARCHIVE, bus, cgroupV2, closeBus, ctr, ctrTs, eventually, leftovers, sh, systemdAvailable } from './helpers.js';

/** The running side of a task: pause/resume, ps, update through systemd, metrics, wait, bad requests. */
describe('task lifecycle (integration)', function () {
  const id = 'life-1';
  const scope = `containerd-${id}.scope`;
  let pid = 0;
  before(async function () {
    if (!systemdAvailable()) this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
    const r = await ctrTs(['run', '-d', '--memory', '64M', '--cpus', '0.5', '--pids', '50', BUSYBOX, id, 'sh', '-c', 'sleep 300 & sleep 300 & wait']);
    expect(r.exitCode, r.stderr).to.equal(0);
    pid = Number((await ctrTs(['tasks', 'ls'])).stdout.split('\n').find((l) => l.startsWith(`${id} `))!.split(/\s+/)[1]);
  });
  after(async () => {
    await ctrTs(['tasks', 'resume', id]);
    await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
    await eventually(async () => !/RUNNING|PAUSED/.test((await ctrTs(['tasks', 'ls'])).stdout));
    await ctrTs(['tasks', 'rm', id]);
    await ctrTs(['containers', 'rm', id]);
    closeBus();
  });

  it('lists the container processes (tasks ps, and the real ctr tasks ps)', async () => {
    const ps = await ctrTs(['tasks', 'ps', id]);
    const pids = ps.stdout.trim().split('\n').slice(1).map(Number);
    expect(pids).to.include(pid);
    expect(pids).to.have.length(3);
    const real = await ctr(['tasks', 'ps', id]);
    expect(real.exitCode, real.stderr).to.equal(0);
    expect(real.stdout).to.contain(String(pid));
  });

  it('shows the container record with its spec and task (containers info); an unknown id is NotFound', async () => {
    const r = await ctrTs(['containers', 'info', id]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const info = JSON.parse(r.stdout) as { ID: string; Image: string; Spec: { process: { args: string[] } }; Task: { Pid: number; Status: string } };
    expect(info.ID).to.equal(id);
    expect(info.Image).to.equal(BUSYBOX);
    expect(info.Spec.process.args).to.deep.equal(['sh', '-c', 'sleep 300 & sleep 300 & wait']);
    expect(info.Task).to.deep.equal({ Pid: pid, Status: 'RUNNING', ExitStatus: 0 });
    const missing = await ctrTs(['containers', 'info', 'no-such-container']);
    expect(missing.exitCode).to.equal(1);
    expect(missing.stderr).to.match(/not found/);
  });

  it('pauses and resumes: the freezer holds the processes, bad transitions are refused', async () => {
    expect((await ctrTs(['tasks', 'pause', id])).exitCode).to.equal(0);
    expect((await ctrTs(['tasks', 'ls'])).stdout).to.match(new RegExp(`^${id}\\s+${pid}\\s+PAUSED`, 'm'));
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).to.match(/State:\s+[DS]/);
    const again = await ctrTs(['tasks', 'pause', id]);
    expect(again.exitCode).to.equal(1);
    expect(again.stderr).to.match(/already paused/);
    expect((await ctrTs(['tasks', 'rm', id])).stderr).to.match(/paused: kill it/);
    expect((await ctrTs(['tasks', 'resume', id])).exitCode).to.equal(0);
    expect((await ctrTs(['tasks', 'ls'])).stdout).to.match(new RegExp(`^${id}\\s+${pid}\\s+RUNNING`, 'm'));
    const notPaused = await ctrTs(['tasks', 'resume', id]);
    expect(notPaused.stderr).to.match(/is not paused/);
  });

  it('update changes MemoryMax, CPUQuotaPerSecUSec and TasksMax at once, in systemd and in the cgroup', async () => {
    const r = await ctrTs(['update', '--memory', '128M', '--cpus', '1', '--pids', '100', id]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const shown = await sh('systemctl', ['show', scope, '-p', 'MemoryMax', '-p', 'CPUQuotaPerSecUSec', '-p', 'TasksMax']);
    expect(shown.stdout.split('\n').sort()).to.deep.equal(['CPUQuotaPerSecUSec=1s', 'MemoryMax=134217728', 'TasksMax=100']);
    const props = await bus().systemd.readScopeProperties(scope);
    const limits = readCgroupLimits(props.controlGroup);
    expect(limits.memoryMax).to.equal(134217728n);
    expect(limits.pidsMax).to.equal(100n);
    expect(limits.cpuQuotaUs).to.equal(100000n);
    // `tasks update` is the same command under ctr's name.
    const again = await ctrTs(['tasks', 'update', '--pids', '100', id]);
    expect(again.exitCode, again.stderr).to.equal(0);
    expect((await sh('systemctl', ['show', scope, '-p', 'TasksMax'])).stdout.trim()).to.equal('TasksMax=100');
  });

  it('refuses a memory limit below what the container uses, keeping the old one', async () => {
    // 20M in the container's own tmpfs /dev/shm: charged to its cgroup, and not reclaimable without swap.
    const hog = 'hog-1';
    const run = await ctrTs(['run', '-d', '--memory', '64M', BUSYBOX, hog, 'sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=20 2>/dev/null; sleep 300']);
    expect(run.exitCode, run.stderr).to.equal(0);
    try {
      const hogScope = `containerd-${hog}.scope`;
      const props = await bus().systemd.readScopeProperties(hogScope);
      expect(await eventually(async () => (await ctrTs(['tasks', 'metrics', hog])).stdout.includes('MiB'))).to.equal(true);
      const r = await ctrTs(['update', '--memory', '8M', hog]);
      expect(r.exitCode).to.equal(1);
      expect(r.stderr).to.match(/kernel refused memory limit 8388608 bytes \(the container uses \d+ bytes\)/);
      expect((await bus().systemd.readScopeProperties(hogScope)).memoryMax).to.equal(67108864n);
      expect(readCgroupLimits(props.controlGroup).memoryMax).to.equal(67108864n);
      expect((await ctrTs(['tasks', 'ls'])).stdout).to.match(new RegExp(`^${hog}\\s+\\d+\\s+RUNNING`, 'm'));
    } finally {
      await ctrTs(['tasks', 'kill', '--signal', 'KILL', hog]);
      await eventually(async () => /STOPPED/.test((await ctrTs(['tasks', 'ls'])).stdout.split('\n').find((l) => l.startsWith(hog)) ?? 'STOPPED'));
      await ctrTs(['tasks', 'rm', hog]);
      await ctrTs(['containers', 'rm', hog]);
    }
    expect(await leftovers(hog)).to.deep.equal([]);
  });

  it('shows metrics from the scope (memory, CPU, pids, IO)', async () => {
    const r = await ctrTs(['tasks', 'metrics', id]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/memory\.usage\s+\d+(\.\d)? (KiB|MiB)/);
    expect(r.stdout).to.match(/memory\.limit\s+128\.0 MiB/);
    expect(r.stdout).to.match(/pids\.current\s+3\b/);
    expect(r.stdout).to.match(/pids\.limit\s+100\b/);
    expect(r.stdout).to.match(/cpu\.usage\s+\d+\.\d{3} s/);
    // systemd's view of the same scope, beside the cgroup files.
    expect(r.stdout).to.match(/systemd\.MemoryMax\s+128\.0 MiB/);
    expect(r.stdout).to.match(/systemd\.TasksMax\s+100\b/);
    expect(r.stdout).to.match(/systemd\.CPUQuotaPerSecUSec\s+1 CPUs/);
  });

  it('the real ctr tasks metrics decodes our cgroups Metrics: the limit set by update, pids, CPU', async () => {
    const r = await ctr(['tasks', 'metrics', id]);
    expect(r.exitCode, r.stderr).to.equal(0);
    if (cgroupV2()) {
      expect(r.stdout).to.match(/memory\.usage_limit\s+134217728\b/);
      expect(r.stdout).to.match(/cpu\.usage_usec\s+[1-9]\d*/);
    } else {
      expect(r.stdout).to.match(/memory\.limit_in_bytes\s+134217728\b/);
      expect(r.stdout).to.match(/memory\.usage_in_bytes\s+[1-9]\d*/);
      expect(r.stdout).to.match(/cpuacct\.usage\s+[1-9]\d*/);
      expect(r.stdout).to.match(/cpuacct\.usage_percpu\s+\[\d+( \d+)*\]/);
    }
    expect(r.stdout).to.match(/pids\.current\s+3\b/);
    expect(r.stdout).to.match(/pids\.limit\s+100\b/);
    const json = await ctr(['tasks', 'metrics', '--format', 'json', id]);
    expect(json.exitCode, json.stderr).to.equal(0);
    expect(JSON.parse(json.stdout)).to.be.an('object');
  });

  it('refuses bad requests with clear errors and changes nothing', async () => {
    expect((await ctrTs(['tasks', 'kill', 'no-such-task'])).stderr).to.match(/no task for container "no-such-task"/);
    expect((await ctrTs(['tasks', 'kill', '--signal', 'NOPE', id])).stderr).to.match(/unknown signal "NOPE"/);
    expect((await ctrTs(['update', '--memory', '12XB', id])).stderr).to.match(/invalid memory size/);
    expect((await ctrTs(['update', id])).stderr).to.match(/at least one of/);
    expect((await ctrTs(['tasks', 'pause', 'no-such-task'])).stderr).to.match(/no task/);
    expect((await ctrTs(['tasks', 'ls'])).stdout).to.match(new RegExp(`^${id}\\s+${pid}\\s+RUNNING`, 'm'));
  });

  it('exec runs another process in the running container: output and exit status, also through ctr tasks exec', async () => {
    const r = await ctrTs(['tasks', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo in $(hostname); echo oops >&2; exit 4']);
    expect(r.exitCode).to.equal(4);
    expect(r.stdout).to.equal(`in ${id}`);
    expect(r.stderr).to.equal('oops');
    const real = await ctr(['tasks', 'exec', '--exec-id', 'e2', id, 'sh', '-c', 'exit 5']);
    expect(real.exitCode, real.stderr).to.equal(5);
    // The exec'd processes are gone, the container's are still there.
    expect((await ctrTs(['tasks', 'ps', id])).stdout.trim().split('\n').slice(1)).to.have.length(3);
    const dup = await ctrTs(['tasks', 'exec', '--exec-id', 'bad id', id, 'true']);
    expect(dup.stderr).to.match(/invalid exec id/);
  });

  it('refuses exec into a stopped task', async () => {
    const sid = 'stopped-1';
    expect((await ctrTs(['run', '-d', BUSYBOX, sid, 'true'])).exitCode).to.equal(0);
    await eventually(async () => /STOPPED/.test((await ctrTs(['tasks', 'ls'])).stdout.split('\n').find((l) => l.startsWith(sid)) ?? ''));
    const r = await ctrTs(['tasks', 'exec', sid, 'true']);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/stopped: exec needs a running task/);
    await ctrTs(['tasks', 'rm', sid]);
    await ctrTs(['containers', 'rm', sid]);
    expect(await leftovers(sid)).to.deep.equal([]);
  });

  it('logs: a detached container\'s output goes to a log file, shown by ctr-ts logs (and -f until it stops), removed with the container', async () => {
    const lid = 'logs-1';
    expect((await ctrTs(['run', '-d', BUSYBOX, lid, 'sh', '-c', 'echo one; sleep 1; echo two >&2; echo three'])).exitCode).to.equal(0);
    const followed = await ctrTs(['logs', '-f', lid]);
    expect(followed.stdout).to.equal('one\ntwo\nthree');
    expect((await ctrTs(['logs', lid])).stdout).to.equal('one\ntwo\nthree');
    await ctrTs(['tasks', 'rm', lid]);
    await ctrTs(['containers', 'rm', lid]);
    expect(existsSync(`/var/lib/containerd-ts/logs/default/${lid}.log`)).to.equal(false);
    expect(await leftovers(lid)).to.deep.equal([]);
  });

  it('tasks wait returns the exit status once the task exits', async () => {
    const waitId = 'wait-1';
    expect((await ctrTs(['run', '-d', BUSYBOX, waitId, 'sh', '-c', 'sleep 1; exit 9'])).exitCode).to.equal(0);
    const w = await ctrTs(['tasks', 'wait', waitId]);
    expect(w.exitCode).to.equal(9);
    await ctrTs(['tasks', 'rm', waitId]);
    await ctrTs(['containers', 'rm', waitId]);
    expect(await leftovers(waitId)).to.deep.equal([]);
  });
});
