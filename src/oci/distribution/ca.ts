/**
 * Per-host TLS trust from a certs directory laid out as containerd's and
 * docker's: `<dir>/<host[:port]>/ca.crt` (and any other `*.crt` there).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A `caFor` lookup reading `<dir>/<host>/*.crt`; missing directories mean no extra CA. */
export function certsDirCa(dir: string): (host: string) => Promise<string | undefined> {
  return async (host) => {
    if (host.includes('/') || host.startsWith('.')) return undefined;
    const hostDir = join(dir, host);
    let names: string[];
    try {
      names = (await readdir(hostDir)).filter((n) => n.endsWith('.crt')).sort();
    } catch {
      return undefined;
    }
    const pems = await Promise.all(names.map((n) => readFile(join(hostDir, n), 'utf8').catch(() => '')));
    const joined = pems.filter((p) => p.includes('BEGIN CERTIFICATE')).join('\n');
    return joined === '' ? undefined : joined;
  };
}

/** Combines CA lookups: every PEM found for the host is trusted. */
export function combineCa(...lookups: Array<((host: string) => Promise<string | undefined>) | undefined>): (host: string) => Promise<string | undefined> {
  return async (host) => {
    const found: string[] = [];
    for (const l of lookups) {
      const pem = await l?.(host);
      if (pem) found.push(pem.trim());
    }
    return found.length > 0 ? found.join('\n') : undefined;
  };
}
