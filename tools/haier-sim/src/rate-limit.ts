// A token bucket per account: capacity = rate, refilled at rate per second. rate 0 = unlimited.

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private rate: number) {}

  setRate(rate: number): void {
    this.rate = rate;
    this.buckets.clear();
  }

  /** Takes one token; when none is left, says how many whole seconds (>= 1) to wait. */
  take(account: string, now = performance.now()): { ok: true } | { ok: false; retryAfterSeconds: number } {
    if (this.rate <= 0) return { ok: true };
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
}
