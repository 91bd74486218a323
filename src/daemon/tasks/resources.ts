import { failedPrecondition, invalidArgument } from '../../errors.js';
import type { ResourceLimits } from '../../oci/limits.js';
import { validateLimits } from '../../oci/limits.js';
import type { SpecResources } from '../../oci/spec-types.js';
import { readCgroupLimits } from '../../systemd/cgroupfs.js';
import { readCgroupMetrics, readCgroupStats, type CgroupMetrics } from '../../systemd/cgroup-metrics.js';
import { unitProperty, type UnitProperty } from '../../systemd/properties.js';
import type { ScopeProperties, Systemd } from '../../systemd/systemd.js';
import { cpuQuotaPerSecUSec } from '../../systemd/units.js';

/** Limits from an OCI LinuxResources (what `Tasks.Update` carries); only what systemd sets. */
export function limitsFromResources(r: SpecResources): ResourceLimits {
  const out: ResourceLimits = {};
  if (r.memory?.limit !== undefined && r.memory.limit > 0) out.memoryBytes = r.memory.limit;
  if (r.cpu?.quota !== undefined && r.cpu.quota > 0) {
    out.cpuQuotaUs = r.cpu.quota;
    out.cpuPeriodUs = r.cpu.period || 100_000;
  }
  if (r.pids?.limit !== undefined && r.pids.limit > 0) out.pids = r.pids.limit;
  if (Object.keys(out).length === 0) throw invalidArgument('update names no limit: give memory, CPU or pids');
  return validateLimits(out);
}

/** The unit properties that carry these limits (MemoryMax, CPUQuotaPerSecUSec, TasksMax). */
export function scopeProperties(l: ResourceLimits): UnitProperty[] {
  const props: UnitProperty[] = [];
  if (l.memoryBytes !== undefined) props.push(unitProperty.memoryMax(BigInt(l.memoryBytes)));
  if (l.cpuQuotaUs !== undefined) props.push(unitProperty.cpuQuotaPerSecUSec(cpuQuotaPerSecUSec(l.cpuQuotaUs, l.cpuPeriodUs ?? 100_000)));
  if (l.pids !== undefined) props.push(unitProperty.tasksMax(BigInt(l.pids)));
  return props;
}

/** The scope's current limits, as properties that put them back. */
function restoreProperties(before: ScopeProperties, asked: ResourceLimits): UnitProperty[] {
  const props: UnitProperty[] = [];
  if (asked.memoryBytes !== undefined) props.push(unitProperty.memoryMax(before.memoryMax));
  if (asked.cpuQuotaUs !== undefined) props.push(unitProperty.cpuQuotaPerSecUSec(before.cpuQuotaPerSecUSec));
  if (asked.pids !== undefined) props.push(unitProperty.tasksMax(before.tasksMax));
  return props;
}

/**
 * Changes a running container's limits through systemd (SetUnitProperties,
 * runtime), so `systemctl show` agrees at once, then checks the kernel took
 * them: systemd only logs a refused cgroup write (e.g. a memory limit below
 * what the container uses). A refusal puts the old values back and fails.
 */
export async function updateScopeLimits(systemd: Systemd, scope: string, limits: ResourceLimits, cgroupRoot?: string): Promise<void> {
  const before = await systemd.readScopeProperties(scope);
  await systemd.setUnitProperties(scope, true, scopeProperties(limits));
  const applied = readCgroupLimits(before.controlGroup, cgroupRoot);
  const refused: string[] = [];
  // The kernel rounds a memory limit down to whole pages.
  const memoryTaken = (asked: bigint, got: bigint | null) => got !== null && got <= asked && asked - got < 4096n;
  if (limits.memoryBytes !== undefined && !memoryTaken(BigInt(limits.memoryBytes), applied.memoryMax)) {
    const usage = readCgroupStats(before.controlGroup, cgroupRoot).memoryUsage;
    refused.push(`memory limit ${limits.memoryBytes} bytes (the container uses ${usage ?? 'unknown'} bytes)`);
  }
  if (limits.pids !== undefined && applied.pidsMax !== BigInt(limits.pids)) refused.push(`pids limit ${limits.pids}`);
  if (limits.cpuQuotaUs !== undefined && applied.cpuQuotaUs === null) refused.push(`CPU quota ${limits.cpuQuotaUs}us`);
  if (refused.length > 0) {
    await systemd.setUnitProperties(scope, true, restoreProperties(before, limits)).catch(() => {});
    throw failedPrecondition(`the kernel refused ${refused.join(' and ')}; the previous limits are kept`);
  }
}

/** A task's usage: the cgroup's statistics (the figures every client sees) and systemd's view of the scope. */
export interface TaskUsage {
  cgroup: CgroupMetrics;
  unit: ScopeProperties;
}

/** Reads a task's scope once through systemd (its cgroup and counters) and its cgroup files (both layouts). */
export async function scopeUsage(systemd: Systemd, scope: string, cgroupRoot?: string): Promise<TaskUsage> {
  const unit = await systemd.readScopeProperties(scope);
  return { cgroup: readCgroupMetrics(unit.controlGroup, cgroupRoot), unit };
}
