import { rm } from 'node:fs/promises';
import path from 'node:path';
import { internal, invalidArgument } from '../../errors.js';
import { optionValue } from '../../snapshot/mounts.js';
import { MNT_DETACH, mount, MountFlags, unmount } from '../../shim/native.js';

/** A mount as containerd describes it (type, source, options), e.g. an overlay snapshot. */
export interface MountSpec {
  type: string;
  source: string;
  options: string[];
}

/**
 * Mounts the rootfs layers onto `target` with mount(2) through the native
 * helper (Node has none; spawning mount(8) cost 10-30 ms per create). Only
 * the types our snapshotter produces are accepted.
 */
export async function mountAll(mounts: MountSpec[], target: string): Promise<void> {
  if (mounts.length !== 1) throw invalidArgument(`expected exactly one rootfs mount, got ${mounts.length}`);
  const m = mounts[0]!;
  if (!['overlay', 'bind'].includes(m.type)) throw invalidArgument(`unsupported rootfs mount type "${m.type}"`);
  try {
    if (m.type === 'overlay') {
      await allowVolatileRemount(m.options);
      await mount(m.source || 'overlay', target, 'overlay', 0, m.options.join(','));
    } else {
      await mount(m.source, target, '', MountFlags.MS_BIND | (m.options.includes('rbind') ? MountFlags.MS_REC : 0));
      // A read-only bind takes a second call: the kernel ignores MS_RDONLY on the first.
      if (m.options.includes('ro')) {
        await mount('', target, '', MountFlags.MS_BIND | MountFlags.MS_REMOUNT | MountFlags.MS_RDONLY).catch(async (err: unknown) => {
          await unmount(target, MNT_DETACH).catch(() => {});
          throw err;
        });
      }
    }
  } catch (err) {
    throw internal(`mounting the rootfs on ${target} failed: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * overlayfs refuses to mount a `volatile` overlay again while the marker its
 * first mount left in the workdir exists (it cannot know whether the upper
 * was synced). Volatile snapshots hold only throwaway contents (a `--rm`
 * container's), so a new task on one may take them as they are.
 */
async function allowVolatileRemount(options: string[]): Promise<void> {
  const workdir = optionValue(options, 'workdir');
  if (!options.includes('volatile') || !workdir) return;
  await rm(path.join(workdir, 'work', 'incompat', 'volatile'), { recursive: true, force: true });
}

/**
 * Unmounts whatever is mounted on `target`, mounts stacked there included; a
 * no-op when nothing is. umount2 itself says when to stop (EINVAL: not a
 * mount point): no read of the mount table around each step.
 */
export async function unmountAll(target: string): Promise<void> {
  for (;;) {
    try {
      await unmount(target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') return;
      // Busy (a process still holds it): detach it so the bundle can go; the kernel frees it later.
      await unmount(target, MNT_DETACH).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EINVAL') throw e;
      });
    }
  }
}
