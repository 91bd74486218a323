import { failedPrecondition } from '../../errors.js';
import type { ResourceLimits } from '../../oci/limits.js';
import type { Systemd } from '../../systemd/systemd.js';
import { cpuQuotaPerSecUSec } from '../../systemd/units.js';

/**
 * Checks that runc really put init in `scope` with the limits asked for.
 * Debian's runc 1.1.5 treats "unit already exists" as success and then runs
 * the container outside any scope; this check turns that into a failed
 * create instead of a container without limits.
 */
export async function verifyScope(systemd: Systemd, pid: number, scope: string, limits: ResourceLimits): Promise<void> {
  const unit = await systemd.getUnitByPid(pid);
  if (unit !== scope) {
    throw failedPrecondition(`container init (pid ${pid}) landed in ${unit}, not in ${scope}: the runtime did not create its scope`);
  }
  if (limits.memoryBytes == null && limits.pids == null && limits.cpuQuotaUs === undefined) return;
  const props = await systemd.readScopeProperties(scope);
  const mismatches: string[] = [];
  const expect = (name: string, actual: bigint | null, wanted: number | bigint | null | undefined) => {
    if (wanted === undefined || wanted === null) return;
    if (actual !== BigInt(wanted)) mismatches.push(`${name}=${actual ?? 'infinity'} (asked for ${wanted})`);
  };
  expect('MemoryMax', props.memoryMax, limits.memoryBytes);
  expect('TasksMax', props.tasksMax, limits.pids);
  if (limits.cpuQuotaUs !== undefined) {
    expect('CPUQuotaPerSecUSec', props.cpuQuotaPerSecUSec, cpuQuotaPerSecUSec(limits.cpuQuotaUs, limits.cpuPeriodUs ?? 100_000));
  }
  if (mismatches.length) throw failedPrecondition(`scope ${scope} does not carry the requested limits: ${mismatches.join(', ')}`);
}
