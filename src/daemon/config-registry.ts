/**
 * The `[registry]` table of config.toml, validated once when the daemon
 * loads its config: unknown keys, bad host names, a CA file that cannot be
 * read or holds no certificate, or a credentials file that is not docker's
 * config.json format stop the daemon with a message naming the key.
 *
 *   [registry]
 *   credentials_file = "/etc/containerd-ts/auth.json"   # docker config.json "auths" format
 *   certs_dir = "/etc/containerd-ts/certs.d"            # <host[:port]>/*.crt
 *   max_concurrent_downloads = 3
 *
 *   [registry.hosts."docker.io"]
 *   mirrors = ["mirror.internal:5000"]                  # tried in order, then docker.io itself
 *
 *   [registry.hosts."mirror.internal:5000"]
 *   insecure = true                                     # plain HTTP allowed (loopback always is)
 *   ca_file = "/etc/containerd-ts/mirror-ca.pem"
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { invalidArgument, isRuntimeError } from '../errors.js';
import { credentialsFromConfig } from '../oci/distribution/credentials.js';
import { DEFAULT_REGISTRY_CONFIG, type RegistryConfig, type RegistryHostConfig } from './images/registry-config.js';

/** `host`, `host:port`, `[v6]:port`: what may appear before the first `/` of an image reference. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** Parses and checks `[registry]`; reads CA files now, so a typo fails at start-up rather than at the first pull. */
export async function registryFromToml(raw: unknown, file: string): Promise<RegistryConfig> {
  const where = (key: string) => `config ${file}: registry.${key}`;
  const table = asTable(raw, `config ${file}: [registry]`);
  const cfg: RegistryConfig = structuredClone(DEFAULT_REGISTRY_CONFIG);
  for (const [key, value] of Object.entries(table)) {
    switch (key) {
      case 'credentials_file':
        cfg.credentialsFile = absolutePath(value, where(key));
        break;
      case 'certs_dir':
        cfg.certsDir = absolutePath(value, where(key));
        break;
      case 'max_concurrent_downloads':
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 64) throw invalidArgument(`${where(key)} must be a whole number from 1 to 64`);
        cfg.maxConcurrentDownloads = value;
        break;
      case 'hosts':
        for (const [host, hostRaw] of Object.entries(asTable(value, `${where('hosts')}`))) {
          checkHost(host, `${where('hosts')}: "${host}"`);
          cfg.hosts[host] = await hostFromToml(hostRaw, where(`hosts."${host}"`));
        }
        break;
      default:
        throw invalidArgument(`config ${file}: unknown key registry.${key} (known: credentials_file, certs_dir, max_concurrent_downloads, hosts)`);
    }
  }
  cfg.insecureHosts = Object.entries(cfg.hosts)
    .filter(([, h]) => h.insecure)
    .map(([name]) => name);
  await checkCredentialsFile(cfg.credentialsFile, where('credentials_file'));
  return cfg;
}

async function hostFromToml(raw: unknown, where: string): Promise<RegistryHostConfig> {
  const host: RegistryHostConfig = { insecure: false, mirrors: [] };
  for (const [key, value] of Object.entries(asTable(raw, where))) {
    switch (key) {
      case 'insecure':
        if (typeof value !== 'boolean') throw invalidArgument(`${where}.insecure must be true or false`);
        host.insecure = value;
        break;
      case 'ca_file': {
        const path = absolutePath(value, `${where}.ca_file`);
        const pem = await readFile(path, 'utf8').catch((err: Error) => {
          throw invalidArgument(`${where}.ca_file: cannot read ${path}: ${err.message}`);
        });
        if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw invalidArgument(`${where}.ca_file: ${path} holds no PEM certificate`);
        host.caPem = pem;
        host.caFile = path;
        break;
      }
      case 'mirrors':
        if (!Array.isArray(value) || !value.every((m) => typeof m === 'string')) throw invalidArgument(`${where}.mirrors must be a list of "host[:port]" strings`);
        for (const m of value as string[]) {
          if (/^[a-z]+:\/\//i.test(m)) throw invalidArgument(`${where}.mirrors: "${m}": give host[:port] without a scheme; set insecure = true in the mirror's own [registry.hosts."..."] table for plain HTTP`);
          checkHost(m, `${where}.mirrors: "${m}"`);
        }
        host.mirrors = [...(value as string[])];
        break;
      default:
        throw invalidArgument(`${where}: unknown key ${key} (known: insecure, ca_file, mirrors)`);
    }
  }
  return host;
}

/** A credentials file that exists must be docker's config.json shape; a missing one means none (it may appear later). */
async function checkCredentialsFile(path: string, where: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw invalidArgument(`${where}: cannot read ${path}: ${(err as Error).message}`);
  }
  try {
    credentialsFromConfig(text, 'localhost', path);
  } catch (err) {
    throw invalidArgument(`${where}: ${isRuntimeError(err) ? err.message : String(err)}`);
  }
}

function checkHost(host: string, where: string): void {
  if (!HOST.test(host)) throw invalidArgument(`${where} is not a registry host[:port]`);
}

function absolutePath(value: unknown, where: string): string {
  if (typeof value !== 'string' || !isAbsolute(value)) throw invalidArgument(`${where} must be an absolute path`);
  return value;
}

function asTable(value: unknown, where: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidArgument(`${where} must be a table`);
  return value as Record<string, unknown>;
}
