import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { internal, invalidArgument } from '../../errors.js';

const run = promisify(execFile);

/** A mount as containerd describes it (type, source, options), e.g. an overlay snapshot. */
export interface MountSpec {
  type: string;
  source: string;
  options: string[];
}

/**
 * Mounts the rootfs layers onto `target` with mount(8): Node has no
 * mount(2). Only the types our snapshotter produces are accepted.
 */
export async function mountAll(mounts: MountSpec[], target: string): Promise<void> {
  if (mounts.length !== 1) throw invalidArgument(`expected exactly one rootfs mount, got ${mounts.length}`);
  const m = mounts[0]!;
  if (!['overlay', 'bind'].includes(m.type)) throw invalidArgument(`unsupported rootfs mount type "${m.type}"`);
  const args = m.type === 'bind'
    ? ['--bind', ...(m.options.includes('ro') ? ['-o', 'bind,ro'] : []), m.source, target]
    : ['-t', 'overlay', m.source || 'overlay', '-o', m.options.join(','), target];
  try {
    await run('mount', args);
  } catch (err) {
    throw internal(`mounting the rootfs on ${target} failed: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

/** Unmounts `target` (and anything below it) if it is mounted; a no-op otherwise. */
export async function unmountAll(target: string): Promise<void> {
  while (await isMountPoint(target)) {
    try {
      await run('umount', [target]);
    } catch {
      // Busy (a process still holds it): detach it so the bundle can go; the kernel frees it later.
      await run('umount', ['-l', target]);
    }
  }
}

/** True when `target` appears in this mount namespace's mount table. */
export async function isMountPoint(target: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[4] === target);
}
