/**
 * Registry credentials from a JSON file the user controls, in the format of
 * docker's config.json (what `docker login` and skopeo write):
 * `{"auths": {"registry.example:5000": {"auth": "<base64 user:password>"}}}`
 * (or `username`/`password`, or `identitytoken`). Docker Hub may be keyed
 * `https://index.docker.io/v1/` as docker does.
 */
import { readFile } from 'node:fs/promises';
import { invalidArgument } from '../../errors.js';
import { DOCKER_HUB, DOCKER_HUB_API_HOST } from './reference.js';

/** A user name and a password (or token); `identityToken` is an OAuth refresh token. */
export interface Credentials {
  username: string;
  secret: string;
  identityToken?: string;
}

/** Looks up the credentials for a registry host (`host[:port]` as in the reference). */
export type CredentialsLookup = (host: string) => Promise<Credentials | undefined>;

/** No credentials anywhere: anonymous access. */
export const anonymous: CredentialsLookup = async () => undefined;

/** A fixed set, keyed by host. */
export function staticCredentials(map: Record<string, Credentials>): CredentialsLookup {
  return async (host) => map[host] ?? (isHub(host) ? (map[DOCKER_HUB] ?? map[DOCKER_HUB_API_HOST]) : undefined);
}

/** Tries each lookup in order and returns the first hit. */
export function chainCredentials(...lookups: CredentialsLookup[]): CredentialsLookup {
  return async (host) => {
    for (const l of lookups) {
      const c = await l(host);
      if (c !== undefined) return c;
    }
    return undefined;
  };
}

/**
 * Credentials read from `path` on every lookup (so edits apply without a
 * restart). A missing file means none; a file that is not the expected JSON
 * is InvalidArgument naming the file.
 */
export function fileCredentials(path: string): CredentialsLookup {
  return async (host) => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw invalidArgument(`cannot read registry credentials file ${path}: ${(err as Error).message}`, { cause: err });
    }
    return credentialsFromConfig(text, host, path);
  };
}

/** Extracts one host's credentials from a docker-style config.json text. */
export function credentialsFromConfig(text: string, host: string, what = 'credentials file'): Credentials | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`${what} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (auths === null || typeof auths !== 'object' || Array.isArray(auths)) {
    throw invalidArgument(`${what} has no "auths" object (expected {"auths": {"HOST": {"auth": "<base64 user:password>"}}})`);
  }
  const entries = auths as Record<string, unknown>;
  const keys = isHub(host) ? [host, DOCKER_HUB, DOCKER_HUB_API_HOST, 'https://index.docker.io/v1/', 'index.docker.io'] : [host, `https://${host}`, `http://${host}`];
  for (const k of keys) {
    const entry = entries[k];
    if (entry !== null && typeof entry === 'object') return entryCredentials(entry as Record<string, unknown>, k, what);
  }
  return undefined;
}

function entryCredentials(e: Record<string, unknown>, key: string, what: string): Credentials {
  const token = typeof e.identitytoken === 'string' && e.identitytoken !== '' ? e.identitytoken : undefined;
  if (typeof e.auth === 'string' && e.auth !== '') {
    const decoded = Buffer.from(e.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalidArgument(`${what}: "auth" of ${key} is not base64 of user:password`);
    return { username: decoded.slice(0, colon), secret: decoded.slice(colon + 1), ...(token ? { identityToken: token } : {}) };
  }
  if (typeof e.username === 'string' && typeof e.password === 'string') return { username: e.username, secret: e.password, ...(token ? { identityToken: token } : {}) };
  if (token) return { username: '', secret: '', identityToken: token };
  throw invalidArgument(`${what}: entry ${key} has neither "auth" nor "username"/"password"`);
}

function isHub(host: string): boolean {
  return host === DOCKER_HUB || host === DOCKER_HUB_API_HOST || host === 'index.docker.io';
}
