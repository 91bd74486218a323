import { TYPE_URLS } from '../../type-urls.js';
import { invalidArgument } from '../../errors.js';
import { parseCpus, parseMemory, parsePids } from '../../oci/limits.js';
import type { SpecResources } from '../../oci/spec-types.js';
import { humanSize } from './images.js';
import { table, type OptionSpec, type Parsed } from '../args.js';
import type { DaemonClient } from '../client.js';

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

/** `ctr-ts tasks metrics ID`: memory, CPU, pids and IO of the container's scope. */
export async function tasksMetrics(client: DaemonClient, args: Parsed): Promise<number> {
  const id = args.positionals[0];
  if (!id) throw invalidArgument('usage: ctr-ts tasks metrics ID');
  const { metrics } = await client.call('tasks', 'Metrics', { filters: [`id==${id}`] });
  const m = metrics[0];
  if (!m?.data) throw invalidArgument(`no metrics for ${id}`);
  const d = JSON.parse(Buffer.from(m.data.value).toString('utf8')) as {
    memory: { usage: string | null; peak: string | null; limit: string | null };
    cpu: { usageNs: string | null; quotaPerSecUSec: string | null };
    pids: { current: string | null; limit: string | null };
    io: { readBytes: string | null; writeBytes: string | null };
  };
  const size = (v: string | null) => (v === null ? '-' : humanSize(Number(v)));
  const num = (v: string | null) => v ?? '-';
  process.stdout.write(
    table(['METRIC', 'VALUE'], [
      ['memory.usage', size(d.memory.usage)],
      ['memory.peak', size(d.memory.peak)],
      ['memory.limit', d.memory.limit === null ? 'infinity' : size(d.memory.limit)],
      ['cpu.usage', d.cpu.usageNs === null ? '-' : `${(Number(d.cpu.usageNs) / 1e9).toFixed(3)} s`],
      ['cpu.quota', d.cpu.quotaPerSecUSec === null ? 'infinity' : `${Number(d.cpu.quotaPerSecUSec) / 1e6} CPUs`],
      ['pids.current', num(d.pids.current)],
      ['pids.limit', d.pids.limit === null ? 'infinity' : d.pids.limit],
      ['io.read', size(d.io.readBytes)],
      ['io.write', size(d.io.writeBytes)],
    ]),
  );
  return 0;
}
