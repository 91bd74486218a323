/**
 * The daemon's registry settings (`[registry]` in config.toml, parsed in
 * config-registry.ts) and how one pull turns them, with the request's own
 * flags, into registry client options: plain-HTTP hosts, CAs, credentials
 * (the request's, then the file the administrator controls) and mirrors.
 */
import { certsDirCa, combineCa } from '../../oci/distribution/ca.js';
import type { RegistryClientOptions } from '../../oci/distribution/client.js';
import { chainCredentials, fileCredentials, staticCredentials, type Credentials } from '../../oci/distribution/credentials.js';
import type { MirrorFailure } from '../../oci/distribution/mirrors.js';
import { DOCKER_HUB, apiHost, type Reference } from '../../oci/distribution/reference.js';
import type { RetryPolicy } from '../../oci/distribution/retry.js';

/** Settings of one registry host (`[registry.hosts."host:port"]`). */
export interface RegistryHostConfig {
  /** Speak plain HTTP to this host (otherwise only loopback may, after HTTPS fails). */
  insecure: boolean;
  /** A CA certificate (PEM, read when the config was loaded) trusted for this host. */
  caPem?: string;
  /** Where caPem came from, for messages. */
  caFile?: string;
  /** Hosts tried in order before this one for pulls of its images; one that fails is skipped. */
  mirrors: string[];
}

/** Registry settings of the daemon; defaults in DEFAULT_REGISTRY_CONFIG. */
export interface RegistryConfig {
  /** Docker-style credentials file (config.json `auths`) the administrator controls; read on every pull. */
  credentialsFile: string;
  /** Directory of per-host CA certificates (`<dir>/<host[:port]>/*.crt`). */
  certsDir: string;
  /** Hosts always spoken to over plain HTTP (loopback falls back by itself). */
  insecureHosts: string[];
  /** Per-host settings, keyed by `host[:port]` as written in image references. */
  hosts: Record<string, RegistryHostConfig>;
  /** Parallel layer downloads per pull. */
  maxConcurrentDownloads: number;
  retry?: Partial<RetryPolicy>;
}

export const DEFAULT_REGISTRY_CONFIG: RegistryConfig = {
  credentialsFile: '/etc/containerd-ts/auth.json',
  certsDir: '/etc/containerd-ts/certs.d',
  insecureHosts: [],
  hosts: {},
  maxConcurrentDownloads: 3,
};

/** The message ending every 401: how to give credentials for `host`. */
export function credentialsHint(config: RegistryConfig): (host: string) => string {
  return (host) =>
    `pass --user USER:PASSWORD to ctr-ts images pull, or add {"auths": {"${host}": {"auth": "<base64 of USER:PASSWORD>"}}} to ${config.credentialsFile}`;
}

/** What a pull request adds to the daemon's settings (ctr's --plain-http, --user, --tlscacert). */
export interface PullRegistryFlags {
  plainHttp?: boolean;
  insecureHosts?: string[];
  credentials?: Credentials;
  tlsCaPem?: string;
}

/**
 * Client options for pulling `reference`: plain HTTP for the configured
 * insecure hosts (by the name in references and by API host, so `docker.io`
 * covers registry-1.docker.io) and those the request names; the CAs of the
 * certs dir, the host tables and the request; the request's credentials,
 * then the file's; the reference registry's mirrors, failures reported to
 * `onMirrorFailure`.
 */
export function registryClientOptions(
  config: RegistryConfig,
  reference: Reference,
  flags: PullRegistryFlags,
  onMirrorFailure?: (failure: MirrorFailure) => void,
): RegistryClientOptions {
  const host = apiHost(reference.domain);
  const hostCa = new Map<string, string>();
  const insecure = new Set(config.insecureHosts);
  for (const [name, h] of Object.entries(config.hosts)) {
    for (const alias of new Set([name, apiHost(name)])) {
      if (h.insecure) insecure.add(alias);
      if (h.caPem) hostCa.set(alias, h.caPem);
    }
  }
  for (const h of flags.insecureHosts ?? []) insecure.add(h);
  if (flags.plainHttp) insecure.add(host).add(reference.domain);
  const requestCa = flags.tlsCaPem;
  return {
    plainHttpHosts: [...insecure],
    caFor: combineCa(
      certsDirCa(config.certsDir),
      async (h) => hostCa.get(h),
      async (h) => (h === host && requestCa ? requestCa : undefined),
    ),
    credentials: chainCredentials(staticCredentials(flags.credentials ? { [host]: flags.credentials } : {}), fileCredentials(config.credentialsFile)),
    credentialsHint: credentialsHint(config),
    mirrors: (domain) => mirrorsOf(config, domain),
    ...(onMirrorFailure ? { onMirrorFailure } : {}),
    ...(config.retry ? { retry: config.retry } : {}),
    userAgent: 'containerd-ts/pull',
  };
}

/** The mirrors configured for a registry (docker.io also under its API host's name). */
export function mirrorsOf(config: RegistryConfig, domain: string): string[] {
  const direct = config.hosts[domain]?.mirrors;
  if (direct && direct.length > 0) return direct;
  if (domain === DOCKER_HUB) return config.hosts[apiHost(DOCKER_HUB)]?.mirrors ?? [];
  return [];
}
