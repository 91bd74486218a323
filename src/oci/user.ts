import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { invalidArgument } from '../errors.js';

/** The annotation a client sets to ask for a user by name; the daemon resolves it against the mounted rootfs. */
export const USER_ANNOTATION = 'io.containerd-ts.user';

/** uid/gid and supplementary groups of the container's process. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/**
 * Resolves an image or CLI user ("", "name", "uid", "uid:gid", "name:group")
 * against the rootfs' /etc/passwd and /etc/group, like containerd's
 * WithUser. The files are read inside the rootfs only: a symlinked
 * etc/passwd is treated as absent rather than followed.
 */
export async function resolveUser(rootfs: string, user: string | undefined): Promise<ResolvedUser> {
  if (!user) return { uid: 0, gid: 0, additionalGids: [] };
  const [userPart, groupPart] = user.split(':', 2) as [string, string | undefined];
  const passwd = await readDbFile(rootfs, 'etc/passwd');
  const entry = /^\d+$/.test(userPart)
    ? passwd.find((f) => f[2] === userPart)
    : passwd.find((f) => f[0] === userPart);
  if (!entry && !/^\d+$/.test(userPart)) throw invalidArgument(`user "${userPart}" not found in the image's /etc/passwd`);
  const uid = entry ? Number(entry[2]) : Number(userPart);
  let gid = entry ? Number(entry[3]) : 0;
  if (groupPart !== undefined && groupPart !== '') {
    if (/^\d+$/.test(groupPart)) gid = Number(groupPart);
    else {
      const group = (await readDbFile(rootfs, 'etc/group')).find((f) => f[0] === groupPart);
      if (!group) throw invalidArgument(`group "${groupPart}" not found in the image's /etc/group`);
      gid = Number(group[2]);
    }
  }
  return { uid, gid, additionalGids: [] };
}

/**
 * Reads etc/passwd or etc/group of the rootfs. A symlink anywhere on the
 * way is refused (read as "no entries"): it could point at the host's files.
 */
async function readDbFile(rootfs: string, rel: string): Promise<string[][]> {
  try {
    let at = rootfs;
    for (const part of rel.split('/')) {
      at = path.join(at, part);
      if ((await lstat(at)).isSymbolicLink()) return [];
    }
    const text = await readFile(at, 'utf8');
    return text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
  } catch {
    return [];
  }
}
