import { expect } from 'chai';
import { Limiter } from '../../src/oci/distribution/limit.js';
import { backoffDelay, isRetryableError, isRetryableStatus, parseRetryAfter, retryPolicy } from '../../src/oci/distribution/retry.js';

describe('distribution/retry', () => {
  it('retries 429, 408 and 5xx except 501/505', () => {
    for (const s of [429, 408, 500, 502, 503, 504]) expect(isRetryableStatus(s), String(s)).to.equal(true);
    for (const s of [200, 301, 400, 401, 403, 404, 416, 501, 505]) expect(isRetryableStatus(s), String(s)).to.equal(false);
  });

  it('retries connection errors, also when wrapped as a cause', () => {
    const e = (code: string) => Object.assign(new Error(code), { code });
    expect(isRetryableError(e('ECONNRESET'))).to.equal(true);
    expect(isRetryableError(e('UND_ERR_SOCKET'))).to.equal(true);
    expect(isRetryableError(new Error('fetch failed', { cause: e('ECONNREFUSED') }))).to.equal(true);
    expect(isRetryableError(e('DEPTH_ZERO_SELF_SIGNED_CERT'))).to.equal(false);
    expect(isRetryableError(new Error('plain'))).to.equal(false);
  });

  it('backs off exponentially with bounded jitter and a cap', () => {
    const p = retryPolicy({ baseDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: 0 });
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(p, a))).to.deep.equal([100, 200, 400, 800, 1000, 1000]);
    const j = retryPolicy({ baseDelayMs: 100, factor: 2, maxDelayMs: 10_000, jitter: 0.5 });
    expect(backoffDelay(j, 1, undefined, () => 0)).to.equal(50);
    expect(backoffDelay(j, 1, undefined, () => 1)).to.equal(150);
  });

  it('honours Retry-After, still capped', () => {
    const p = retryPolicy({ baseDelayMs: 100, maxDelayMs: 5000, jitter: 0 });
    expect(backoffDelay(p, 1, 2000)).to.equal(2000);
    expect(backoffDelay(p, 1, 60_000)).to.equal(5000);
    expect(parseRetryAfter('3')).to.equal(3000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4000)).to.equal(6000);
    expect(parseRetryAfter('soon')).to.equal(undefined);
    expect(parseRetryAfter(undefined)).to.equal(undefined);
  });

  it('normalises policies', () => {
    expect(retryPolicy({ attempts: 0 }).attempts).to.equal(1);
    expect(retryPolicy({}).attempts).to.equal(5);
  });
});

describe('distribution/limit', () => {
  it('runs at most n tasks at once and releases on failure', async () => {
    const l = new Limiter(2);
    let running = 0;
    let peak = 0;
    const task = (fail: boolean) => l.run(async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 10));
      running--;
      if (fail) throw new Error('x');
      return 1;
    });
    const results = await Promise.allSettled([task(false), task(true), task(false), task(true), task(false)]);
    expect(peak).to.equal(2);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(3);
  });
});
