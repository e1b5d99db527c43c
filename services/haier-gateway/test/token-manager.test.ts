import { refreshTime, TokenManager } from '../src/token-manager';
import { parseRetryAfter, RetryAfterBackoff } from '../src/retry-policy';
import { ConstantBackoff } from 'cockatiel';
import { UpstreamError, isRetryable, toConnectError } from '../src/errors';
import { Code } from '@connectrpc/connect';

function manager(opts: { ttl?: number; margin?: number; now?: () => number; fail?: () => boolean } = {}) {
  let fetches = 0;
  const m = new TokenManager({
    refreshMarginSeconds: opts.margin ?? 600,
    now: opts.now,
    fetchToken: async () => {
      fetches++;
      await new Promise((r) => setTimeout(r, 10));
      if (opts.fail?.()) throw new Error('token endpoint down');
      return { value: `tok-${fetches}`, expiresInSeconds: opts.ttl ?? 3600 };
    },
  });
  return { m, fetches: () => fetches };
}

describe('TokenManager', () => {
  it('fetches once for many concurrent callers', async () => {
    const { m, fetches } = manager();
    const tokens = await Promise.all(Array.from({ length: 100 }, () => m.get()));
    expect(new Set(tokens.map((t) => t.value))).toEqual(new Set(['tok-1']));
    expect(fetches()).toBe(1);
  });
  it('refreshes once when the margin is reached, and keeps the old token if the refresh fails', async () => {
    let now = 1_000_000;
    let failing = false;
    const { m, fetches } = manager({ now: () => now, fail: () => failing });
    await m.get();
    now += (3600 - 600) * 1000 + 1;
    const again = await Promise.all([m.get(), m.get(), m.get()]);
    expect(again.map((t) => t.value)).toEqual(['tok-2', 'tok-2', 'tok-2']);
    expect(fetches()).toBe(2);
    now += (3600 - 600) * 1000 + 1;
    failing = true;
    expect((await m.get()).value).toBe('tok-2'); // still valid for 10 minutes
  });
  it('dedupes 401 renewals: a token changed since the failing call is reused', async () => {
    const { m, fetches } = manager();
    const first = await m.get();
    const renewed = await Promise.all([m.renewAfterUnauthorized(first), m.renewAfterUnauthorized(first)]);
    expect(renewed.map((t) => t.value)).toEqual(['tok-2', 'tok-2']);
    const late = await m.renewAfterUnauthorized(first); // another caller that had tok-1
    expect(late.value).toBe('tok-2');
    expect(fetches()).toBe(2);
  });
  it('never refreshes before half the lifetime of a short-lived token', () => {
    expect(refreshTime(0, 3600, 600)).toBe(3_000_000);
    expect(refreshTime(0, 2, 600)).toBe(1000);
  });
});

describe('retries', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:05 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(5000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
  });
  it('waits at least the Retry-After', () => {
    const b = new RetryAfterBackoff(new ConstantBackoff(50));
    const err = new UpstreamError({ kind: 'http', status: 429, retryAfterMs: 1000 }, 'prices');
    const step = b.next({ attempt: 1, signal: new AbortController().signal, result: { error: err } });
    expect(step.duration).toBe(1000);
    const step2 = step.next({ attempt: 2, signal: new AbortController().signal, result: { error: new UpstreamError({ kind: 'timeout', timeoutMs: 5 }, 'prices') } });
    expect(step2.duration).toBe(50);
  });
  it('retries throttling, 5xx, timeouts and connection faults only', () => {
    const e = (status: number) => new UpstreamError({ kind: 'http', status }, 'prices');
    expect([429, 500, 502, 503, 504].every((s) => isRetryable(e(s)))).toBe(true);
    expect([400, 401, 403, 404].some((s) => isRetryable(e(s)))).toBe(false);
    expect(isRetryable(new UpstreamError({ kind: 'business', code: 'x', message: 'y' }, 'prices'))).toBe(false);
    expect(isRetryable(new UpstreamError({ kind: 'network', code: 'ECONNRESET', origin: 'http://h' }, 'prices'))).toBe(true);
  });
  it('says what went wrong in operator words', () => {
    const unavailable = e503();
    expect(unavailable.code).toBe(Code.Unavailable);
    expect(unavailable.rawMessage).toBe('Haier is unavailable (HTTP 503 from prices after 3 retries): try again later');
    const creds = toConnectError(new UpstreamError({ kind: 'token-rejected', status: 401 }, 'token'), { maxRetries: 3 });
    expect(creds.code).toBe(Code.Unauthenticated);
    expect(creds.rawMessage).toMatch(/check HAIER_CLIENT_ID and HAIER_CLIENT_SECRET/);
    const pw = toConnectError(new UpstreamError({ kind: 'business', code: 'E1', message: 'password is wrong' }, 'prices'), { maxRetries: 3, passwordVar: 'HAIER_PASSWORD' });
    expect(pw.code).toBe(Code.FailedPrecondition);
    expect(pw.rawMessage).toMatch(/check HAIER_PASSWORD$/);
    expect(toConnectError(new UpstreamError({ kind: 'http', status: 403 }, 'stock'), { maxRetries: 3 }).code).toBe(Code.PermissionDenied);
    expect(toConnectError(new UpstreamError({ kind: 'timeout', timeoutMs: 30000 }, 'stock'), { maxRetries: 3 }).rawMessage).toMatch(/^Haier did not answer within 30000 ms/);
  });
});

function e503() {
  const err = new UpstreamError({ kind: 'http', status: 503 }, 'prices');
  err.retries = 3;
  return toConnectError(err, { maxRetries: 3 });
}
