/**
 * Disk usage of a directory tree the way containerd's fs.DiskUsage counts it:
 * allocated blocks, each inode once (hardlinks are not double counted),
 * symlinks never followed.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Usage } from './snapshotter.js';

/** Walks `root` and sums block usage and distinct inodes. */
export async function diskUsage(root: string): Promise<Usage> {
  const seen = new Set<string>();
  let size = 0;
  const visit = async (path: string): Promise<void> => {
    const st = await lstat(path, { bigint: true });
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      size += Number(st.blocks) * 512;
    }
    if (st.isDirectory()) {
      for (const name of await readdir(path)) await visit(join(path, name));
    }
  };
  await visit(root);
  return { size, inodes: seen.size };
}
