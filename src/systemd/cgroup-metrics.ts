/**
 * A cgroup's full statistics in the shape of containerd's cgroups library
 * (`io.containerd.cgroups.v1.Metrics` / `io.containerd.cgroups.v2.Metrics`,
 * vendored under proto/github.com/containerd/cgroups): what `ctr tasks
 * metrics` decodes. Field names are the proto's, values are bigint; the
 * readers follow the library's rules (which file, what "max" becomes) so the
 * figures match what containerd would report for the same cgroup. Everything
 * else that shows usage (ctr-ts, resource checks) derives from these.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { notFound } from '../errors.js';
import { cgroupDir, detectCgroupLayout, DEFAULT_CGROUP_ROOT, isDir, readOptional } from './cgroupfs.js';

const UINT64_MAX = (1n << 64n) - 1n;
/** USER_HZ: cpuacct.stat counts in clock ticks of 1/100 s on every Linux architecture we run on. */
const NS_PER_TICK = 10_000_000n;

export interface MemoryEntryV1 { limit: bigint; usage: bigint; max: bigint; failcnt: bigint }

/** io.containerd.cgroups.v1.MemoryStat (memory.stat keys plus the four usage entries). */
export interface MemoryStatV1 extends Record<MemoryStatV1Key, bigint> {
  usage: MemoryEntryV1;
  swap: MemoryEntryV1;
  kernel: MemoryEntryV1;
  kernel_tcp: MemoryEntryV1;
}

/** memory.stat key → proto field (only where they differ: pgpgin → pg_pg_in, ...). */
const MEMORY_STAT_V1_FIELDS = {
  cache: 'cache', rss: 'rss', rss_huge: 'rss_huge', mapped_file: 'mapped_file', dirty: 'dirty', writeback: 'writeback',
  pgpgin: 'pg_pg_in', pgpgout: 'pg_pg_out', pgfault: 'pg_fault', pgmajfault: 'pg_maj_fault',
  inactive_anon: 'inactive_anon', active_anon: 'active_anon', inactive_file: 'inactive_file', active_file: 'active_file',
  unevictable: 'unevictable', hierarchical_memory_limit: 'hierarchical_memory_limit', hierarchical_memsw_limit: 'hierarchical_swap_limit',
  total_cache: 'total_cache', total_rss: 'total_rss', total_rss_huge: 'total_rss_huge', total_mapped_file: 'total_mapped_file',
  total_dirty: 'total_dirty', total_writeback: 'total_writeback', total_pgpgin: 'total_pg_pg_in', total_pgpgout: 'total_pg_pg_out',
  total_pgfault: 'total_pg_fault', total_pgmajfault: 'total_pg_maj_fault', total_inactive_anon: 'total_inactive_anon',
  total_active_anon: 'total_active_anon', total_inactive_file: 'total_inactive_file', total_active_file: 'total_active_file',
  total_unevictable: 'total_unevictable',
} as const;
type MemoryStatV1Key = (typeof MEMORY_STAT_V1_FIELDS)[keyof typeof MEMORY_STAT_V1_FIELDS];

export interface BlkIOEntryV1 { op: string; device: string; major: bigint; minor: bigint; value: bigint }

/** io.containerd.cgroups.v1.Metrics, the parts cgroup files give (no hugetlb, rdma or network). */
export interface CgroupV1Metrics {
  pids: { current: bigint; limit: bigint } | null;
  cpu: {
    usage: { total: bigint; kernel: bigint; user: bigint; per_cpu: bigint[] };
    throttling: { periods: bigint; throttled_periods: bigint; throttled_time: bigint };
  } | null;
  memory: MemoryStatV1 | null;
  blkio: { io_service_bytes_recursive: BlkIOEntryV1[]; io_serviced_recursive: BlkIOEntryV1[] } | null;
  memory_oom_control: { oom_kill_disable: bigint; under_oom: bigint; oom_kill: bigint } | null;
}

const MEMORY_STAT_V2_FIELDS = [
  'anon', 'file', 'kernel_stack', 'slab', 'sock', 'shmem', 'file_mapped', 'file_dirty', 'file_writeback', 'anon_thp',
  'inactive_anon', 'active_anon', 'inactive_file', 'active_file', 'unevictable', 'slab_reclaimable', 'slab_unreclaimable',
  'pgfault', 'pgmajfault', 'workingset_refault', 'workingset_activate', 'workingset_nodereclaim', 'pgrefill', 'pgscan',
  'pgsteal', 'pgactivate', 'pgdeactivate', 'pglazyfree', 'pglazyfreed', 'thp_fault_alloc', 'thp_collapse_alloc',
] as const;

/** io.containerd.cgroups.v2.MemoryStat: memory.stat keys plus usage/limit and swap from their files. */
export interface MemoryStatV2 extends Record<(typeof MEMORY_STAT_V2_FIELDS)[number], bigint> {
  usage: bigint;
  usage_limit: bigint;
  swap_usage: bigint;
  swap_limit: bigint;
}

export interface IOEntryV2 { major: bigint; minor: bigint; rbytes: bigint; wbytes: bigint; rios: bigint; wios: bigint }

/** io.containerd.cgroups.v2.Metrics, the parts cgroup files give (no rdma or hugetlb). */
export interface CgroupV2Metrics {
  pids: { current: bigint; limit: bigint } | null;
  cpu: { usage_usec: bigint; user_usec: bigint; system_usec: bigint; nr_periods: bigint; nr_throttled: bigint; throttled_usec: bigint } | null;
  memory: MemoryStatV2 | null;
  io: { usage: IOEntryV2[] } | null;
  memory_events: { low: bigint; high: bigint; max: bigint; oom: bigint; oom_kill: bigint } | null;
}

/** A cgroup's statistics, tagged with the layout they were read from (which decides the proto message). */
export type CgroupMetrics = { layout: 'v1'; v1: CgroupV1Metrics } | { layout: 'v2'; v2: CgroupV2Metrics };

/** Reads every statistic of `controlGroup` (e.g. `/system.slice/containerd-x.scope`); NotFound if the cgroup is gone. */
export function readCgroupMetrics(controlGroup: string, root: string = DEFAULT_CGROUP_ROOT): CgroupMetrics {
  return detectCgroupLayout(root) === 'v2'
    ? { layout: 'v2', v2: readV2Metrics(root, controlGroup) }
    : { layout: 'v1', v1: readV1Metrics(root, controlGroup) };
}

// --- shared parsing -------------------------------------------------------------

/** A flat-keyed file ("key value" lines) as a map; null if the file is absent. */
function keyedFile(file: string): Map<string, bigint> | null {
  const text = readOptional(file);
  if (text === null) return null;
  const out = new Map<string, bigint>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, BigInt(v));
  }
  return out;
}

/** A single-number file; `max` becomes `maxAs`; absent or unparsable → 0 (as the cgroups library reports). */
function uintFile(file: string, maxAs = 0n): bigint {
  const text = readOptional(file)?.trim();
  if (text === undefined || text === '') return 0n;
  if (text === 'max') return maxAs;
  return /^\d+$/.test(text) ? BigInt(text) : 0n;
}

// --- v1 ---------------------------------------------------------------------------

function readV1Metrics(root: string, cg: string): CgroupV1Metrics {
  const dir = (controller: string) => cgroupDir(root, controller, cg, false);
  const memDir = dir('memory');
  const cpuDir = dir(existsSync(join(root, 'cpu')) ? 'cpu' : 'cpu,cpuacct');
  const acctDir = dir(existsSync(join(root, 'cpuacct')) ? 'cpuacct' : 'cpu,cpuacct');
  const pidsDir = dir('pids');
  const blkioDir = dir('blkio');
  if (![memDir, acctDir, pidsDir].some(isDir)) throw notFound(`cgroup ${cg} not found`, { fields: { cgroup: cg, root } });
  return {
    pids: isDir(pidsDir) ? { current: uintFile(join(pidsDir, 'pids.current')), limit: uintFile(join(pidsDir, 'pids.max')) } : null,
    cpu: isDir(acctDir) ? readV1Cpu(acctDir, cpuDir) : null,
    memory: isDir(memDir) ? readV1Memory(memDir) : null,
    blkio: isDir(blkioDir) ? readV1Blkio(blkioDir) : null,
    memory_oom_control: isDir(memDir) ? readV1OomControl(memDir) : null,
  };
}

function readV1Cpu(acctDir: string, cpuDir: string): NonNullable<CgroupV1Metrics['cpu']> {
  const stat = keyedFile(join(acctDir, 'cpuacct.stat'));
  const perCpu = (readOptional(join(acctDir, 'cpuacct.usage_percpu')) ?? '').trim().split(/\s+/).filter((v) => /^\d+$/.test(v)).map(BigInt);
  const throttle = keyedFile(join(cpuDir, 'cpu.stat'));
  return {
    usage: {
      total: uintFile(join(acctDir, 'cpuacct.usage')),
      user: (stat?.get('user') ?? 0n) * NS_PER_TICK,
      kernel: (stat?.get('system') ?? 0n) * NS_PER_TICK,
      per_cpu: perCpu,
    },
    throttling: {
      periods: throttle?.get('nr_periods') ?? 0n,
      throttled_periods: throttle?.get('nr_throttled') ?? 0n,
      throttled_time: throttle?.get('throttled_time') ?? 0n,
    },
  };
}

function readV1Memory(memDir: string): MemoryStatV1 {
  const stat = keyedFile(join(memDir, 'memory.stat')) ?? new Map<string, bigint>();
  const fields = {} as Record<MemoryStatV1Key, bigint>;
  for (const [key, field] of Object.entries(MEMORY_STAT_V1_FIELDS)) fields[field] = stat.get(key) ?? 0n;
  const entry = (prefix: string): MemoryEntryV1 => ({
    limit: uintFile(join(memDir, `${prefix}limit_in_bytes`)),
    usage: uintFile(join(memDir, `${prefix}usage_in_bytes`)),
    max: uintFile(join(memDir, `${prefix}max_usage_in_bytes`)),
    failcnt: uintFile(join(memDir, `${prefix}failcnt`)),
  });
  return { ...fields, usage: entry('memory.'), swap: entry('memory.memsw.'), kernel: entry('memory.kmem.'), kernel_tcp: entry('memory.kmem.tcp.') };
}

/**
 * Like the cgroups library: the CFQ/BFQ recursive counters when the kernel has
 * them and they name a device, else the throttle ones (which always count).
 */
function readV1Blkio(blkioDir: string): NonNullable<CgroupV1Metrics['blkio']> {
  for (const prefix of ['blkio.', 'blkio.bfq.']) {
    const bytes = blkioEntries(join(blkioDir, `${prefix}io_service_bytes_recursive`));
    if (bytes.length > 0) return { io_service_bytes_recursive: bytes, io_serviced_recursive: blkioEntries(join(blkioDir, `${prefix}io_serviced_recursive`)) };
  }
  return {
    io_service_bytes_recursive: blkioEntries(join(blkioDir, 'blkio.throttle.io_service_bytes')),
    io_serviced_recursive: blkioEntries(join(blkioDir, 'blkio.throttle.io_serviced')),
  };
}

/** "<maj>:<min> <Op> <value>" lines; the trailing "Total N" line has no device and is skipped. */
function blkioEntries(file: string): BlkIOEntryV1[] {
  const out: BlkIOEntryV1[] = [];
  for (const m of (readOptional(file) ?? '').matchAll(/^(\d+):(\d+) (\w+) (\d+)$/gm)) {
    out.push({ op: m[3]!, device: '', major: BigInt(m[1]!), minor: BigInt(m[2]!), value: BigInt(m[4]!) });
  }
  return out;
}

function readV1OomControl(memDir: string): CgroupV1Metrics['memory_oom_control'] {
  const c = keyedFile(join(memDir, 'memory.oom_control'));
  if (c === null) return null;
  return { oom_kill_disable: c.get('oom_kill_disable') ?? 0n, under_oom: c.get('under_oom') ?? 0n, oom_kill: c.get('oom_kill') ?? 0n };
}

// --- v2 ---------------------------------------------------------------------------

function readV2Metrics(root: string, cg: string): CgroupV2Metrics {
  const dir = cgroupDir(root, '', cg, true);
  const file = (name: string) => join(dir, name);
  const has = (name: string) => existsSync(file(name));
  const cpu = keyedFile(file('cpu.stat'));
  const memStat = keyedFile(file('memory.stat'));
  const events = keyedFile(file('memory.events'));
  let memory: MemoryStatV2 | null = null;
  if (memStat !== null || has('memory.current')) {
    const fields = {} as Record<(typeof MEMORY_STAT_V2_FIELDS)[number], bigint>;
    for (const key of MEMORY_STAT_V2_FIELDS) fields[key] = memStat?.get(key) ?? 0n;
    memory = {
      ...fields,
      usage: uintFile(file('memory.current')),
      usage_limit: uintFile(file('memory.max'), UINT64_MAX),
      swap_usage: uintFile(file('memory.swap.current')),
      swap_limit: uintFile(file('memory.swap.max'), UINT64_MAX),
    };
  }
  const k = (m: Map<string, bigint> | null, key: string) => m?.get(key) ?? 0n;
  return {
    pids: has('pids.current') ? { current: uintFile(file('pids.current')), limit: uintFile(file('pids.max'), UINT64_MAX) } : null,
    cpu: cpu === null ? null : {
      usage_usec: k(cpu, 'usage_usec'), user_usec: k(cpu, 'user_usec'), system_usec: k(cpu, 'system_usec'),
      nr_periods: k(cpu, 'nr_periods'), nr_throttled: k(cpu, 'nr_throttled'), throttled_usec: k(cpu, 'throttled_usec'),
    },
    memory,
    io: has('io.stat') ? { usage: ioStatEntries(readOptional(file('io.stat')) ?? '') } : null,
    memory_events: events === null ? null : {
      low: k(events, 'low'), high: k(events, 'high'), max: k(events, 'max'), oom: k(events, 'oom'), oom_kill: k(events, 'oom_kill'),
    },
  };
}

/** io.stat: "<maj>:<min> rbytes=N wbytes=N rios=N wios=N ..." per device. */
function ioStatEntries(text: string): IOEntryV2[] {
  const out: IOEntryV2[] = [];
  for (const line of text.split('\n')) {
    const dev = /^(\d+):(\d+)\s/.exec(line);
    if (!dev) continue;
    const v = (key: string) => BigInt(new RegExp(`\\b${key}=(\\d+)`).exec(line)?.[1] ?? '0');
    out.push({ major: BigInt(dev[1]!), minor: BigInt(dev[2]!), rbytes: v('rbytes'), wbytes: v('wbytes'), rios: v('rios'), wios: v('wios') });
  }
  return out;
}

/** The headline figures (ctr-ts, resource checks); null where the controller is absent. */
export interface CgroupStats {
  memoryUsage: bigint | null;
  memoryPeak: bigint | null;
  cpuUsageNs: bigint | null;
  pidsCurrent: bigint | null;
  ioReadBytes: bigint | null;
  ioWriteBytes: bigint | null;
}

/** Usage counters of `controlGroup` on either layout; NotFound if the cgroup is gone. */
export function readCgroupStats(controlGroup: string, root: string = DEFAULT_CGROUP_ROOT): CgroupStats {
  const m = readCgroupMetrics(controlGroup, root);
  // memory.peak (Linux 5.19+) is not part of containerd's v2 message.
  const v2Peak = () => readOptional(join(cgroupDir(root, '', controlGroup, true), 'memory.peak'))?.trim();
  return summarizeCgroupMetrics(m, m.layout === 'v2' ? v2Peak() : undefined);
}

/** The headline figures of full statistics; `v2PeakText` is memory.peak's content on v2. */
export function summarizeCgroupMetrics(m: CgroupMetrics, v2PeakText?: string): CgroupStats {
  if (m.layout === 'v1') {
    const { memory, cpu, pids, blkio } = m.v1;
    const io = (op: string) => blkio?.io_service_bytes_recursive.filter((e) => e.op === op).reduce((a, e) => a + e.value, 0n) ?? null;
    return {
      memoryUsage: memory?.usage.usage ?? null,
      memoryPeak: memory?.usage.max ?? null,
      cpuUsageNs: cpu?.usage.total ?? null,
      pidsCurrent: pids?.current ?? null,
      ioReadBytes: io('Read'),
      ioWriteBytes: io('Write'),
    };
  }
  const { memory, cpu, pids, io } = m.v2;
  const sum = (key: 'rbytes' | 'wbytes') => io?.usage.reduce((a, e) => a + e[key], 0n) ?? null;
  return {
    memoryUsage: memory?.usage ?? null,
    memoryPeak: v2PeakText && /^\d+$/.test(v2PeakText) ? BigInt(v2PeakText) : null,
    cpuUsageNs: cpu === null ? null : cpu.usage_usec * 1000n,
    pidsCurrent: pids?.current ?? null,
    ioReadBytes: sum('rbytes'),
    ioWriteBytes: sum('wbytes'),
  };
}
