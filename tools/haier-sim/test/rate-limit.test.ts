// The two ways the simulator counts calls against its rate limit: the strict sliding window
// (default: what Haier's "N calls per second" means, counted at arrival) and the lenient token
// bucket kept from before (lets up to 2x the rate through in one second).
import { RateLimiter } from '../src/rate-limit';
import { busiestWindow, startSimulator } from '../src/index';
import { ACCOUNT, call, control, token } from './client';

describe('sliding-window mode (strict)', () => {
  it('admits at most `rate` calls in any sliding second, wherever the window starts', () => {
    const l = new RateLimiter(5, 'sliding');
    const admitted: number[] = [];
    // one call every 50 ms for 3 s: a token bucket would let 5 + 1 per 200 ms through
    for (let t = 0; t < 3000; t += 50) if (l.take('a', t).ok) admitted.push(t);
    expect(busiestWindow(admitted)).toBe(5);
    // every window [t, t + 1000) holds at most 5
    for (let s = 0; s < 3000; s += 10) expect(admitted.filter((t) => t >= s && t < s + 1000).length).toBeLessThanOrEqual(5);
    expect(admitted.length).toBe(15); // 5 per second, the whole limit still usable
  });

  it('refuses a call that the bucket would admit (5 at 0 ms, then one at 600 ms), and says when to retry', () => {
    const strict = new RateLimiter(5, 'sliding');
    const bucket = new RateLimiter(5, 'bucket');
    for (let i = 0; i < 5; i++) {
      expect(strict.take('a', i).ok).toBe(true);
      expect(bucket.take('a', i).ok).toBe(true);
    }
    expect(bucket.take('a', 600).ok).toBe(true); // 3 tokens refilled by then
    expect(strict.take('a', 600)).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(strict.take('a', 1000).ok).toBe(true); // the call at 0 ms has left the window
    expect(strict.take('a', 1000).ok).toBe(false); // the one at 1 ms has not
    expect(strict.take('b', 600).ok).toBe(true); // per account
  });

  it('counts calls whose checks come a hair out of arrival order (never more lenient)', () => {
    const l = new RateLimiter(2, 'sliding');
    expect(l.take('a', 10).ok).toBe(true);
    expect(l.take('a', 9.5).ok).toBe(true); // checked after the call at 10 ms, arrived before it
    expect(l.take('a', 9.8).ok).toBe(false); // both count
    expect(l.take('a', 1009.6).ok).toBe(true); // 9.5 has left the window, 10 has not
    expect(l.take('a', 1009.7).ok).toBe(false);
    expect(l.take('a', 1010.1).ok).toBe(true);
  });

  it('lets twice the rate through in one second in bucket mode (why it is not the default)', () => {
    const l = new RateLimiter(5, 'bucket');
    const admitted: number[] = [];
    for (let t = 0; t < 1000; t += 10) if (l.take('a', t).ok) admitted.push(t);
    expect(busiestWindow(admitted)).toBeGreaterThanOrEqual(9);
  });
});

describe('over HTTP', () => {
  it('uses the sliding window by default, switches to the bucket on request, and lists arrival times', async () => {
    const sim = await startSimulator({ quiet: true, size: 50, rateLimit: 4 });
    try {
      expect(sim.control.config().rateLimitMode).toBe('sliding');
      const auth = await token(sim.url);
      // 4 calls, then a 5th 500 ms after they started: inside the same second, so refused. On a
      // busy machine the 4 can take longer than that; such a try proves nothing, so after its
      // window has passed (1.1 s) it is made again.
      let t0 = 0;
      for (let attempt = 1; ; attempt++) {
        t0 = Date.now();
        const first = await Promise.all(Array.from({ length: 4 }, () => call(sim.url, 'balance', ACCOUNT.balance, auth)));
        expect(first.map((r) => r.status)).toEqual([200, 200, 200, 200]);
        if (Date.now() - t0 < 400 || attempt === 10) break;
        await new Promise((r) => setTimeout(r, 1100));
      }
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + 500 - Date.now())));
      const again = await call(sim.url, 'balance', ACCOUNT.balance, auth);
      expect(again.status).toBe(429); // a bucket would have refilled 2 by now
      expect(again.headers.get('retry-after')).toBe('1');
      expect(sim.control.stats().throttled).toBe(1);

      const arrivals = (await control(sim.url, 'GET', `/arrivals?since=${t0 - 1}`)).json.arrivals as number[];
      expect(arrivals).toHaveLength(5);
      expect(arrivals.every((t) => t >= t0 - 1 && t <= Date.now())).toBe(true);
      expect(busiestWindow(arrivals)).toBe(5); // all arrivals, throttled ones included

      expect((await control(sim.url, 'POST', '/config', { rateLimitMode: 'bucket' })).json.rateLimitMode).toBe('bucket');
      expect((await control(sim.url, 'POST', '/config', { rateLimitMode: 'fixed' })).status).toBe(400);
      expect(() => sim.control.configure({ rateLimitMode: 'fixed' as never })).toThrow(/rateLimitMode must be one of sliding, bucket, got "fixed"/);
    } finally {
      await sim.close();
    }
  });
});
