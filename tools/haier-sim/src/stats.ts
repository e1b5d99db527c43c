// Call counters by endpoint and outcome, and the busiest sliding 1-second window of business calls.
import type { SimStats } from './types';

export class StatsRecorder {
  private byEndpoint: Record<string, Record<string, number>> = {};
  private tokenRequests = 0;
  private total = 0;
  private throttled = 0;
  private maxObservedRps = 0;
  private window: number[] = [];
  private head = 0;

  /** A business call arrived (counts toward the sliding window). */
  arrival(now = performance.now()): void {
    this.total++;
    this.window.push(now);
    while (this.window[this.head]! <= now - 1000) this.head++;
    if (this.head > 4096) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
    this.maxObservedRps = Math.max(this.maxObservedRps, this.window.length - this.head);
  }

  tokenRequest(): void {
    this.tokenRequests++;
  }

  outcome(endpoint: string, outcome: string): void {
    const e = (this.byEndpoint[endpoint] ??= {});
    e[outcome] = (e[outcome] ?? 0) + 1;
    if (outcome === 'throttled') this.throttled++;
  }

  snapshot(): SimStats {
    return {
      byEndpoint: structuredClone(this.byEndpoint),
      tokenRequests: this.tokenRequests,
      total: this.total,
      throttled: this.throttled,
      maxObservedRps: this.maxObservedRps,
    };
  }

  reset(): void {
    this.byEndpoint = {};
    this.tokenRequests = this.total = this.throttled = this.maxObservedRps = 0;
    this.window = [];
    this.head = 0;
  }
}
