/**
 * Registry authentication (containerd's remotes/docker/authorizer.go):
 * anonymous until a 401's WWW-Authenticate says otherwise; then Basic with
 * the host's credentials, or a Bearer token fetched from the challenge's
 * realm for (service, scope), cached per scope until it expires.
 */
import { failedPrecondition, invalidArgument, unavailable } from '../../errors.js';
import { findChallenge, parseChallenges, type Challenge } from './challenge.js';
import type { Credentials, CredentialsLookup } from './credentials.js';

/** What the authorizer needs from the transport to fetch a token: one request, retried, unauthenticated. */
export interface TokenHttp {
  tokenRequest(url: URL, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal }): Promise<{ status: number; text: string }>;
}

/** Tells the user how to give credentials for a host; appended to every 401 message. */
export type CredentialsHint = (host: string) => string;

const DEFAULT_HINT: CredentialsHint = (host) => `give credentials for ${host}`;
/** Tokens without expires_in live 60 s (the distribution spec's default). */
const DEFAULT_TOKEN_TTL_S = 60;
/** Refresh tokens this long before they expire. */
const EXPIRY_SLACK_MS = 5_000;
/** A token response larger than this is not a token. */
const MAX_TOKEN_RESPONSE = 1 << 20;

interface HostAuth {
  scheme: 'basic' | 'bearer';
  realm?: string;
  service?: string;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

/** The scope string for pulling a repository. */
export function pullScope(path: string): string {
  return `repository:${path}:pull`;
}

/** One authorizer per client: it remembers each host's scheme and the tokens it got. */
export class Authorizer {
  private readonly hosts = new Map<string, HostAuth>();
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();

  constructor(
    private readonly http: TokenHttp,
    private readonly credentials: CredentialsLookup,
    private readonly hint: CredentialsHint = DEFAULT_HINT,
    private readonly now: () => number = Date.now,
  ) {}

  /** The Authorization header to send to `host` for `scope`, or undefined while the host has not asked for any. */
  async authorization(host: string, scope: string | undefined, signal?: AbortSignal): Promise<string | undefined> {
    const auth = this.hosts.get(host);
    if (auth === undefined) return undefined;
    if (auth.scheme === 'basic') {
      const creds = await this.credentials(host);
      return creds ? basicHeader(creds) : undefined;
    }
    const token = await this.token(host, auth, scope, signal);
    return `Bearer ${token.token}`;
  }

  /**
   * Handles a first 401 from `host`: learns the scheme from the challenge,
   * gets what the retry needs (a fresh token) and returns true. Throws
   * FailedPrecondition when no retry can help (no credentials for Basic, or
   * Basic credentials already refused). `sent` is the refused Authorization.
   */
  async unauthorized(host: string, scope: string | undefined, wwwAuthenticate: string | string[] | undefined, sent: string | undefined, signal?: AbortSignal): Promise<true> {
    const challenges = parseChallenges(wwwAuthenticate);
    const bearer = findChallenge(challenges, 'bearer');
    if (bearer !== undefined) {
      const realm = bearer.params.realm;
      if (!realm) throw invalidArgument(`registry ${host} sent a Bearer challenge without a realm`, { fields: { registry: host } });
      const auth: HostAuth = { scheme: 'bearer', realm, ...(bearer.params.service !== undefined ? { service: bearer.params.service } : {}) };
      this.hosts.set(host, auth);
      // Whatever we sent (maybe a cached token the server no longer likes) is dropped; one fresh token per 401.
      this.tokens.delete(tokenKey(host, scope));
      await this.token(host, auth, scope, signal);
      return true;
    }
    if (findChallenge(challenges, 'basic') !== undefined || challenges.length === 0) {
      const creds = await this.credentials(host);
      if (creds === undefined) throw this.noCredentials(host, scope);
      if (sent !== undefined && sent.startsWith('Basic ')) throw this.refused(host, scope, creds);
      this.hosts.set(host, { scheme: 'basic' });
      return true;
    }
    throw failedPrecondition(`registry ${host} asks for an unsupported authentication scheme ${JSON.stringify(challenges[0]?.scheme)}`, { fields: { registry: host, status: 401 } });
  }

  /** The error for a 401 that survived the retry: the credentials (or their absence) are the problem. */
  async rejected(host: string, scope: string | undefined, wwwAuthenticate: string | string[] | undefined): Promise<Error> {
    const creds = await this.credentials(host);
    if (creds === undefined) return this.noCredentials(host, scope);
    const challenge = findChallenge(parseChallenges(wwwAuthenticate), 'bearer');
    this.tokens.delete(tokenKey(host, scope));
    return this.refused(host, scope, creds, challenge);
  }

  /** A cached token for (host, scope) or a new one, one request per key at a time. */
  private async token(host: string, auth: HostAuth, scope: string | undefined, signal?: AbortSignal): Promise<CachedToken> {
    const key = tokenKey(host, scope);
    const cached = this.tokens.get(key);
    if (cached !== undefined && cached.expiresAt - EXPIRY_SLACK_MS > this.now()) return cached;
    let pending = this.inflight.get(key);
    if (pending === undefined) {
      pending = this.fetchToken(host, auth, scope, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const token = await pending;
    this.tokens.set(key, token);
    return token;
  }

  private async fetchToken(host: string, auth: HostAuth, scope: string | undefined, signal?: AbortSignal): Promise<CachedToken> {
    let url: URL;
    try {
      url = new URL(auth.realm as string);
    } catch {
      throw invalidArgument(`registry ${host} sent a Bearer realm that is not a URL: ${JSON.stringify(auth.realm)}`, { fields: { registry: host } });
    }
    const creds = await this.credentials(host);
    const headers: Record<string, string> = { accept: 'application/json' };
    let res: { status: number; text: string };
    if (creds?.identityToken !== undefined) {
      // OAuth2 refresh-token grant, as docker and containerd do for identity tokens.
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.identityToken, client_id: 'containerd-ts' });
      if (auth.service !== undefined) form.set('service', auth.service);
      if (scope !== undefined) form.set('scope', scope);
      headers['content-type'] = 'application/x-www-form-urlencoded';
      res = await this.http.tokenRequest(url, { method: 'POST', headers, body: form.toString(), ...(signal ? { signal } : {}) });
    } else {
      if (auth.service !== undefined) url.searchParams.set('service', auth.service);
      if (scope !== undefined) url.searchParams.append('scope', scope);
      if (creds !== undefined) {
        headers.authorization = basicHeader(creds);
        url.searchParams.set('account', creds.username);
      }
      res = await this.http.tokenRequest(url, { method: 'GET', headers, ...(signal ? { signal } : {}) });
    }
    if (res.status === 401 || res.status === 403) {
      if (creds === undefined) throw this.noCredentials(host, scope);
      throw this.refused(host, scope, creds);
    }
    if (res.status < 200 || res.status >= 300) {
      throw unavailable(`token server ${url.origin} for registry ${host} answered ${res.status}`, { fields: { registry: host, status: res.status } });
    }
    return parseTokenResponse(res.text, host, this.now());
  }

  private noCredentials(host: string, scope: string | undefined): Error {
    return failedPrecondition(
      `registry ${host} requires authentication${scope ? ` for ${scope}` : ''} (401 Unauthorized) and no credentials were given: ${this.hint(host)}`,
      { fields: { registry: host, status: 401 } },
    );
  }

  private refused(host: string, scope: string | undefined, creds: Credentials | undefined, challenge?: Challenge): Error {
    const who = creds === undefined ? 'anonymous access' : creds.username ? `the credentials of user ${JSON.stringify(creds.username)}` : 'the identity token';
    const why = challenge?.params.error ? ` (${challenge.params.error})` : '';
    return failedPrecondition(
      `registry ${host} refused ${who}${scope ? ` for ${scope}` : ''} (401 Unauthorized${why}): ${creds === undefined ? '' : 'check the user name and password; '}${this.hint(host)}`,
      { fields: { registry: host, status: 401 } },
    );
  }
}

/** Parses `{"token": ..., "expires_in": ...}` (or `access_token`) from a token server. */
export function parseTokenResponse(text: string, host: string, now: number): CachedToken {
  if (text.length > MAX_TOKEN_RESPONSE) throw invalidArgument(`token response for registry ${host} is too large`);
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch {
    throw invalidArgument(`token server for registry ${host} did not answer JSON`, { fields: { registry: host } });
  }
  const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : typeof doc.access_token === 'string' ? doc.access_token : '';
  if (token === '') throw invalidArgument(`token server for registry ${host} answered without a token`, { fields: { registry: host } });
  const ttl = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_TOKEN_TTL_S;
  return { token, expiresAt: now + ttl * 1000 };
}

function tokenKey(host: string, scope: string | undefined): string {
  return `${host} ${scope ?? ''}`;
}

function basicHeader(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.secret}`).toString('base64')}`;
}
