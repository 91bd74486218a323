/**
 * Task metrics on the wire. `types.Metric.data` is what containerd puts
 * there: the cgroups library's protobuf, `io.containerd.cgroups.v1.Metrics`
 * on cgroup v1 and `io.containerd.cgroups.v2.Metrics` on v2, which `ctr tasks
 * metrics` and every containerd client decode. ctr-ts decodes the same Any,
 * so both show the same figures; systemd's own view of the scope (its
 * counters and limits, which containerd's API has no field for) travels
 * beside it in a response header, like the OOM flag on Wait.
 */
import { decodeMessage, packAny } from '../../proto.js';
import type { Any } from '../../proto-types.js';
import { CGROUPS_V1_METRICS, CGROUPS_V2_METRICS, decodeCgroupMetrics, type DecodedCgroupMetrics, type UnitCounters } from '../../metrics-payload.js';
import type { CgroupMetrics } from '../../systemd/cgroup-metrics.js';
import type { ScopeProperties } from '../../systemd/systemd.js';

export { CGROUPS_V1_METRICS, CGROUPS_V2_METRICS, UNIT_COUNTERS_HEADER, type DecodedCgroupMetrics, type UnitCounters } from '../../metrics-payload.js';

/** Recursively turns bigints into decimal strings (protobufjs takes uint64 as string without losing precision). */
function protoInit(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return value.map(protoInit);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, protoInit(v)]));
  }
  return value;
}

/** The Any containerd clients expect in types.Metric.data. */
export function packCgroupMetrics(m: CgroupMetrics): Any {
  return m.layout === 'v1'
    ? packAny(CGROUPS_V1_METRICS, protoInit(m.v1) as object)
    : packAny(CGROUPS_V2_METRICS, protoInit(m.v2) as object);
}

/** Reads a types.Metric.data back (tests); InvalidArgument for any other payload. */
export function unpackCgroupMetrics(any: Pick<Any, 'type_url' | 'value'>): DecodedCgroupMetrics {
  return decodeCgroupMetrics(any, (name, buf) => decodeMessage(name, buf));
}

export function unitCounters(p: ScopeProperties): UnitCounters {
  const s = (v: bigint | null) => (v === null ? null : v.toString());
  return {
    MemoryCurrent: s(p.memoryCurrent),
    MemoryMax: s(p.memoryMax ?? p.memoryLimit),
    CPUUsageNSec: s(p.cpuUsageNSec),
    CPUQuotaPerSecUSec: s(p.cpuQuotaPerSecUSec),
    TasksCurrent: s(p.tasksCurrent),
    TasksMax: s(p.tasksMax),
    IOReadBytes: s(p.ioReadBytes),
    IOWriteBytes: s(p.ioWriteBytes),
  };
}
