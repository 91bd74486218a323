import { readFileSync } from 'node:fs';

/**
 * OOM detection from the container's memory cgroup. Scopes made with
 * Delegate=yes keep OOMPolicy=continue, so systemd never says a container
 * was OOM-killed: the kernel's counter is the only witness.
 */
const CGROUP_ROOT = '/sys/fs/cgroup';
// Reads are synchronous: tiny kernel files on the create path, where a pool
// round trip costs more than the read (the shim's loop has nothing else to do).

/** The memory cgroup directory of `pid` (v1 memory hierarchy, or the v2 unified one). */
export async function memoryCgroupOf(pid: number, root = CGROUP_ROOT): Promise<string | undefined> {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.trim().split('\n').map((l) => l.split(':'));
  const v1 = lines.find((f) => f[1]?.split(',').includes('memory'));
  if (v1) return `${root}/memory${v1[2]}`;
  const v2 = lines.find((f) => f[0] === '0' && f[1] === '');
  return v2 ? `${root}${v2[2]}` : undefined;
}

/** The number of OOM kills the kernel counted in this cgroup (v2 memory.events, v1 memory.oom_control). */
export async function readOomKills(dir: string | undefined): Promise<number> {
  if (!dir) return 0;
  for (const file of ['memory.events', 'memory.oom_control']) {
    try {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(`${dir}/${file}`, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // not this layout, or the cgroup is already gone
    }
  }
  return 0;
}
