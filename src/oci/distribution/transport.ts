/**
 * HTTP to registries on undici: picks the scheme (HTTPS; plain HTTP only for
 * hosts named insecure, and for loopback hosts that do not speak TLS), one
 * connection pool per TLS trust set (system roots + the host's CA), auth via
 * the Authorizer, retries with backoff on 429/5xx and connection errors,
 * and redirects followed by hand so credentials never leave their origin.
 */
import { createRequire } from 'node:module';
import { rootCertificates } from 'node:tls';
import type { Agent, Dispatcher } from 'undici';

type Undici = typeof import('undici');
let loaded: Undici | undefined;
/**
 * undici loads with the first registry request: at daemon start it was ~35 ms of compiling for what only pulls use.
 * By require, not import(): the daemon's bundle runs from V8's code cache, where import() has no loader,
 * and the build leaves a createRequire()'d package out of the bundle.
 */
async function undici(): Promise<Undici> {
  return (loaded ??= createRequire(import.meta.url)('undici') as Undici);
}
import { failedPrecondition, invalidArgument, isRuntimeError, unavailable } from '../../errors.js';
import { Authorizer, type CredentialsHint, type TokenHttp } from './auth.js';
import { anonymous, type CredentialsLookup } from './credentials.js';
import { isLoopback } from './reference.js';
import { backoffDelay, errorCode, isRetryableError, isRetryableStatus, parseRetryAfter, retryPolicy, sleep, type RetryPolicy } from './retry.js';

/** Options of the transport (and of the registry client that owns it); defaults applied in `transportDefaults`. */
export interface TransportOptions {
  /** Credentials per registry host; anonymous when absent. */
  credentials?: CredentialsLookup;
  /** Hosts (`host[:port]`) spoken to over plain HTTP. Loopback hosts fall back to HTTP by themselves. */
  plainHttpHosts?: string[];
  /** Extra CA certificates (PEM) trusted for a host, beside the system roots. */
  caFor?: (host: string) => Promise<string | undefined>;
  /** How to tell the user to give credentials (ends every 401 message). */
  credentialsHint?: CredentialsHint;
  retry?: Partial<RetryPolicy>;
  userAgent?: string;
  maxRedirects?: number;
  /** Time to wait for response headers, and the longest silence inside a body, in ms. */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
}

/** A response whose body the caller must consume or dump. */
export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Dispatcher.ResponseData['body'];
  url: URL;
}

/** One request to a registry API path (`/v2/...`) on `host`. */
export interface RegistryRequest {
  host: string;
  path: string;
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  /** Auth scope (`repository:x:pull`) for bearer tokens. */
  scope?: string;
  signal?: AbortSignal;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** TLS trust failures: retrying cannot help, the user must configure a CA. */
const TLS_TRUST_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);
/** What a TLS client sees when the server speaks plain HTTP. */
const NOT_TLS_CODES = new Set(['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_SSL_PACKET_LENGTH_TOO_LONG', 'ERR_SSL_HTTP_REQUEST', 'EPROTO']);

export class RegistryTransport implements TokenHttp {
  readonly policy: RetryPolicy;
  readonly authorizer: Authorizer;
  private readonly plainHttp: Set<string>;
  private readonly fallbackHttp = new Set<string>();
  private readonly agents = new Map<string, Agent>();
  /** Each host's extra CA, looked up once per transport (one pull). */
  private readonly caCache = new Map<string, Promise<string | undefined>>();
  private readonly userAgent: string;
  private readonly maxRedirects: number;

  constructor(private readonly options: TransportOptions = {}) {
    this.policy = retryPolicy(options.retry);
    this.plainHttp = new Set((options.plainHttpHosts ?? []).map((h) => h.toLowerCase()));
    this.userAgent = options.userAgent ?? 'containerd-ts';
    this.maxRedirects = options.maxRedirects ?? 5;
    this.authorizer = new Authorizer(this, options.credentials ?? anonymous, options.credentialsHint);
  }

  /** `https` unless the host is named insecure or is a loopback host that turned out not to speak TLS. */
  scheme(host: string): 'http' | 'https' {
    const h = host.toLowerCase();
    return this.plainHttp.has(h) || this.fallbackHttp.has(h) ? 'http' : 'https';
  }

  /**
   * Sends one registry request with auth, retries and redirects, and returns
   * the final response (any status but 401; the caller maps 404 and the
   * rest). Exhausted retries are Unavailable; refused auth FailedPrecondition.
   */
  async request(req: RegistryRequest): Promise<HttpResponse> {
    const method = req.method ?? 'GET';
    let authRetried = false;
    for (let attempt = 1; ; attempt++) {
      let res: HttpResponse;
      let sent: string | undefined;
      try {
        sent = await this.authorizer.authorization(req.host, req.scope, req.signal);
        const headers = { 'user-agent': this.userAgent, ...req.headers, ...(sent !== undefined ? { authorization: sent } : {}) };
        res = await this.send(req.host, req.path, method, headers, req.signal);
      } catch (err) {
        if (isRuntimeError(err) || req.signal?.aborted) throw err;
        if (isRetryableError(err) && attempt < this.policy.attempts) {
          await sleep(backoffDelay(this.policy, attempt), req.signal);
          continue;
        }
        throw this.networkError(err, req.host, attempt);
      }
      if (res.status === 401) {
        const challenge = res.headers['www-authenticate'];
        await res.body.dump().catch(() => undefined);
        if (authRetried) throw await this.authorizer.rejected(req.host, req.scope, challenge);
        authRetried = true;
        await this.authorizer.unauthorized(req.host, req.scope, challenge, sent, req.signal);
        attempt--;
        continue;
      }
      if (isRetryableStatus(res.status) && attempt < this.policy.attempts) {
        const retryAfter = parseRetryAfter(header(res.headers, 'retry-after'));
        await res.body.dump().catch(() => undefined);
        await sleep(backoffDelay(this.policy, attempt, retryAfter), req.signal);
        continue;
      }
      if (isRetryableStatus(res.status)) {
        const detail = await errorDetail(res);
        throw unavailable(`registry ${req.host} answered ${res.status}${detail} to ${method} ${req.path}, ${attempt} attempt${attempt === 1 ? '' : 's'}; try again later`, {
          fields: { registry: req.host, status: res.status, attempts: attempt },
        });
      }
      return res;
    }
  }

  /** For the authorizer: a token request to an absolute URL, retried, never authenticated by us. */
  async tokenRequest(url: URL, init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string; signal?: AbortSignal }): Promise<{ status: number; text: string }> {
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && (isLoopback(url.host) || this.plainHttp.has(url.host.toLowerCase())))) {
      throw failedPrecondition(`refusing to send credentials to token realm ${url.origin} over ${url.protocol.replace(':', '')}: only loopback and insecure hosts may use plain HTTP`);
    }
    for (let attempt = 1; ; attempt++) {
      try {
        const dispatcher = await this.agentFor(url.host);
        const res = await (await undici()).request(url, {
          method: init.method,
          headers: { 'user-agent': this.userAgent, ...init.headers },
          ...(init.body !== undefined ? { body: init.body } : {}),
          dispatcher,
          ...(init.signal ? { signal: init.signal } : {}),
        });
        if (isRetryableStatus(res.statusCode) && attempt < this.policy.attempts) {
          await res.body.dump().catch(() => undefined);
          await sleep(backoffDelay(this.policy, attempt, parseRetryAfter(header(res.headers, 'retry-after'))), init.signal);
          continue;
        }
        const text = await readLimited(res.body, 1 << 20);
        return { status: res.statusCode, text };
      } catch (err) {
        if (isRuntimeError(err) || init.signal?.aborted) throw err;
        if (isRetryableError(err) && attempt < this.policy.attempts) {
          await sleep(backoffDelay(this.policy, attempt), init.signal);
          continue;
        }
        throw this.networkError(err, url.host, attempt);
      }
    }
  }

  /** Closes every pool. */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((a) => a.close().catch(() => undefined)));
  }

  /** One request, following redirects (Authorization dropped when the origin changes); loopback HTTP fallback here. */
  private async send(host: string, path: string, method: string, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
    let url = new URL(`${this.scheme(host)}://${host}${path}`);
    let hdrs = headers;
    for (let hop = 0; ; hop++) {
      let res: Dispatcher.ResponseData;
      try {
        const dispatcher = await this.agentFor(url.host);
        res = await (await undici()).request(url, { method: method as Dispatcher.HttpMethod, headers: hdrs, dispatcher, ...(signal ? { signal } : {}) });
      } catch (err) {
        if (hop === 0 && url.protocol === 'https:' && isLoopback(host) && NOT_TLS_CODES.has(errorCode(err) ?? '')) {
          // A loopback registry without TLS (docker-registry's default): speak HTTP to it from now on.
          this.fallbackHttp.add(host.toLowerCase());
          url = new URL(`http://${host}${path}`);
          hop--;
          continue;
        }
        throw err;
      }
      const location = header(res.headers, 'location');
      if (!REDIRECTS.has(res.statusCode) || location === undefined) return { status: res.statusCode, headers: res.headers, body: res.body, url };
      await res.body.dump().catch(() => undefined);
      if (hop >= this.maxRedirects) throw unavailable(`registry ${host}: more than ${this.maxRedirects} redirects for ${path}`, { fields: { registry: host } });
      const next = new URL(location, url);
      if (next.protocol !== 'https:' && next.protocol !== 'http:') throw invalidArgument(`registry ${host} redirected to an unsupported URL ${next.protocol}`);
      if (next.protocol === 'http:' && url.protocol === 'https:' && !isLoopback(next.host) && !this.plainHttp.has(next.host.toLowerCase())) {
        throw failedPrecondition(`registry ${host} redirected from HTTPS to plain HTTP (${next.origin}); name that host insecure to allow it`, { fields: { registry: host } });
      }
      if (next.origin !== url.origin) {
        const { authorization: _dropped, ...rest } = hdrs;
        hdrs = rest;
      }
      url = next;
    }
  }

  /** The pool for `host`: shared by hosts with the same trust set. */
  private async agentFor(host: string): Promise<Agent> {
    const { Agent } = await undici();
    let ca = this.caCache.get(host);
    if (ca === undefined) {
      ca = Promise.resolve(this.options.caFor?.(host)).then((pem) => pem?.trim() || undefined);
      this.caCache.set(host, ca);
    }
    const extra = await ca;
    const key = extra ?? '';
    let agent = this.agents.get(key);
    if (agent === undefined) {
      agent = new Agent({
        headersTimeout: this.options.headersTimeoutMs ?? 60_000,
        bodyTimeout: this.options.bodyTimeoutMs ?? 60_000,
        connect: { ...(extra ? { ca: [...rootCertificates, extra] } : {}), timeout: 30_000 },
      });
      this.agents.set(key, agent);
    }
    return agent;
  }

  /** A network failure as the user should read it. */
  networkError(err: unknown, host: string, attempts: number): Error {
    const code = errorCode(err) ?? '';
    const message = err instanceof Error ? err.message : String(err);
    if (TLS_TRUST_CODES.has(code)) {
      return unavailable(
        `TLS certificate of registry ${host} is not trusted (${code}: ${message}); add its CA certificate (for example /etc/containerd-ts/certs.d/${host}/ca.crt or --tlscacert FILE)`,
        { cause: err, fields: { registry: host, code } },
      );
    }
    if (NOT_TLS_CODES.has(code)) {
      return unavailable(`registry ${host} does not speak TLS (${code}); if it is a plain-HTTP registry, pull with --plain-http`, { cause: err, fields: { registry: host, code } });
    }
    return unavailable(`cannot reach registry ${host} (${code || 'error'}: ${message}) after ${attempts} attempt${attempts === 1 ? '' : 's'}`, {
      cause: err,
      fields: { registry: host, code, attempts },
    });
  }
}

/** One header as a string (the first, when repeated). */
export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Reads a body into a string, failing past `max` bytes. */
export async function readLimited(body: AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void }, max: number): Promise<string> {
  return (await readLimitedBuffer(body, max)).toString('utf8');
}

/** Reads a body into a buffer, failing (InvalidArgument) past `max` bytes without buffering the rest. */
export async function readLimitedBuffer(body: AsyncIterable<Uint8Array> & { destroy?: (e?: Error) => void }, max: number, what = 'response'): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) {
      body.destroy?.();
      throw invalidArgument(`${what} is over the ${max} byte limit`, { fields: { limit: max } });
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

/** `: CODE message` from a registry's JSON error body (distribution spec), or '' — the body is consumed. */
export async function errorDetail(res: HttpResponse): Promise<string> {
  try {
    const text = await readLimited(res.body, 64 * 1024);
    const doc = JSON.parse(text) as { errors?: Array<{ code?: string; message?: string }> };
    const first = doc.errors?.[0];
    if (first) return ` (${[first.code, first.message].filter(Boolean).join(': ')})`;
    return '';
  } catch {
    return '';
  }
}
