// The per-account rate limit, in one of two ways of counting (rateLimit 0 = unlimited):
//  - 'sliding' (default): at most `rate` calls admitted in ANY sliding 1-second window, counted
//    at arrival. This is the strict reading of "N calls per second" (what an independent
//    stand-in for Haier counts), so a client that bursts at window edges is throttled.
//  - 'bucket': a token bucket of capacity `rate` refilled at `rate`/s (the original mode). It is
//    lenient: a full bucket plus a second's refill lets up to 2x `rate` through in one second.
// Calls refused with 429 do not count toward the window (only admitted calls are served).

export type RateLimitMode = 'sliding' | 'bucket';
export const RATE_LIMIT_MODES: readonly RateLimitMode[] = ['sliding', 'bucket'];

interface Bucket {
  tokens: number;
  at: number;
}

/** Admitted arrival times (ms, ascending) of one account's calls in the last second or so. */
interface Window {
  times: number[];
  head: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly windows = new Map<string, Window>();

  constructor(
    private rate: number,
    private mode: RateLimitMode = 'sliding',
  ) {}

  setRate(rate: number): void {
    this.rate = rate;
    this.buckets.clear();
    this.windows.clear();
  }

  setMode(mode: RateLimitMode): void {
    this.mode = mode;
    this.buckets.clear();
    this.windows.clear();
  }

  /** Admits one call that arrived at `now` (ms); when refused, says how many whole seconds (>= 1) to wait. */
  take(account: string, now = performance.now()): Take {
    if (this.rate <= 0) return { ok: true };
    return this.mode === 'sliding' ? this.takeSliding(account, now) : this.takeBucket(account, now);
  }

  private takeBucket(account: string, now: number): Take {
    const b = this.buckets.get(account) ?? { tokens: this.rate, at: now };
    b.tokens = Math.min(this.rate, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    this.buckets.set(account, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.rate)) };
  }

  private takeSliding(account: string, now: number): Take {
    let w = this.windows.get(account);
    if (!w) this.windows.set(account, (w = { times: [], head: 0 }));
    const { times } = w;
    // Calls are checked in the order their bodies were read, which can differ from their arrival
    // order by a fraction of a millisecond: keep the times sorted, and count every admitted call
    // after now-1000 (those a hair later than `now` included: stricter, never more lenient).
    while (w.head < times.length && times[w.head]! <= now - 1000) w.head++;
    if (w.head > 1024) {
      times.splice(0, w.head);
      w.head = 0;
    }
    const inWindow = times.length - w.head;
    if (inWindow >= this.rate) {
      // the call that must leave the window before one more fits
      const leaving = times[times.length - this.rate]!;
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((leaving + 1000 - now) / 1000)) };
    }
    let i = times.length;
    while (i > w.head && times[i - 1]! > now) i--;
    times.splice(i, 0, now);
    return { ok: true };
  }
}
