/**
 * Reads a scope's cgroup files directly: what the kernel actually enforces
 * (to verify runc/systemd applied the limits) and OOM kills (a Delegate=yes
 * scope has OOMPolicy=continue, so systemd does not report them). Handles
 * the unified (v2) layout and the legacy/hybrid (v1) one. The cgroup root is
 * a parameter so tests can point it at recorded file trees.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { internal, invalidArgument, notFound } from '../errors.js';

/** Where cgroupfs is mounted on a normal host. */
export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup';

/** `v2` = unified hierarchy at the root; `v1` = legacy or hybrid (controllers in per-controller hierarchies). */
export type CgroupLayout = 'v1' | 'v2';

/** Kernel-enforced limits of one cgroup; null = unlimited (or controller absent). */
export interface CgroupLimits {
  memoryMax: bigint | null;
  cpuQuotaUs: bigint | null;
  cpuPeriodUs: bigint | null;
  pidsMax: bigint | null;
}

/** Detects the layout the same way systemd does: `cgroup.controllers` at the root means unified. */
export function detectCgroupLayout(root: string = DEFAULT_CGROUP_ROOT): CgroupLayout {
  return existsSync(join(root, 'cgroup.controllers')) ? 'v2' : 'v1';
}

// v1 memory "no limit" is PAGE_COUNTER_MAX * PAGE_SIZE (0x7FFFFFFFFFFFF000 with 4K pages,
// lower with larger pages); anything this close to 2^63 is unlimited.
const V1_UNLIMITED_FLOOR = (1n << 63n) - (1n << 20n);

/**
 * The memory/cpu/pids limits of `controlGroup` (a unit's ControlGroup, e.g.
 * `/system.slice/containerd-x.scope`). NotFound if the cgroup does not exist.
 */
export function readCgroupLimits(controlGroup: string, root: string = DEFAULT_CGROUP_ROOT): CgroupLimits {
  return detectCgroupLayout(root) === 'v2' ? readV2Limits(root, controlGroup) : readV1Limits(root, controlGroup);
}

/** How many times the kernel OOM-killed a process in the cgroup (0 if the kernel does not count). */
export function readOomKills(controlGroup: string, root: string = DEFAULT_CGROUP_ROOT): number {
  if (detectCgroupLayout(root) === 'v2') {
    const dir = cgroupDir(root, '', controlGroup, true);
    const events = readOptional(join(dir, 'memory.events'));
    return events === null ? 0 : Number(keyedValue(events, 'oom_kill') ?? 0n);
  }
  const dir = cgroupDir(root, 'memory', controlGroup, true);
  // memory.oom_control has an oom_kill line since Linux 4.13.
  const control = readOptional(join(dir, 'memory.oom_control'));
  return control === null ? 0 : Number(keyedValue(control, 'oom_kill') ?? 0n);
}

function readV2Limits(root: string, cg: string): CgroupLimits {
  const dir = cgroupDir(root, '', cg, true);
  const cpu = readOptional(join(dir, 'cpu.max'));
  let cpuQuotaUs: bigint | null = null;
  let cpuPeriodUs: bigint | null = null;
  if (cpu !== null) {
    const [quota, period] = cpu.trim().split(/\s+/);
    cpuQuotaUs = maxOrNumber(quota ?? 'max', 'cpu.max');
    cpuPeriodUs = period === undefined ? null : maxOrNumber(period, 'cpu.max');
  }
  return {
    memoryMax: optionalValue(join(dir, 'memory.max')),
    cpuQuotaUs,
    cpuPeriodUs,
    pidsMax: optionalValue(join(dir, 'pids.max')),
  };
}

function readV1Limits(root: string, cg: string): CgroupLimits {
  const memDir = cgroupDir(root, 'memory', cg, false);
  const cpuDir = cgroupDir(root, existsSync(join(root, 'cpu')) ? 'cpu' : 'cpu,cpuacct', cg, false);
  const pidsDir = cgroupDir(root, 'pids', cg, false);
  if (![memDir, cpuDir, pidsDir].some(isDir)) throw notFound(`cgroup ${cg} not found`, { fields: { cgroup: cg, root } });
  const mem = optionalValue(join(memDir, 'memory.limit_in_bytes'));
  const quota = optionalValue(join(cpuDir, 'cpu.cfs_quota_us'));
  return {
    memoryMax: mem !== null && mem >= V1_UNLIMITED_FLOOR ? null : mem,
    cpuQuotaUs: quota !== null && quota < 0n ? null : quota,
    cpuPeriodUs: optionalValue(join(cpuDir, 'cpu.cfs_period_us')),
    pidsMax: optionalValue(join(pidsDir, 'pids.max')),
  };
}

export function cgroupDir(root: string, controller: string, cg: string, mustExist: boolean): string {
  const rel = cg.replace(/^\/+/, '');
  if (rel.split('/').includes('..')) throw invalidArgument(`invalid cgroup path ${cg}`, { fields: { cgroup: cg } });
  const dir = join(root, controller, rel);
  if (mustExist && !isDir(dir)) throw notFound(`cgroup ${cg} not found`, { fields: { cgroup: cg, root } });
  return dir;
}

export function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

export function readOptional(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw internal(`reading ${file}: ${(err as Error).message}`, { cause: err, fields: { file } });
  }
}

/** A single-value file: a number, or 'max' → null; a missing file (controller absent) → null. */
function optionalValue(file: string): bigint | null {
  const text = readOptional(file);
  return text === null ? null : maxOrNumber(text.trim(), file);
}

function maxOrNumber(text: string, what: string): bigint | null {
  if (text === 'max') return null;
  if (!/^-?\d+$/.test(text)) throw internal(`unexpected value ${JSON.stringify(text)} in ${what}`, { fields: { file: what } });
  return BigInt(text);
}

/** The value of `key` in a flat-keyed file ("key value" per line). */
export function keyedValue(text: string, key: string): bigint | null {
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key && v !== undefined && /^\d+$/.test(v)) return BigInt(v);
  }
  return null;
}
