import { TYPE_URLS } from '../../type-urls.js';
import { invalidArgument } from '../../errors.js';
import { parseCpus, parseMemory, parsePids } from '../../oci/limits.js';
import type { SpecResources } from '../../oci/spec-types.js';
import { humanSize } from './images.js';
import { table, type OptionSpec, type Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';
import { decodeCgroupMetrics, UNIT_COUNTERS_HEADER, type DecodedCgroupMetrics, type UnitCounters } from '../../metrics-payload.js';
import { containerdSchema } from '../../wire/schema.js';

export const updateOptions: Record<string, OptionSpec> = {
  memory: { type: 'string', description: 'new memory limit (MemoryMax), e.g. 128M', placeholder: 'SIZE' },
  cpus: { type: 'string', description: 'new CPU limit (CPUQuotaPerSecUSec), e.g. 1', placeholder: 'N' },
  pids: { type: 'string', description: 'new task limit (TasksMax)', placeholder: 'N' },
};

/** `ctr-ts update [--memory] [--cpus] [--pids] ID`: changes a running container's scope through systemd. */
export async function update(client: DaemonClient, args: Parsed): Promise<number> {
  const id = args.positionals[0];
  if (!id) throw invalidArgument('usage: ctr-ts update [--memory SIZE] [--cpus N] [--pids N] ID');
  const o = args.options;
  const resources: SpecResources = {};
  if (typeof o.memory === 'string') resources.memory = { limit: parseMemory(o.memory) };
  if (typeof o.cpus === 'string') {
    const { cpuQuotaUs, cpuPeriodUs } = parseCpus(o.cpus);
    resources.cpu = { quota: cpuQuotaUs, period: cpuPeriodUs };
  }
  if (typeof o.pids === 'string') resources.pids = { limit: parsePids(o.pids) };
  if (Object.keys(resources).length === 0) throw invalidArgument('give at least one of --memory, --cpus, --pids');
  await client.call('tasks', 'Update', { container_id: id, resources: { type_url: TYPE_URLS.linuxResources, value: Buffer.from(JSON.stringify(resources)) } });
  return 0;
}

/** `ctr-ts tasks metrics ID`: the cgroup's statistics (the same Any `ctr tasks metrics` decodes) and systemd's counters. */
export async function tasksMetrics(client: DaemonClient, args: Parsed): Promise<number> {
  const id = args.positionals[0];
  if (!id) throw invalidArgument('usage: ctr-ts tasks metrics ID');
  const { response, headers } = await client.callWithHeaders('tasks', 'Metrics', { filters: [`id==${id}`] });
  const m = response.metrics.find((x) => x.id === id);
  if (!m?.data) throw invalidArgument(`no metrics for ${id}`);
  const rows = cgroupRows(decodeCgroupMetrics(m.data, (name, buf) => containerdSchema().decode(name, buf)));
  const header = headers.get(UNIT_COUNTERS_HEADER)[0];
  const unit = header === undefined ? undefined : (JSON.parse(header.toString()) as Record<string, UnitCounters>)[id];
  if (unit) rows.push(...unitRows(unit));
  process.stdout.write(table(['METRIC', 'VALUE'], rows));
  return 0;
}

const big = (v: string | null | undefined): bigint | null => (typeof v === 'string' && /^\d+$/.test(v) ? BigInt(v) : null);
const size = (v: bigint | null) => (v === null ? '-' : humanSize(Number(v)));
/** A limit: the kernel's "no limit" values (v1 near 2^63, v2 2^64-1, pids 0) read as infinity. */
const limit = (v: bigint | null, show: (v: bigint) => string = size) => (v === null || v === 0n || v >= (1n << 62n) ? 'infinity' : show(v));
const seconds = (ns: bigint | null) => (ns === null ? '-' : `${(Number(ns) / 1e9).toFixed(3)} s`);
const sum = (values: string[]) => values.reduce((a, v) => a + (big(v) ?? 0n), 0n);

function cgroupRows(decoded: DecodedCgroupMetrics): string[][] {
  const rows: string[][] = [['cgroup', decoded.layout]];
  if (decoded.layout === 'v1') {
    const { memory, memory_oom_control: oom, cpu, pids, blkio } = decoded.metrics;
    if (memory) {
      rows.push(['memory.usage', size(big(memory.usage?.usage))]);
      rows.push(['memory.peak', size(big(memory.usage?.max))]);
      rows.push(['memory.limit', limit(big(memory.usage?.limit))]);
      rows.push(['memory.cache', size(big(memory.total_cache))]);
      rows.push(['memory.rss', size(big(memory.total_rss))]);
      rows.push(['memory+swap.usage', size(big(memory.swap?.usage))]);
      rows.push(['memory+swap.limit', limit(big(memory.swap?.limit))]);
      rows.push(['memory.failcnt', memory.usage?.failcnt ?? '-']);
    }
    if (oom) rows.push(['memory.oom_kills', oom.oom_kill]);
    if (cpu?.usage) {
      rows.push(['cpu.usage', seconds(big(cpu.usage.total))]);
      rows.push(['cpu.user', seconds(big(cpu.usage.user))]);
      rows.push(['cpu.system', seconds(big(cpu.usage.kernel))]);
      rows.push(['cpu.per_cpu', cpu.usage.per_cpu.map((v) => seconds(big(v))).join(' ')]);
    }
    if (cpu?.throttling) rows.push(['cpu.throttled', `${cpu.throttling.throttled_periods} of ${cpu.throttling.periods} periods`]);
    if (pids) {
      rows.push(['pids.current', pids.current]);
      rows.push(['pids.limit', limit(big(pids.limit), String)]);
    }
    if (blkio) {
      const bytes = (op: string) => size(sum(blkio.io_service_bytes_recursive.filter((e) => e.op === op).map((e) => e.value)));
      rows.push(['io.read', bytes('Read')]);
      rows.push(['io.write', bytes('Write')]);
    }
    return rows;
  }
  const { memory, memory_events: events, cpu, pids, io } = decoded.metrics;
  if (memory) {
    rows.push(['memory.usage', size(big(memory.usage))]);
    rows.push(['memory.limit', limit(big(memory.usage_limit))]);
    rows.push(['memory.anon', size(big(memory.anon))]);
    rows.push(['memory.file', size(big(memory.file))]);
    rows.push(['swap.usage', size(big(memory.swap_usage))]);
    rows.push(['swap.limit', limit(big(memory.swap_limit))]);
  }
  if (events) rows.push(['memory.oom_kills', events.oom_kill]);
  if (cpu) {
    const usec = (v: string) => (big(v) ?? 0n) * 1000n;
    rows.push(['cpu.usage', seconds(usec(cpu.usage_usec))]);
    rows.push(['cpu.user', seconds(usec(cpu.user_usec))]);
    rows.push(['cpu.system', seconds(usec(cpu.system_usec))]);
    rows.push(['cpu.throttled', `${cpu.nr_throttled} of ${cpu.nr_periods} periods`]);
  }
  if (pids) {
    rows.push(['pids.current', pids.current]);
    rows.push(['pids.limit', limit(big(pids.limit), String)]);
  }
  if (io) {
    rows.push(['io.read', size(sum(io.usage.map((e) => e.rbytes)))]);
    rows.push(['io.write', size(sum(io.usage.map((e) => e.wbytes)))]);
  }
  return rows;
}

/** systemd's unit properties, under their own names so they read as what `systemctl show` prints. */
function unitRows(u: UnitCounters): string[][] {
  const v = big;
  return [
    ['systemd.MemoryCurrent', size(v(u.MemoryCurrent))],
    ['systemd.MemoryMax', u.MemoryMax === null ? 'infinity' : size(v(u.MemoryMax))],
    ['systemd.CPUUsageNSec', seconds(v(u.CPUUsageNSec))],
    ['systemd.CPUQuotaPerSecUSec', u.CPUQuotaPerSecUSec === null ? 'infinity' : `${Number(u.CPUQuotaPerSecUSec) / 1e6} CPUs`],
    ['systemd.TasksCurrent', u.TasksCurrent ?? '-'],
    ['systemd.TasksMax', u.TasksMax ?? 'infinity'],
    ['systemd.IOReadBytes', size(v(u.IOReadBytes))],
    ['systemd.IOWriteBytes', size(v(u.IOWriteBytes))],
  ];
}
