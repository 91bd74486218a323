/**
 * Debian's docker-registry (distribution 2.8) for integration tests: started
 * on 127.0.0.1 at a random free port with storage in a temp dir, in three
 * set-ups (no auth; htpasswd basic auth over TLS with a CA made here by
 * openssl; bearer tokens from `startTokenServer`). `stop()` kills it and
 * removes the dir on every path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { Agent, request } from 'undici';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** A free TCP port on 127.0.0.1 (bound then released; the small race is acceptable in tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface RegistryAuth {
  htpasswd?: { users: Record<string, string> };
  token?: { realm: string; service: string; issuer: string; rootCertFile: string };
}

export interface RegistryOptions {
  /** Storage directory to reuse (e.g. images pushed by an earlier, unauthenticated instance). */
  storage?: string;
  tls?: { certFile: string; keyFile: string };
  auth?: RegistryAuth;
}

/** A running registry. */
export interface Registry {
  host: string;
  port: number;
  dir: string;
  storage: string;
  scheme: 'http' | 'https';
  stop(): Promise<void>;
}

/** Starts docker-registry and waits until `/v2/` answers. */
export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'ctrd-ts-registry-'));
  let child: ChildProcess | undefined;
  const logs: string[] = [];
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const port = await freePort();
    const storage = options.storage ?? join(dir, 'data');
    const lines = [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      '  secret: containerd-ts-test-secret',
    ];
    if (options.tls) lines.push('  tls:', `    certificate: ${options.tls.certFile}`, `    key: ${options.tls.keyFile}`);
    if (options.auth?.htpasswd) {
      const file = join(dir, 'htpasswd');
      const entries: string[] = [];
      for (const [user, password] of Object.entries(options.auth.htpasswd.users)) {
        const r = await execa('htpasswd', ['-Bbn', user, password]);
        entries.push(r.stdout.trim());
      }
      await writeFile(file, entries.join('\n') + '\n');
      lines.push('auth:', '  htpasswd:', '    realm: containerd-ts-test', `    path: ${file}`);
    } else if (options.auth?.token) {
      const t = options.auth.token;
      lines.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootCertFile}`);
    }
    const config = join(dir, 'config.yml');
    await writeFile(config, lines.join('\n') + '\n');
    child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
    const scheme = options.tls ? 'https' : 'http';
    await waitUp(`${scheme}://127.0.0.1:${port}/v2/`, child, logs);
    return { host: `127.0.0.1:${port}`, port, dir, storage, scheme, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function waitUp(url: string, child: ChildProcess, logs: string[]): Promise<void> {
  const agent = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    const end = Date.now() + 15_000;
    while (Date.now() < end) {
      if (child.exitCode !== null) throw new Error(`docker-registry exited with ${child.exitCode}: ${logs.join('')}`);
      try {
        const res = await request(url, { dispatcher: agent });
        await res.body.dump();
        if (res.statusCode === 200 || res.statusCode === 401) return;
      } catch {
        // not up yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`docker-registry did not come up at ${url}: ${logs.join('')}`);
  } finally {
    await agent.close();
  }
}

/** A CA and a server certificate for 127.0.0.1 signed by it, made with openssl in `dir`. */
export async function makeTlsFiles(dir: string): Promise<{ caFile: string; certFile: string; keyFile: string }> {
  const p = (n: string) => join(dir, n);
  await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=containerd-ts test CA', '-keyout', p('ca.key'), '-out', p('ca.crt')]);
  await execa('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr')]);
  await writeFile(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n');
  await execa('openssl', ['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('ext.cnf'), '-out', p('server.crt')]);
  return { caFile: p('ca.crt'), certFile: p('server.crt'), keyFile: p('server.key') };
}
