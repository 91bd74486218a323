import { closeSync, mkdirSync, openSync, renameSync } from 'node:fs';
import path from 'node:path';
import type { ShimAssignment } from './assignment.js';
import { duplicateFd } from './native.js';

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
 * working directory and the home of its log, `shim.log`. A fresh shim's
 * stderr already writes to `standbyLog`, which is moved there; a recycled
 * shim (`reopenLog`) points its stderr at a new file (the old one went with
 * the old bundle).
 */
export function enterHome(a: ShimAssignment, log: { standbyLog?: string; reopenLog?: boolean }): void {
  const { standbyLog, reopenLog = false } = log;
  const home = a.group?.dir ?? a.bundle;
  mkdirSync(home, { recursive: true, mode: 0o700 });
  process.chdir(home);
  const logPath = path.join(home, 'shim.log');
  if (standbyLog) {
    renameSync(standbyLog, logPath);
  } else if (reopenLog) {
    const fd = openSync(logPath, 'a', 0o600);
    try {
      duplicateFd(fd, 2);
    } finally {
      closeSync(fd);
    }
  }
  process.title = shimTitle(a);
}
