/**
 * Where the daemon finds registry settings until they have a place in
 * config.toml: credentials in `/etc/containerd-ts/auth.json` (docker
 * config.json format) and per-host CA certificates in
 * `/etc/containerd-ts/certs.d/<host[:port]>/*.crt` (containerd's layout).
 */
import type { RetryPolicy } from '../../oci/distribution/retry.js';

/** Registry settings of the daemon; defaults in DEFAULT_REGISTRY_CONFIG. */
export interface RegistryConfig {
  /** Docker-style credentials file the administrator controls. */
  credentialsFile: string;
  /** Directory of per-host CA certificates. */
  certsDir: string;
  /** Hosts always spoken to over plain HTTP (loopback falls back by itself). */
  insecureHosts: string[];
  /** Parallel layer downloads per pull. */
  maxConcurrentDownloads: number;
  retry?: Partial<RetryPolicy>;
}

export const DEFAULT_REGISTRY_CONFIG: RegistryConfig = {
  credentialsFile: '/etc/containerd-ts/auth.json',
  certsDir: '/etc/containerd-ts/certs.d',
  insecureHosts: [],
  maxConcurrentDownloads: 3,
};

/** The message ending every 401: how to give credentials for `host`. */
export function credentialsHint(config: RegistryConfig): (host: string) => string {
  return (host) =>
    `pass --user USER:PASSWORD to ctr-ts images pull, or add {"auths": {"${host}": {"auth": "<base64 of USER:PASSWORD>"}}} to ${config.credentialsFile}`;
}
