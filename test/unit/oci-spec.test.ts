import { expect } from 'chai';
import {
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH,
  defaultSpec,
  generateSpec,
  limitsFromSpec,
  mergeEnv,
  withEnv,
  withImageConfig,
  withLimits,
  withSystemdScope,
} from '../../src/oci/spec.js';

describe('oci/spec', () => {
  describe('defaultSpec (containerd oci/spec.go populateDefaultUnixSpec)', () => {
    it('isolates the container in pid, ipc, uts, mount and network namespaces', () => {
      const types = defaultSpec().linux.namespaces.map((n) => n.type);
      expect(types).to.have.members(['pid', 'ipc', 'uts', 'mount', 'network']);
      expect(defaultSpec().linux.namespaces.every((n) => n.path === undefined)).to.equal(true);
    });

    it('mounts proc, dev, devpts, shm, mqueue, sysfs (ro) and run', () => {
      const mounts = defaultSpec().mounts;
      const byDest = Object.fromEntries(mounts.map((m) => [m.destination, m]));
      expect(Object.keys(byDest)).to.include.members(['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/run']);
      expect(byDest['/proc']!.type).to.equal('proc');
      expect(byDest['/sys']!.type).to.equal('sysfs');
      expect(byDest['/sys']!.options).to.include('ro');
      expect(byDest['/dev/pts']!.options).to.include.members(['newinstance', 'ptmxmode=0666', 'gid=5']);
      for (const m of mounts) expect(m.options, m.destination).to.include('nosuid');
    });

    it('masks and write-protects the sensitive /proc and /sys paths', () => {
      const linux = defaultSpec().linux;
      expect(linux.maskedPaths).to.include.members(['/proc/kcore', '/proc/keys', '/proc/timer_list', '/sys/firmware', '/proc/acpi', '/proc/scsi']);
      expect(linux.readonlyPaths).to.include.members(['/proc/sys', '/proc/sysrq-trigger', '/proc/bus', '/proc/fs', '/proc/irq']);
    });

    it("grants containerd's 14 default capabilities and nothing dangerous", () => {
      const caps = defaultSpec().process.capabilities!;
      expect(DEFAULT_CAPABILITIES).to.have.length(14);
      expect(caps.bounding).to.have.members(DEFAULT_CAPABILITIES);
      expect(caps.effective).to.have.members(DEFAULT_CAPABILITIES);
      expect(caps.permitted).to.have.members(DEFAULT_CAPABILITIES);
      for (const dangerous of ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN', 'CAP_SYS_MODULE', 'CAP_SYS_PTRACE']) {
        expect(caps.bounding).not.to.include(dangerous);
      }
    });

    it('sets NOFILE 1024, noNewPrivileges, root user, PATH, cwd / and denies all devices', () => {
      const s = defaultSpec();
      expect(s.process.rlimits).to.deep.equal([{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }]);
      expect(s.process.noNewPrivileges).to.equal(true);
      expect(s.process.user).to.deep.equal({ uid: 0, gid: 0 });
      expect(s.process.env).to.deep.equal([DEFAULT_PATH]);
      expect(s.process.cwd).to.equal('/');
      expect(s.root.path).to.equal('rootfs');
      expect(s.linux.resources?.devices).to.deep.equal([{ allow: false, access: 'rwm' }]);
    });

    it('returns a fresh object each time (options cannot leak between containers)', () => {
      const a = defaultSpec();
      a.process.capabilities!.bounding.push('CAP_SYS_ADMIN');
      a.mounts.pop();
      expect(defaultSpec().process.capabilities!.bounding).not.to.include('CAP_SYS_ADMIN');
      expect(defaultSpec().mounts).to.have.length(7);
    });

    it('carries a default seccomp profile', () => {
      expect(defaultSpec().linux.seccomp).to.be.an('object');
      expect(defaultSpec().linux.seccomp!.defaultAction).to.equal('SCMP_ACT_ERRNO');
    });
  });

  describe('withImageConfig', () => {
    it('runs Entrypoint followed by Cmd', () => {
      const s = generateSpec(withImageConfig({ Entrypoint: ['/entry.sh', '-x'], Cmd: ['serve', '--port=80'] }));
      expect(s.process.args).to.deep.equal(['/entry.sh', '-x', 'serve', '--port=80']);
    });

    it('replaces Cmd (but keeps Entrypoint) with the user args', () => {
      const s = generateSpec(withImageConfig({ Entrypoint: ['/entry.sh'], Cmd: ['serve'] }, ['sh', '-c', 'exit 1']));
      expect(s.process.args).to.deep.equal(['/entry.sh', 'sh', '-c', 'exit 1']);
      const noEntry = generateSpec(withImageConfig({ Cmd: ['sh'] }, ['true']));
      expect(noEntry.process.args).to.deep.equal(['true']);
    });

    it('merges the image Env over the default PATH, later wins, and sets WorkingDir', () => {
      const s = generateSpec(
        withImageConfig({ Env: ['PATH=/opt/bin', 'A=1', 'B=2'], WorkingDir: '/srv', Cmd: ['x'] }),
        withEnv(['A=override', 'C=3']),
      );
      expect(s.process.env).to.deep.equal(['PATH=/opt/bin', 'A=override', 'B=2', 'C=3']);
      expect(s.process.cwd).to.equal('/srv');
    });

    it('keeps the defaults when the image has no config', () => {
      const s = generateSpec(withImageConfig(undefined, ['echo']));
      expect(s.process.args).to.deep.equal(['echo']);
      expect(s.process.env).to.deep.equal([DEFAULT_PATH]);
      expect(s.process.cwd).to.equal('/');
    });
  });

  describe('withLimits / limitsFromSpec', () => {
    it('puts the limits in linux.resources, keeping the device rule', () => {
      const s = generateSpec(withLimits({ memoryBytes: 64 << 20, cpuQuotaUs: 50_000, cpuPeriodUs: 100_000, pids: 20 }));
      expect(s.linux.resources).to.deep.equal({
        devices: [{ allow: false, access: 'rwm' }],
        memory: { limit: 64 << 20 },
        cpu: { quota: 50_000, period: 100_000 },
        pids: { limit: 20 },
      });
    });

    it('defaults the CPU period to 100ms and leaves unset limits out', () => {
      const s = generateSpec(withLimits({ cpuQuotaUs: 25_000 }));
      expect(s.linux.resources?.cpu).to.deep.equal({ quota: 25_000, period: 100_000 });
      expect(s.linux.resources).not.to.have.any.keys('memory', 'pids');
    });

    it('round-trips: limitsFromSpec(withLimits(l)) == l', () => {
      const cases = [
        { memoryBytes: 128 << 20 },
        { cpuQuotaUs: 150_000, cpuPeriodUs: 50_000 },
        { pids: 7 },
        { memoryBytes: 6 << 20, cpuQuotaUs: 1000, cpuPeriodUs: 100_000, pids: 1 },
        {},
      ];
      for (const l of cases) expect(limitsFromSpec(generateSpec(withLimits(l)))).to.deep.equal(l);
    });

    it('ignores zero/negative values in a spec from a client (containerd uses them for "unlimited")', () => {
      const s = defaultSpec();
      s.linux.resources = { memory: { limit: -1 }, cpu: { quota: -1, period: 100_000 }, pids: { limit: 0 } };
      expect(limitsFromSpec(s)).to.deep.equal({});
    });
  });

  describe('withSystemdScope', () => {
    it('sets the runc systemd cgroupsPath <slice>:containerd:<id>', () => {
      const s = generateSpec(withSystemdScope('system.slice', 'c1'));
      expect(s.linux.cgroupsPath).to.equal('system.slice:containerd:c1');
    });

    it('keeps a cgroupsPath the client already chose', () => {
      const s = defaultSpec();
      s.linux.cgroupsPath = 'machine.slice:ctr:x';
      withSystemdScope('system.slice', 'c1')(s);
      expect(s.linux.cgroupsPath).to.equal('machine.slice:ctr:x');
    });

    it('passes the memory limit as the MemoryMax unit property annotation (GVariant text)', () => {
      const s = generateSpec(withLimits({ memoryBytes: 67108864 }), withSystemdScope('system.slice', 'c1'));
      expect(s.annotations).to.deep.equal({ 'org.systemd.property.MemoryMax': 'uint64 67108864' });
    });

    it('keeps existing annotations and adds none without a memory limit', () => {
      const s = defaultSpec();
      s.annotations = { keep: 'me' };
      withSystemdScope('system.slice', 'c1')(s);
      expect(s.annotations).to.deep.equal({ keep: 'me' });
      withLimits({ memoryBytes: 8 << 20 })(s);
      withSystemdScope('system.slice', 'c1')(s);
      expect(s.annotations).to.deep.equal({ keep: 'me', 'org.systemd.property.MemoryMax': `uint64 ${8 << 20}` });
    });
  });

  describe('mergeEnv', () => {
    it('keeps first-appearance order and lets later values win', () => {
      expect(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4', 'A=5'])).to.deep.equal(['A=5', 'B=3', 'C=4']);
    });

    it('splits on the first "=" only and treats a bare name as a key', () => {
      expect(mergeEnv(['OPTS=a=b'], ['X', 'OPTS=c=d=e'])).to.deep.equal(['OPTS=c=d=e', 'X']);
      expect(mergeEnv(['EMPTY=x'], ['EMPTY='])).to.deep.equal(['EMPTY=']);
    });

    it('does not modify its inputs', () => {
      const base = ['A=1'];
      mergeEnv(base, ['A=2']);
      expect(base).to.deep.equal(['A=1']);
    });
  });
});
