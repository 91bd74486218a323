/**
 * Task metrics payloads as clients read them, without the protobuf loader:
 * the daemon encodes with protobufjs (daemon/grpc/metrics.ts), the CLI
 * decodes with its own codec, both through this one description.
 */
import { invalidArgument } from './errors.js';
import type { Any, CgroupsV1Metrics, CgroupsV2Metrics } from './proto-types.js';

export const CGROUPS_V1_METRICS = 'io.containerd.cgroups.v1.Metrics' as const;
export const CGROUPS_V2_METRICS = 'io.containerd.cgroups.v2.Metrics' as const;

/** Response header of Tasks.Metrics: JSON object task id → UnitCounters. */
export const UNIT_COUNTERS_HEADER = 'containerd-ts-unit-counters';

/** systemd's view of a scope (unit properties; decimal strings, null = unset or not counted). */
export interface UnitCounters {
  MemoryCurrent: string | null;
  MemoryMax: string | null;
  CPUUsageNSec: string | null;
  CPUQuotaPerSecUSec: string | null;
  TasksCurrent: string | null;
  TasksMax: string | null;
  IOReadBytes: string | null;
  IOWriteBytes: string | null;
}

/** Decoded cgroups metrics: proto field names, uint64 as decimal strings, unset messages null. */
export type DecodedCgroupMetrics = { layout: 'v1'; metrics: CgroupsV1Metrics } | { layout: 'v2'; metrics: CgroupsV2Metrics };

/** Reads a types.Metric.data back with `decode` (a message decoder); InvalidArgument for any other payload. */
export function decodeCgroupMetrics(any: Pick<Any, 'type_url' | 'value'>, decode: (fullName: string, buf: Uint8Array) => unknown): DecodedCgroupMetrics {
  if (any.type_url === CGROUPS_V1_METRICS) return { layout: 'v1', metrics: decode(CGROUPS_V1_METRICS, any.value) as CgroupsV1Metrics };
  if (any.type_url === CGROUPS_V2_METRICS) return { layout: 'v2', metrics: decode(CGROUPS_V2_METRICS, any.value) as CgroupsV2Metrics };
  throw invalidArgument(`metrics of type ${any.type_url} are not cgroups metrics`);
}

