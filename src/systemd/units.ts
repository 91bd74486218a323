/**
 * Pure naming and arithmetic helpers shared by the systemd driver, the shim's
 * runc invocation and the daemon's verification: they must agree with what
 * runc 1.1.5 and systemd 252 compute, byte for byte.
 */
import { invalidArgument } from '../errors.js';

/** systemd's "unset / infinity" value for `t` properties (UINT64_MAX, USEC_INFINITY, CGROUP_LIMIT_MAX). */
export const UINT64_MAX = (1n << 64n) - 1n;

/** The kernel's default CFS period (µs), which runc assumes when only a quota is given. */
export const DEFAULT_CPU_QUOTA_PERIOD_US = 100_000n;

/** The scope runc creates for a container: `<prefix>-<id>.scope` (runc's getUnitName). */
export function scopeUnitName(id: string, prefix = 'containerd'): string {
  return `${prefix}-${id}.scope`;
}

/**
 * Container ids that would name a shim's scope: `containerd-ts-shim-<ns>-<id>`
 * and `containerd-ts-shimgroup-<ns>-<group>` are `containerd-<id>.scope` of
 * an id starting `ts-shim`. Refused at container create, so the two never
 * collide and start-up can tell shims' scopes from containers'.
 */
export const RESERVED_ID_PREFIX = 'ts-shim';

/** runc's systemd `cgroupsPath` (`slice:prefix:name`) that makes runc create `containerd-<id>.scope` in `slice`. */
export function cgroupsPath(slice: string, id: string): string {
  return `${slice}:containerd:${id}`;
}

/**
 * CPUQuotaPerSecUSec exactly as runc 1.1.5 `addCpuQuota` computes it, so the
 * daemon can compare the scope's property with what runc asked for.
 * Returns null when runc sets no CPUQuotaPerSecUSec (quota and period both 0),
 * UINT64_MAX (no limit) when quota <= 0, otherwise floor(quota*1e6/period)
 * rounded up to a multiple of 10ms (systemd keeps whole percents).
 */
export function cpuQuotaPerSecUSec(quota: number | bigint, period: number | bigint): bigint | null {
  const q = toBigInt(quota, 'quota', true);
  let p = toBigInt(period, 'period', false);
  if (q === 0n && p === 0n) return null;
  if (q <= 0n) return UINT64_MAX;
  if (p === 0n) p = DEFAULT_CPU_QUOTA_PERIOD_US;
  // Go: uint64(quota*1000000) / period — integer (floor) division first.
  let perSec = (q * 1_000_000n) / p;
  if (perSec % 10_000n !== 0n) perSec = (perSec / 10_000n + 1n) * 10_000n;
  return perSec;
}

/**
 * The D-Bus object path of a unit, escaped like systemd's bus_label_escape:
 * every byte outside [A-Za-z0-9] (and a leading digit) becomes `_xx` (lower hex).
 */
export function unitObjectPath(name: string): string {
  return `/org/freedesktop/systemd1/unit/${busLabelEscape(name)}`;
}

/** systemd's bus_label_escape (sd-bus bus-label.c), used for unit and machine object paths. */
export function busLabelEscape(label: string): string {
  if (label.length === 0) return '_';
  const bytes = Buffer.from(label, 'utf8');
  let out = '';
  bytes.forEach((b, i) => {
    const alpha = (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
    const digit = b >= 0x30 && b <= 0x39;
    out += alpha || (digit && i > 0) ? String.fromCharCode(b) : `_${b.toString(16).padStart(2, '0')}`;
  });
  return out;
}

/**
 * A cpuset list ("0-3,8") as the byte mask systemd expects for AllowedCPUs /
 * AllowedMemoryNodes: byte i holds CPUs 8i..8i+7, least significant bit first.
 * (runc 1.1.5 sends these bytes in reverse order — fixed in runc 1.2 — so
 * masks wider than 8 CPUs from runc 1.1.5 differ from this.)
 */
export function cpusetToBits(list: string): Uint8Array {
  const cpus: number[] = [];
  for (const raw of list.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw invalidArgument(`invalid cpuset range ${JSON.stringify(part)}`, { fields: { cpuset: list } });
    const start = Number(m[1]);
    const end = m[2] === undefined ? start : Number(m[2]);
    if (start > end || end > 0xffff) {
      throw invalidArgument(`invalid cpuset range ${JSON.stringify(part)}`, { fields: { cpuset: list } });
    }
    for (let c = start; c <= end; c++) cpus.push(c);
  }
  if (cpus.length === 0) throw invalidArgument('empty cpuset', { fields: { cpuset: list } });
  const bytes = new Uint8Array(Math.floor(Math.max(...cpus) / 8) + 1);
  for (const c of cpus) bytes[c >> 3] = (bytes[c >> 3] ?? 0) | (1 << (c & 7));
  return bytes;
}

function toBigInt(v: number | bigint, what: string, signed: boolean): bigint {
  if (typeof v === 'number' && !Number.isSafeInteger(v)) {
    throw invalidArgument(`${what} must be an integer`, { fields: { [what]: v } });
  }
  const b = BigInt(v);
  if (!signed && b < 0n) throw invalidArgument(`${what} must not be negative`, { fields: { [what]: String(v) } });
  return b;
}
