import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { readCgroupMetrics } from '../../src/systemd/cgroup-metrics.js';
import { CGROUPS_V1_METRICS, CGROUPS_V2_METRICS, packCgroupMetrics, unpackCgroupMetrics } from '../../src/daemon/grpc/metrics.js';
import { isRuntimeError } from '../../src/errors.js';

/**
 * Minimal protobuf wire reader, independent of protobufjs: the varint at a
 * field-number path, the way a Go decoder of the cgroups message finds it.
 */
function wireField(buf: Uint8Array, pathNums: number[]): bigint[] {
  const out: bigint[] = [];
  const varint = (pos: number): [bigint, number] => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[pos++]!;
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) return [v, pos];
    }
  };
  let pos = 0;
  while (pos < buf.length) {
    const [key, p1] = varint(pos);
    const num = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, p2] = varint(p1);
      if (pathNums.length === 1 && num === pathNums[0]) out.push(v);
      pos = p2;
    } else if (wire === 2) {
      const [len, p2] = varint(p1);
      const body = buf.subarray(p2, p2 + Number(len));
      if (num === pathNums[0] && pathNums.length > 1) out.push(...wireField(body, pathNums.slice(1)));
      pos = p2 + Number(len);
    } else {
      throw new Error(`unexpected wire type ${wire}`);
    }
  }
  return out;
}

describe('cgroup metrics as containerd encodes them (io.containerd.cgroups.v1/v2.Metrics)', () => {
  let root = '';
  beforeEach(() => (root = mkdtempSync('/var/tmp/cgmetrics-')));
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const write = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  const cg = '/system.slice/containerd-x.scope';

  /** Files in the layout and format of a busybox container with --memory 64M --pids 50 on this machine (v1 hybrid), values chosen to be told apart. */
  function recordV1(): void {
    write(`memory${cg}/memory.usage_in_bytes`, '438272\n');
    write(`memory${cg}/memory.max_usage_in_bytes`, '1449984\n');
    write(`memory${cg}/memory.limit_in_bytes`, '67108864\n');
    write(`memory${cg}/memory.failcnt`, '0\n');
    write(`memory${cg}/memory.memsw.usage_in_bytes`, '438272\n');
    write(`memory${cg}/memory.memsw.limit_in_bytes`, '9223372036854771712\n');
    write(`memory${cg}/memory.kmem.usage_in_bytes`, '122880\n');
    write(`memory${cg}/memory.stat`, [
      'cache 135168', 'rss 204800', 'rss_huge 0', 'shmem 0', 'mapped_file 0', 'dirty 0', 'writeback 0', 'swap 0',
      'pgpgin 497', 'pgpgout 414', 'pgfault 924', 'pgmajfault 1', 'inactive_anon 200704', 'active_anon 0',
      'inactive_file 135168', 'active_file 0', 'unevictable 0', 'hierarchical_memory_limit 67108864',
      'hierarchical_memsw_limit 9223372036854771712', 'total_cache 135168', 'total_rss 204800', 'total_pgpgin 497', '',
    ].join('\n'));
    write(`memory${cg}/memory.oom_control`, 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n');
    write(`cpu${cg}/cpu.stat`, 'nr_periods 12\nnr_throttled 3\nthrottled_time 4500000\nnr_bursts 0\nburst_time 0\n');
    write(`cpuacct${cg}/cpuacct.usage`, '23456789\n');
    write(`cpuacct${cg}/cpuacct.usage_percpu`, '20000000 3456789 \n');
    write(`cpuacct${cg}/cpuacct.stat`, 'user 1\nsystem 2\n');
    write(`pids${cg}/pids.current`, '1\n');
    write(`pids${cg}/pids.max`, '50\n');
    write(`blkio${cg}/blkio.throttle.io_service_bytes`, '8:0 Read 4096\n8:0 Write 512\n8:0 Sync 4608\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 4608\nTotal 4608\n');
    write(`blkio${cg}/blkio.throttle.io_serviced`, '8:0 Read 1\n8:0 Write 1\nTotal 2\n');
    write(`blkio${cg}/blkio.bfq.io_service_bytes_recursive`, 'Total 0\n');
  }

  function recordV2(): void {
    write('cgroup.controllers', 'cpuset cpu io memory hugetlb pids rdma misc\n');
    write(`${cg}/memory.current`, '561152\n');
    write(`${cg}/memory.max`, '67108864\n');
    write(`${cg}/memory.swap.current`, '0\n');
    write(`${cg}/memory.swap.max`, 'max\n');
    write(`${cg}/memory.stat`, 'anon 221184\nfile 135168\nkernel_stack 16384\nslab 90000\nsock 0\nshmem 0\nfile_mapped 0\npgfault 990\npgmajfault 0\n');
    write(`${cg}/memory.events`, 'low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n');
    write(`${cg}/cpu.stat`, 'usage_usec 15000\nuser_usec 10000\nsystem_usec 5000\nnr_periods 7\nnr_throttled 2\nthrottled_usec 300\n');
    write(`${cg}/pids.current`, '2\n');
    write(`${cg}/pids.max`, 'max\n');
    write(`${cg}/io.stat`, '8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n253:1 rbytes=100 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n');
  }

  it('v1: the Any is io.containerd.cgroups.v1.Metrics and decodes to the recorded numbers', () => {
    recordV1();
    const any = packCgroupMetrics(readCgroupMetrics(cg, root));
    expect(any.type_url).to.equal(CGROUPS_V1_METRICS);
    const { layout, metrics } = unpackCgroupMetrics(any);
    expect(layout).to.equal('v1');
    expect(metrics).to.nested.include({
      'memory.usage.usage': '438272',
      'memory.usage.limit': '67108864',
      'memory.usage.max': '1449984',
      'memory.swap.limit': '9223372036854771712',
      'memory.kernel.usage': '122880',
      'memory.cache': '135168',
      'memory.rss': '204800',
      'memory.total_cache': '135168',
      'memory.pg_pg_in': '497',
      'memory.pg_maj_fault': '1',
      'memory.hierarchical_swap_limit': '9223372036854771712',
      'cpu.usage.total': '23456789',
      'cpu.usage.user': '10000000',
      'cpu.usage.kernel': '20000000',
      'cpu.throttling.periods': '12',
      'cpu.throttling.throttled_periods': '3',
      'cpu.throttling.throttled_time': '4500000',
      'pids.current': '1',
      'pids.limit': '50',
      'memory_oom_control.oom_kill': '2',
    });
    if (layout !== 'v1') throw new Error('v1 expected');
    expect(metrics.cpu?.usage?.per_cpu).to.deep.equal(['20000000', '3456789']);
    // BFQ's recursive file names no device, so the throttle counters are used (like the cgroups library).
    const bytes = metrics.blkio?.io_service_bytes_recursive ?? [];
    expect(bytes.map((e) => [e.op, e.value, e.major])).to.deep.include.members([['Read', '4096', '8'], ['Write', '512', '8']]);
    expect(bytes.find((e) => e.op === 'Total' && e.value === '4608')).to.not.equal(undefined);
  });

  it('v1: on the wire, Metrics.memory(4).usage(33).limit(1) is the limit `ctr tasks metrics` prints', () => {
    recordV1();
    const { value } = packCgroupMetrics(readCgroupMetrics(cg, root));
    expect(wireField(value, [4, 33, 1])).to.deep.equal([67108864n]);
    expect(wireField(value, [4, 33, 2])).to.deep.equal([438272n]);
    expect(wireField(value, [3, 1, 1])).to.deep.equal([23456789n]); // cpu.usage.total
    expect(wireField(value, [2, 2])).to.deep.equal([50n]); // pids.limit
  });

  it('v1: unlimited pids (pids.max "max") is 0, as the cgroups library reports it', () => {
    recordV1();
    write(`pids${cg}/pids.max`, 'max\n');
    const { metrics } = unpackCgroupMetrics(packCgroupMetrics(readCgroupMetrics(cg, root)));
    expect(metrics).to.nested.include({ 'pids.limit': '0' });
  });

  it('v2: the Any is io.containerd.cgroups.v2.Metrics and decodes to the recorded numbers', () => {
    recordV2();
    const any = packCgroupMetrics(readCgroupMetrics(cg, root));
    expect(any.type_url).to.equal(CGROUPS_V2_METRICS);
    const { layout, metrics } = unpackCgroupMetrics(any);
    expect(layout).to.equal('v2');
    expect(metrics).to.nested.include({
      'memory.usage': '561152',
      'memory.usage_limit': '67108864',
      'memory.swap_usage': '0',
      'memory.swap_limit': '18446744073709551615',
      'memory.anon': '221184',
      'memory.file': '135168',
      'memory.kernel_stack': '16384',
      'memory.pgfault': '990',
      'memory_events.max': '4',
      'memory_events.oom_kill': '1',
      'cpu.usage_usec': '15000',
      'cpu.user_usec': '10000',
      'cpu.system_usec': '5000',
      'cpu.nr_periods': '7',
      'cpu.nr_throttled': '2',
      'cpu.throttled_usec': '300',
      'pids.current': '2',
      'pids.limit': '18446744073709551615',
    });
    if (layout !== 'v2') throw new Error('v2 expected');
    const io = metrics.io?.usage ?? [];
    expect(io.map((e) => [e.major, e.minor, e.rbytes, e.wbytes, e.rios, e.wios])).to.deep.equal([
      ['8', '0', '4096', '8192', '1', '2'],
      ['253', '1', '100', '0', '1', '0'],
    ]);
    // Metrics.memory(4).usage_limit(33) on the wire.
    expect(wireField(any.value, [4, 33])).to.deep.equal([67108864n]);
  });

  it('leaves out controllers the cgroup does not have (no memory message rather than zeros)', () => {
    write('cgroup.controllers', 'cpu pids\n');
    write(`${cg}/cpu.stat`, 'usage_usec 1\n');
    write(`${cg}/pids.current`, '1\n');
    const decoded = unpackCgroupMetrics(packCgroupMetrics(readCgroupMetrics(cg, root)));
    if (decoded.layout !== 'v2') throw new Error('v2 expected');
    const { metrics } = decoded;
    expect(metrics.memory).to.equal(null);
    expect(metrics.io).to.equal(null);
    expect(metrics).to.nested.include({ 'pids.current': '1', 'cpu.usage_usec': '1' });
  });

  it('is NotFound for a cgroup that is gone, on both layouts', () => {
    for (const setup of [() => write('memory/.keep', ''), () => write('cgroup.controllers', 'memory\n')]) {
      rmSync(root, { recursive: true, force: true });
      mkdirSync(root);
      setup();
      try {
        readCgroupMetrics('/system.slice/gone.scope', root);
        expect.fail('should throw');
      } catch (err) {
        expect(isRuntimeError(err, 'NotFound')).to.equal(true);
      }
    }
  });

  it('refuses a payload that is not cgroups metrics', () => {
    expect(() => unpackCgroupMetrics({ type_url: 'types.containerd-ts.io/metrics/v1', value: Buffer.from('{}') })).to.throw(/not cgroups metrics/);
  });
});
