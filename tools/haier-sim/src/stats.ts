// Call counters by endpoint and outcome, and the busiest sliding 1-second window of business calls.
import type { SimStats } from './types';

const ARRIVALS_KEPT = 262_144;

export class StatsRecorder {
  private byEndpoint: Record<string, Record<string, number>> = {};
  private tokenRequests = 0;
  private total = 0;
  private throttled = 0;
  private maxObservedRps = 0;
  private imageOutcomes: Record<string, number> = {};
  private imageBytes = 0;
  private window: number[] = [];
  private head = 0;
  /** Arrival times (epoch ms) of the last ARRIVALS_KEPT business calls: a ring, `count` written so far. */
  private readonly ring = new Float64Array(ARRIVALS_KEPT);
  private count = 0;

  /** A business call arrived (counts toward the sliding window). */
  arrival(now = performance.now()): void {
    this.total++;
    this.ring[this.count++ % ARRIVALS_KEPT] = performance.timeOrigin + now;
    this.window.push(now);
    while (this.window[this.head]! <= now - 1000) this.head++;
    if (this.head > 4096) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
    this.maxObservedRps = Math.max(this.maxObservedRps, this.window.length - this.head);
  }

  /** Arrival times (epoch ms, ascending) since `sinceMs` among the last ARRIVALS_KEPT. */
  arrivals(sinceMs = -Infinity): number[] {
    const out: number[] = [];
    for (let i = Math.max(0, this.count - ARRIVALS_KEPT); i < this.count; i++) {
      const t = this.ring[i % ARRIVALS_KEPT]!;
      if (t >= sinceMs) out.push(t);
    }
    return out;
  }

  tokenRequest(): void {
    this.tokenRequests++;
  }

  outcome(endpoint: string, outcome: string): void {
    const e = (this.byEndpoint[endpoint] ??= {});
    e[outcome] = (e[outcome] ?? 0) + 1;
    if (outcome === 'throttled') this.throttled++;
  }

  /** An image request answered with `outcome`, `bytes` of body sent. */
  image(outcome: string, bytes: number): void {
    this.imageOutcomes[outcome] = (this.imageOutcomes[outcome] ?? 0) + 1;
    this.imageBytes += bytes;
  }

  snapshot(): SimStats {
    return {
      byEndpoint: structuredClone(this.byEndpoint),
      tokenRequests: this.tokenRequests,
      total: this.total,
      throttled: this.throttled,
      maxObservedRps: this.maxObservedRps,
      images: { byOutcome: { ...this.imageOutcomes }, bytesSent: this.imageBytes },
    };
  }

  reset(): void {
    this.byEndpoint = {};
    this.tokenRequests = this.total = this.throttled = this.maxObservedRps = this.imageBytes = 0;
    this.imageOutcomes = {};
    this.window = [];
    this.head = 0;
    this.count = 0;
  }
}

/** The most of `times` (ascending, ms) in any sliding window of `windowMs` (a call at t counts in [t, t + windowMs)). */
export function busiestWindow(times: readonly number[], windowMs = 1000): number {
  let most = 0;
  for (let lo = 0, hi = 0; hi < times.length; hi++) {
    while (times[lo]! <= times[hi]! - windowMs) lo++;
    most = Math.max(most, hi - lo + 1);
  }
  return most;
}
