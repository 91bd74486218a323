import { mkdirSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { ShimAssignment } from './assignment.js';

/**
 * What `ps`, `systemd-cgls` and `machinectl status` show for a shim: all
 * single-container shims share one scope, so the process itself says which
 * container it serves. (Node writes the title over the command line.)
 */
export function shimTitle(a: ShimAssignment): string {
  return `containerd-ts-shim ${a.namespace}/${a.group ? `group:${a.group.name}` : a.id}`;
}

/** The title of a recycled shim waiting for its next container. */
export const STANDBY_TITLE = 'containerd-ts-shim standby';

/**
 * Makes the container's directory (a group's shim: the group's) the shim's
 * working directory and the home of its log, `shim.log`: the shim's
 * stderr already writes to `standbyLog` (a fresh shim's from its start, a
 * recycled one's since `recycle`), which is moved there.
 */
export function enterHome(a: ShimAssignment, standbyLog: string | undefined): void {
  const home = a.group?.dir ?? a.bundle;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  process.chdir(home);
  if (standbyLog) renameSync(standbyLog, path.join(home, 'shim.log'));
  process.title = shimTitle(a);
}
