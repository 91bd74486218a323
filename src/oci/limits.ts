import { invalidArgument } from '../errors.js';

/** Resource limits a user asks for; every field optional, validated by `parseLimits`. */
export interface ResourceLimits {
  /** Memory limit in bytes. */
  memoryBytes?: number;
  /** CFS quota and period in microseconds (from --cpus). */
  cpuQuotaUs?: number;
  cpuPeriodUs?: number;
  /** Maximum number of tasks (pids). */
  pids?: number;
}

/**
 * The kernel (and systemd) refuse memory limits this small or take them as
 * "kill everything at once"; runc itself needs some memory to start init.
 */
export const MIN_MEMORY_BYTES = 6 * 1024 * 1024;
export const DEFAULT_CPU_PERIOD_US = 100_000;

const UNITS: Record<string, number> = {
  '': 1, b: 1,
  k: 1024, kb: 1024, ki: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mi: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gi: 1024 ** 3, gib: 1024 ** 3,
  t: 1024 ** 4, tb: 1024 ** 4, ti: 1024 ** 4, tib: 1024 ** 4,
};

/** Parses a docker/podman-style size ("64M", "1g", "512k", "1048576") into bytes. */
export function parseMemory(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw invalidArgument(`invalid memory size "${text}": use a number with an optional unit b, k, m, g or t (e.g. 64M)`);
  }
  const bytes = Math.floor(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw invalidArgument(`invalid memory size "${text}": must be positive`);
  if (bytes < MIN_MEMORY_BYTES) {
    throw invalidArgument(`memory limit ${text} is below the minimum of ${MIN_MEMORY_BYTES / 1024 / 1024}M a container needs to start`);
  }
  return bytes;
}

/** Parses --cpus ("0.5", "2") into a CFS quota over the default period. */
export function parseCpus(text: string): { cpuQuotaUs: number; cpuPeriodUs: number } {
  if (!/^\s*\d+(?:\.\d+)?\s*$/.test(text)) {
    throw invalidArgument(`invalid CPU count "${text}": use a positive decimal number such as 0.5 or 2`);
  }
  const cpus = Number(text);
  // The kernel's minimum CFS quota is 1ms.
  const quota = Math.round(cpus * DEFAULT_CPU_PERIOD_US);
  if (!(cpus > 0) || quota < 1000) throw invalidArgument(`invalid CPU count "${text}": must be at least 0.01`);
  return { cpuQuotaUs: quota, cpuPeriodUs: DEFAULT_CPU_PERIOD_US };
}

/** Parses --pids into a positive task limit. */
export function parsePids(text: string): number {
  if (!/^\s*\d+\s*$/.test(text)) throw invalidArgument(`invalid pids limit "${text}": use a positive integer`);
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw invalidArgument(`invalid pids limit "${text}": must be at least 1`);
  return n;
}

/** Validates limits that arrived already numeric (e.g. from a runtime spec over gRPC). */
export function validateLimits(l: ResourceLimits): ResourceLimits {
  if (l.memoryBytes !== undefined && (!Number.isSafeInteger(l.memoryBytes) || l.memoryBytes < MIN_MEMORY_BYTES)) {
    throw invalidArgument(`memory limit ${l.memoryBytes} bytes is below the minimum of ${MIN_MEMORY_BYTES} bytes a container needs`);
  }
  if (l.cpuQuotaUs !== undefined && (!Number.isSafeInteger(l.cpuQuotaUs) || l.cpuQuotaUs < 1000)) {
    throw invalidArgument(`CPU quota ${l.cpuQuotaUs}us is invalid: must be at least 1000us`);
  }
  if (l.cpuPeriodUs !== undefined && (!Number.isSafeInteger(l.cpuPeriodUs) || l.cpuPeriodUs < 1000 || l.cpuPeriodUs > 1_000_000)) {
    throw invalidArgument(`CPU period ${l.cpuPeriodUs}us is invalid: must be between 1000 and 1000000`);
  }
  if (l.pids !== undefined && (!Number.isSafeInteger(l.pids) || l.pids < 1)) {
    throw invalidArgument(`pids limit ${l.pids} is invalid: must be at least 1`);
  }
  return l;
}
