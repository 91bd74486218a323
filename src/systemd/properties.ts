/**
 * Typed unit properties for StartTransientUnit / SetUnitProperties: the
 * closed list of properties the runtime sets (those runc 1.1.5 sends plus the
 * scope basics), each with its D-Bus type, so a wrong type cannot reach systemd.
 */
import { invalidArgument } from '../errors.js';
import { variant, type BusVariant } from './bus.js';
import { UINT64_MAX, cpusetToBits } from './units.js';

/** `t` properties: bytes, µs, counts, weights. */
export type U64PropertyName =
  | 'MemoryMax'
  | 'MemoryLimit'
  | 'MemoryLow'
  | 'MemoryHigh'
  | 'MemorySwapMax'
  | 'CPUQuotaPerSecUSec'
  | 'CPUQuotaPeriodUSec'
  | 'TasksMax'
  | 'CPUWeight'
  | 'CPUShares';
/** `b` properties. */
export type BoolPropertyName =
  | 'Delegate'
  | 'MemoryAccounting'
  | 'CPUAccounting'
  | 'TasksAccounting'
  | 'IOAccounting'
  | 'BlockIOAccounting'
  | 'DefaultDependencies'
  | 'SendSIGKILL';
/** `s` properties. */
export type StringPropertyName = 'Slice' | 'Description' | 'CollectMode' | 'KillMode';
/** `ay` bitmask properties. */
export type MaskPropertyName = 'AllowedCPUs' | 'AllowedMemoryNodes';

/** One unit property with its D-Bus type; build them with `unitProperty`. */
export type UnitProperty =
  | { readonly name: U64PropertyName; readonly type: 't'; readonly value: bigint }
  | { readonly name: BoolPropertyName; readonly type: 'b'; readonly value: boolean }
  | { readonly name: StringPropertyName; readonly type: 's'; readonly value: string }
  | { readonly name: MaskPropertyName; readonly type: 'ay'; readonly value: Uint8Array }
  | { readonly name: 'PIDs'; readonly type: 'au'; readonly value: readonly number[] };

function u64(name: U64PropertyName, v: bigint | number | null): UnitProperty {
  if (v === null) return { name, type: 't', value: UINT64_MAX };
  if (typeof v === 'number' && !Number.isSafeInteger(v)) throw invalidArgument(`${name} must be an integer`, { fields: { [name]: v } });
  const value = BigInt(v);
  if (value < 0n || value > UINT64_MAX) throw invalidArgument(`${name} out of range`, { fields: { [name]: String(v) } });
  return { name, type: 't', value };
}

function mask(name: MaskPropertyName, v: string | Uint8Array): UnitProperty {
  return { name, type: 'ay', value: typeof v === 'string' ? cpusetToBits(v) : v };
}

/** Builders for every supported property; `null` for a `t` limit means "no limit" (UINT64_MAX). */
export const unitProperty = {
  memoryMax: (bytes: bigint | number | null) => u64('MemoryMax', bytes),
  memoryLimit: (bytes: bigint | number | null) => u64('MemoryLimit', bytes),
  memoryLow: (bytes: bigint | number | null) => u64('MemoryLow', bytes),
  memoryHigh: (bytes: bigint | number | null) => u64('MemoryHigh', bytes),
  memorySwapMax: (bytes: bigint | number | null) => u64('MemorySwapMax', bytes),
  cpuQuotaPerSecUSec: (usec: bigint | number | null) => u64('CPUQuotaPerSecUSec', usec),
  cpuQuotaPeriodUSec: (usec: bigint | number) => u64('CPUQuotaPeriodUSec', usec),
  tasksMax: (n: bigint | number | null) => u64('TasksMax', n),
  cpuWeight: (w: bigint | number) => u64('CPUWeight', w),
  cpuShares: (s: bigint | number) => u64('CPUShares', s),
  /** A cpuset list ("0-3,6") or a ready systemd bitmask. */
  allowedCpus: (cpus: string | Uint8Array) => mask('AllowedCPUs', cpus),
  allowedMemoryNodes: (mems: string | Uint8Array) => mask('AllowedMemoryNodes', mems),
  slice: (slice: string): UnitProperty => ({ name: 'Slice', type: 's', value: slice }),
  description: (text: string): UnitProperty => ({ name: 'Description', type: 's', value: text }),
  collectMode: (mode: 'inactive' | 'inactive-or-failed'): UnitProperty => ({ name: 'CollectMode', type: 's', value: mode }),
  delegate: (on: boolean): UnitProperty => ({ name: 'Delegate', type: 'b', value: on }),
  memoryAccounting: (on: boolean): UnitProperty => ({ name: 'MemoryAccounting', type: 'b', value: on }),
  cpuAccounting: (on: boolean): UnitProperty => ({ name: 'CPUAccounting', type: 'b', value: on }),
  tasksAccounting: (on: boolean): UnitProperty => ({ name: 'TasksAccounting', type: 'b', value: on }),
  ioAccounting: (on: boolean): UnitProperty => ({ name: 'IOAccounting', type: 'b', value: on }),
  defaultDependencies: (on: boolean): UnitProperty => ({ name: 'DefaultDependencies', type: 'b', value: on }),
  pids: (pids: readonly number[]): UnitProperty => {
    for (const p of pids) if (!Number.isInteger(p) || p <= 0 || p > 0xffffffff) throw invalidArgument('invalid pid', { fields: { pid: p } });
    return { name: 'PIDs', type: 'au', value: [...pids] };
  },
} as const;

/** The `a(sv)` body element for a list of properties. */
export function toDBusProperties(props: readonly UnitProperty[]): Array<[string, BusVariant]> {
  return props.map((p) => [p.name, variant(p.type, p.type === 'ay' ? Buffer.from(p.value) : p.value)]);
}
