/**
 * When and how long to retry a registry request: 429 and 5xx answers and
 * connection failures are retried with exponential backoff and jitter,
 * honouring Retry-After; everything else (4xx, TLS trust failures) is final.
 */

/** The retry policy; defaults in DEFAULT_RETRY. */
export interface RetryPolicy {
  /** Total tries of one request, the first included. */
  attempts: number;
  /** Delay before the second try, in ms. */
  baseDelayMs: number;
  /** Cap on one delay (Retry-After included), in ms. */
  maxDelayMs: number;
  /** Growth per try. */
  factor: number;
  /** Fraction of the delay randomised (0 = none, 0.2 = ±20%). */
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 10_000, factor: 2, jitter: 0.2 };

/** Merges a partial policy over the defaults and checks it. */
export function retryPolicy(p: Partial<RetryPolicy> = {}): RetryPolicy {
  const r = { ...DEFAULT_RETRY, ...Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined)) } as RetryPolicy;
  r.attempts = Math.max(1, Math.floor(r.attempts));
  r.baseDelayMs = Math.max(0, r.baseDelayMs);
  r.maxDelayMs = Math.max(r.baseDelayMs, r.maxDelayMs);
  r.jitter = Math.min(1, Math.max(0, r.jitter));
  return r;
}

/** HTTP statuses worth another try: too many requests, and server-side failures except 501/505. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/** Socket-level failures worth another try (reset, refused, timeouts, a body cut short). */
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** The error code of an error or of its cause chain. */
export function errorCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
  }
  return undefined;
}

/** True when a thrown error is a transient network failure. */
export function isRetryableError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/** Parses Retry-After (seconds or an HTTP date) into ms from `now`; undefined when absent or bad. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : Math.max(0, t - now);
}

/**
 * The delay before try number `attempt + 1` (attempt counts from 1 for the
 * first failure): base * factor^(attempt-1), jittered, capped; a Retry-After
 * wins when it is longer, still capped.
 */
export function backoffDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number, random: () => number = Math.random): number {
  const exp = policy.baseDelayMs * Math.pow(policy.factor, Math.max(0, attempt - 1));
  const jittered = exp * (1 + policy.jitter * (2 * random() - 1));
  const delay = Math.max(jittered, retryAfterMs ?? 0);
  return Math.round(Math.min(policy.maxDelayMs, Math.max(0, delay)));
}

/** Sleeps `ms`, ending early (rejecting) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
