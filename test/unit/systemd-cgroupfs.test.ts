import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRuntimeError } from '../../src/errors.js';
import { detectCgroupLayout, readCgroupLimits, readOomKills } from '../../src/systemd/cgroupfs.js';

const CG = '/system.slice/containerd-abc.scope';

/** Writes `files` (path relative to root → content) under a fresh root. */
function tree(root: string, files: Record<string, string>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
  }
}

describe('systemd/cgroupfs', () => {
  let base: string;
  beforeEach(() => {
    base = mkdtempSync('/var/tmp/containerd-ts-cgroupfs-');
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  describe('cgroup v2 (unified)', () => {
    const v2 = (scope: Record<string, string>) => {
      const files: Record<string, string> = { 'cgroup.controllers': 'cpuset cpu io memory pids\n' };
      for (const [k, v] of Object.entries(scope)) files[join(CG, k)] = v;
      tree(base, files);
    };

    it('detects v2', () => {
      v2({});
      expect(detectCgroupLayout(base)).to.equal('v2');
    });

    it('reads limits', () => {
      v2({ 'memory.max': '67108864\n', 'cpu.max': '50000 100000\n', 'pids.max': '50\n' });
      expect(readCgroupLimits(CG, base)).to.deep.equal({ memoryMax: 67108864n, cpuQuotaUs: 50000n, cpuPeriodUs: 100000n, pidsMax: 50n });
    });

    it("maps 'max' to null", () => {
      v2({ 'memory.max': 'max\n', 'cpu.max': 'max 100000\n', 'pids.max': 'max\n' });
      expect(readCgroupLimits(CG, base)).to.deep.equal({ memoryMax: null, cpuQuotaUs: null, cpuPeriodUs: 100000n, pidsMax: null });
    });

    it('treats files of absent controllers as unlimited', () => {
      v2({ 'cgroup.procs': '' });
      expect(readCgroupLimits(CG, base)).to.deep.equal({ memoryMax: null, cpuQuotaUs: null, cpuPeriodUs: null, pidsMax: null });
    });

    it('counts OOM kills from memory.events', () => {
      v2({ 'memory.events': 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\noom_group_kill 0\n' });
      expect(readOomKills(CG, base)).to.equal(1);
    });

    it('reports 0 OOM kills without memory.events', () => {
      v2({ 'cgroup.procs': '' });
      expect(readOomKills(CG, base)).to.equal(0);
    });

    it('NotFound for a missing cgroup', () => {
      v2({});
      expect(() => readCgroupLimits('/system.slice/nope.scope', base)).to.throw().that.satisfies((e: unknown) => isRuntimeError(e, 'NotFound'));
      expect(() => readOomKills('/system.slice/nope.scope', base)).to.throw().that.satisfies((e: unknown) => isRuntimeError(e, 'NotFound'));
    });
  });

  describe('cgroup v1 (legacy / hybrid)', () => {
    const v1 = (files: Record<string, string>) => {
      const all: Record<string, string> = { 'unified/cgroup.controllers': '' }; // hybrid: cgroup2 has no controllers, not at the root
      for (const [k, v] of Object.entries(files)) {
        const [ctrl, file] = k.split(':') as [string, string];
        all[join(ctrl, CG, file)] = v;
      }
      tree(base, all);
    };

    it('detects v1 on a hybrid layout', () => {
      v1({ 'memory:cgroup.procs': '' });
      expect(detectCgroupLayout(base)).to.equal('v1');
    });

    it('reads limits', () => {
      v1({
        'memory:memory.limit_in_bytes': '67108864\n',
        'cpu:cpu.cfs_quota_us': '50000\n',
        'cpu:cpu.cfs_period_us': '100000\n',
        'pids:pids.max': '50\n',
      });
      expect(readCgroupLimits(CG, base)).to.deep.equal({ memoryMax: 67108864n, cpuQuotaUs: 50000n, cpuPeriodUs: 100000n, pidsMax: 50n });
    });

    it('maps the unlimited values to null', () => {
      v1({
        'memory:memory.limit_in_bytes': '9223372036854771712\n',
        'cpu:cpu.cfs_quota_us': '-1\n',
        'cpu:cpu.cfs_period_us': '100000\n',
        'pids:pids.max': 'max\n',
      });
      expect(readCgroupLimits(CG, base)).to.deep.equal({ memoryMax: null, cpuQuotaUs: null, cpuPeriodUs: 100000n, pidsMax: null });
    });

    it('maps the 64K-page unlimited memory value to null', () => {
      v1({ 'memory:memory.limit_in_bytes': '9223372036854710272\n' });
      expect(readCgroupLimits(CG, base).memoryMax).to.equal(null);
    });

    it("finds cpu under 'cpu,cpuacct' when there is no 'cpu' link", () => {
      v1({ 'cpu,cpuacct:cpu.cfs_quota_us': '20000\n', 'cpu,cpuacct:cpu.cfs_period_us': '100000\n' });
      const l = readCgroupLimits(CG, base);
      expect([l.cpuQuotaUs, l.cpuPeriodUs]).to.deep.equal([20000n, 100000n]);
    });

    it('counts OOM kills from memory.oom_control', () => {
      v1({ 'memory:memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n' });
      expect(readOomKills(CG, base)).to.equal(2);
    });

    it('reports 0 OOM kills on kernels without the oom_kill line', () => {
      v1({ 'memory:memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n' });
      expect(readOomKills(CG, base)).to.equal(0);
    });

    it('NotFound for a missing cgroup', () => {
      v1({ 'memory:cgroup.procs': '' });
      expect(() => readCgroupLimits('/system.slice/nope.scope', base)).to.throw().that.satisfies((e: unknown) => isRuntimeError(e, 'NotFound'));
    });

    it('refuses paths that climb out of the root', () => {
      v1({ 'memory:cgroup.procs': '' });
      expect(() => readCgroupLimits('/../../etc', base)).to.throw().that.satisfies((e: unknown) => isRuntimeError(e, 'InvalidArgument'));
    });
  });
});
