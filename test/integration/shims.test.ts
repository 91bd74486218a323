import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { expect } from 'chai';
import { BUSYBOX, BUSYBOX_ARCHIVE, bus, closeBus, ctr, ctrTs, eventually, isShimCommand, leftovers, sh, STATE, systemdAvailable } from './helpers.js';

const GROUP_LABEL = 'io.containerd.runc.v2.group';

/** Shim processes (cmdline of our shim) whose working directory is `dir`. */
function shimsIn(dir: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      return isShimCommand(readFileSync(`/proc/${pid}/cmdline`, 'utf8')) && readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '') === dir;
    } catch {
      return false;
    }
  });
}

const taskRow = async (id: string) => (await ctrTs(['tasks', 'ls'])).stdout.split('\n').find((l) => l.startsWith(`${id} `));
const shimPidOf = (id: string) => Number(readFileSync(`${STATE}/tasks/default/${id}/shim.pid`, 'utf8'));

async function remove(id: string): Promise<void> {
  await ctrTs(['tasks', 'kill', '--signal', 'KILL', id]);
  await eventually(async () => /STOPPED/.test((await taskRow(id)) ?? 'STOPPED'));
  await ctrTs(['tasks', 'rm', id]);
  await ctrTs(['containers', 'rm', id]);
}

describe('shim processes: the standby shim and shim groups (integration)', function () {
  before(async function () {
    if (!systemdAvailable()) this.skip();
    expect((await ctrTs(['images', 'import', BUSYBOX_ARCHIVE])).exitCode).to.equal(0);
  });
  after(() => closeBus());

  it('keeps one standby shim ready in the shims\' scope; a deleted container\'s shim waits as the next one and goes when the daemon stops', async () => {
    const standby = () => shimsIn('/');
    expect(await eventually(async () => standby().length === 1)).to.equal(true);
    const first = standby()[0]!;
    expect(await bus().systemd.getUnitByPid(first)).to.equal('containerd-ts-shims.scope');
    // Used by a create; when the container is deleted, its shim is recycled as the standby.
    expect((await ctrTs(['run', '--rm', BUSYBOX, 'standby-1', 'true'])).exitCode).to.equal(0);
    expect(await leftovers('standby-1')).to.deep.equal([]);
    expect(standby()).to.deep.equal([first]);
    expect(readFileSync(`/proc/${first}/cmdline`, 'utf8')).to.match(/^containerd-ts-shim standby/);
    expect((await sh('systemctl', ['stop', 'containerd-ts'])).exitCode).to.equal(0);
    try {
      expect(await eventually(async () => standby().length === 0, 5000)).to.equal(true);
      expect(readdirSync(`${STATE}/shims`)).to.deep.equal([]);
    } finally {
      expect((await sh('systemctl', ['start', 'containerd-ts'])).exitCode).to.equal(0);
    }
  });

  it('hands a recycled shim the next container: its socket, log, title and scope are that container\'s', async () => {
    expect((await ctrTs(['run', '--rm', BUSYBOX, 'recycle-1', 'true'])).exitCode).to.equal(0);
    const recycled = shimsIn('/');
    expect(recycled).to.have.length(1);
    expect(readFileSync(`/proc/${recycled[0]}/cmdline`, 'utf8')).to.match(/^containerd-ts-shim standby/);
    expect((await ctrTs(['run', '-d', BUSYBOX, 'recycle-2', 'sleep', '300'])).exitCode).to.equal(0);
    try {
      const pid = shimPidOf('recycle-2');
      expect(pid).to.equal(recycled[0]);
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).to.match(/^containerd-ts-shim default\/recycle-2/);
      expect(await bus().systemd.getUnitByPid(pid)).to.equal('containerd-ts-shims.scope');
      const log = readFileSync(`${STATE}/tasks/default/recycle-2/shim.log`, 'utf8');
      expect(log).to.match(/serving default\/recycle-2/);
      expect(log).to.not.match(/recycle-1/);
      const exec = await ctrTs(['tasks', 'exec', 'recycle-2', 'sh', '-c', 'echo from exec; exit 6']);
      expect(exec.stdout).to.contain('from exec');
      expect(exec.exitCode).to.equal(6);
    } finally {
      await remove('recycle-2');
    }
    expect(await leftovers('recycle-1')).to.deep.equal([]);
    expect(await leftovers('recycle-2')).to.deep.equal([]);
    // A run of the recycled shim's container ends with its real exit code.
    const again = await ctrTs(['run', '--rm', BUSYBOX, 'recycle-3', 'sh', '-c', 'exit 9']);
    expect(again.exitCode).to.equal(9);
    expect(await leftovers('recycle-3')).to.deep.equal([]);
  });

  it('keeps nothing of a container open in its recycled shim: no descriptor of its files, no growth across reuses', async () => {
    const fds = (pid: number) => readdirSync(`/proc/${pid}/fd`).map((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        return ''; // closed meanwhile
      }
    }).filter(Boolean);
    // Standbys seen after each run, and their open descriptors; a run --rm of a short command gives its shim back.
    const seen: Array<{ pid: number; open: string[] }> = [];
    for (let i = 0; i < 6; i++) {
      const id = `reuse-${i}`;
      const r = await ctrTs(['run', '--rm', BUSYBOX, id, 'sh', '-c', 'echo out; echo err >&2; exit 2']);
      expect(r.exitCode).to.equal(2);
      expect(r.stdout).to.contain('out');
      expect(await leftovers(id)).to.deep.equal([]);
      const [pid, ...more] = shimsIn('/');
      expect(more).to.deep.equal([]);
      const open = fds(pid!);
      expect(open.filter((target) => target.includes(id)), `descriptors of ${id}`).to.deep.equal([]);
      seen.push({ pid: pid!, open });
    }
    // The same process again and again (a loaded machine may start a fresh one now and then), with as many descriptors each time.
    const reused = seen.slice(1).filter((s, i) => s.pid === seen[i]!.pid);
    expect(reused.length, `standby pids: ${seen.map((s) => s.pid).join(', ')}`).to.be.at.least(3);
    expect(new Set(reused.map((s) => s.open.length)).size, `open descriptors: ${reused.map((s) => s.open.length).join(', ')}`).to.equal(1);
  });

  it('with recycle_shims = false in config.toml, a deleted container\'s shim exits and every create gets a fresh process', async () => {
    const config = '/etc/containerd-ts/config.toml';
    const saved = existsSync(config) ? readFileSync(config, 'utf8') : undefined;
    mkdirSync('/etc/containerd-ts', { recursive: true });
    writeFileSync(config, `${saved ?? ''}\nrecycle_shims = false\n`);
    try {
      expect((await sh('systemctl', ['restart', 'containerd-ts'])).exitCode).to.equal(0);
      expect(await eventually(async () => shimsIn('/').length === 1)).to.equal(true);
      const seen = new Set<number>();
      for (let i = 0; i < 3; i++) {
        const [standby] = shimsIn('/');
        seen.add(standby!);
        expect((await ctrTs(['run', '--rm', BUSYBOX, `fresh-${i}`, 'true'])).exitCode).to.equal(0);
        expect(await leftovers(`fresh-${i}`)).to.deep.equal([]);
        // The shim that served it is gone; the next standby is another process.
        expect(await eventually(async () => !existsSync(`/proc/${standby}`))).to.equal(true);
        expect(await eventually(async () => shimsIn('/').length === 1 && !seen.has(shimsIn('/')[0]!))).to.equal(true);
      }
    } finally {
      if (saved === undefined) rmSync(config, { force: true });
      else writeFileSync(config, saved);
      expect((await sh('systemctl', ['restart', 'containerd-ts'])).exitCode).to.equal(0);
    }
  });

  it('replaces a standby shim that was killed, and the next create still works', async () => {
    expect(await eventually(async () => shimsIn('/').length === 1)).to.equal(true);
    process.kill(shimsIn('/')[0]!, 'SIGKILL');
    const run = await ctrTs(['run', '--rm', BUSYBOX, 'standby-2', 'sh', '-c', 'exit 3']);
    expect(run.exitCode).to.equal(3);
    expect(await leftovers('standby-2')).to.deep.equal([]);
  });

  it('runs containers labelled with one group in one shim process, in the group\'s scope', async () => {
    const dir = `${STATE}/groups/default/g1`;
    for (const id of ['grp-a', 'grp-b']) {
      expect((await ctrTs(['run', '-d', '--label', `${GROUP_LABEL}=g1`, BUSYBOX, id, 'sleep', '300'])).exitCode).to.equal(0);
    }
    expect((await ctrTs(['run', '-d', BUSYBOX, 'grp-solo', 'sleep', '300'])).exitCode).to.equal(0);
    try {
      const [pid, ...others] = shimsIn(dir);
      expect(others).to.deep.equal([]);
      expect(shimPidOf('grp-a')).to.equal(pid);
      expect(shimPidOf('grp-b')).to.equal(pid);
      expect(shimPidOf('grp-solo')).to.not.equal(pid);
      expect(await bus().systemd.getUnitByPid(pid!)).to.equal('containerd-ts-shimgroup-default-g1.scope');
      // Each container still has its own scope and machine.
      for (const id of ['grp-a', 'grp-b']) {
        const tpid = Number((await taskRow(id))!.split(/\s+/)[1]);
        expect(await bus().systemd.getUnitByPid(tpid)).to.equal(`containerd-${id}.scope`);
        expect(await bus().machined.getMachine(id)).to.not.equal(null);
      }
      expect(readFileSync(`${dir}/shim.log`, 'utf8')).to.match(/serving default\/grp-b/);

      // The first member goes; the shim stays for the second, which keeps working.
      await remove('grp-a');
      expect(await leftovers('grp-a')).to.deep.equal([]);
      expect(shimsIn(dir)).to.deep.equal([pid]);
      const exec = await ctrTs(['tasks', 'exec', 'grp-b', 'sh', '-c', 'echo still here; exit 4']);
      expect(exec.stdout).to.contain('still here');
      expect(exec.exitCode).to.equal(4);

      // The real ctr can group too, with the same label.
      expect((await ctr(['run', '-d', '--label', `${GROUP_LABEL}=g1`, BUSYBOX, 'grp-c', 'sleep', '300'])).exitCode).to.equal(0);
      expect(shimPidOf('grp-c')).to.equal(pid);

      // A daemon restart finds the group again; a new member joins the same shim.
      expect((await sh('systemctl', ['restart', 'containerd-ts'])).exitCode).to.equal(0);
      expect(await taskRow('grp-b')).to.match(/RUNNING/);
      expect((await ctrTs(['run', '-d', '--label', `${GROUP_LABEL}=g1`, BUSYBOX, 'grp-d', 'sleep', '300'])).exitCode).to.equal(0);
      expect(shimPidOf('grp-d')).to.equal(pid);
    } finally {
      for (const id of ['grp-a', 'grp-b', 'grp-c', 'grp-d', 'grp-solo']) await remove(id);
    }
    // The last member takes the shim, its scope and the group's directory with it.
    expect(await eventually(async () => shimsIn(dir).length === 0)).to.equal(true);
    expect(await eventually(async () => (await bus().systemd.unitState('containerd-ts-shimgroup-default-g1.scope')) === null)).to.equal(true);
    expect(readdirSync(`${STATE}/groups/default`)).to.not.include('g1');
    for (const id of ['grp-a', 'grp-b', 'grp-c', 'grp-d', 'grp-solo']) expect(await leftovers(id)).to.deep.equal([]);
  });

  it('refuses a group name that cannot be a unit name, and creates nothing', async () => {
    const r = await ctrTs(['run', '-d', '--label', `${GROUP_LABEL}=../etc`, BUSYBOX, 'grp-bad', 'true']);
    expect(r.exitCode).to.not.equal(0);
    expect(r.stderr).to.match(/shim group is 1-64 letters/);
    await ctrTs(['containers', 'rm', 'grp-bad']);
    expect(await leftovers('grp-bad')).to.deep.equal([]);
  });
});
