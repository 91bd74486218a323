import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { readCgroupStats } from '../../src/systemd/cgroup-metrics.js';
import { isRuntimeError } from '../../src/errors.js';

/** Usage counters from recorded cgroup files, both layouts. */
describe('readCgroupStats', () => {
  let root = '';
  beforeEach(() => (root = mkdtempSync('/var/tmp/cgstats-')));
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  const cg = '/system.slice/containerd-x.scope';

  it('reads cgroup v2 counters (memory.current/peak, cpu.stat, pids.current, io.stat summed)', () => {
    write('cgroup.controllers', 'cpu memory pids io\n');
    write(`${cg}/memory.current`, '1048576\n');
    write(`${cg}/memory.peak`, '2097152\n');
    write(`${cg}/cpu.stat`, 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n');
    write(`${cg}/pids.current`, '3\n');
    write(`${cg}/io.stat`, '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2\n8:16 rbytes=100 wbytes=0 rios=1 wios=0\n');
    expect(readCgroupStats(cg, root)).to.deep.equal({
      memoryUsage: 1048576n, memoryPeak: 2097152n, cpuUsageNs: 1_500_000n, pidsCurrent: 3n, ioReadBytes: 4196n, ioWriteBytes: 8192n,
    });
  });

  it('reads cgroup v1 counters from the per-controller hierarchies (separate cpuacct)', () => {
    write(`memory${cg}/memory.usage_in_bytes`, '524288\n');
    write(`memory${cg}/memory.max_usage_in_bytes`, '1048576\n');
    write(`cpuacct${cg}/cpuacct.usage`, '123456789\n');
    write(`pids${cg}/pids.current`, '2\n');
    write(`blkio${cg}/blkio.throttle.io_service_bytes`, '8:0 Read 4096\n8:0 Write 512\n8:0 Sync 0\n8:0 Total 4608\nTotal 4608\n');
    expect(readCgroupStats(cg, root)).to.deep.equal({
      memoryUsage: 524288n, memoryPeak: 1048576n, cpuUsageNs: 123456789n, pidsCurrent: 2n, ioReadBytes: 4096n, ioWriteBytes: 512n,
    });
  });

  it('gives null for controllers that are absent (v2 without memory.peak, before Linux 5.19)', () => {
    write('cgroup.controllers', 'cpu memory pids\n');
    write(`${cg}/memory.current`, '1\n');
    const stats = readCgroupStats(cg, root);
    expect(stats.memoryPeak).to.equal(null);
    expect(stats.ioReadBytes).to.equal(null);
  });

  it('is NotFound for a cgroup that is gone', () => {
    write('cgroup.controllers', 'memory\n');
    try {
      readCgroupStats('/system.slice/gone.scope', root);
      expect.fail('should throw');
    } catch (err) {
      expect(isRuntimeError(err, 'NotFound')).to.equal(true);
    }
  });
});
