// The gateway's INFO view of upstream traffic: each exchange is logged at DEBUG (with its
// redacted request), and every interval one INFO line per endpoint sums what happened since the
// last one (calls, outcomes, retries, mean and slowest duration). A quiet interval prints nothing.
import type { Logger } from '@haier-sync/runtime';

interface EndpointTally {
  calls: number;
  retries: number;
  totalMs: number;
  maxMs: number;
  outcomes: Record<string, number>;
}

export class CallSummary {
  private tallies = new Map<string, EndpointTally>();
  private since = Date.now();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {}

  /** One exchange (token requests included). */
  note(endpoint: string, outcome: string, attempt: number, ms: number): void {
    let t = this.tallies.get(endpoint);
    if (!t) this.tallies.set(endpoint, (t = { calls: 0, retries: 0, totalMs: 0, maxMs: 0, outcomes: {} }));
    t.calls++;
    if (attempt > 1) t.retries++;
    t.totalMs += ms;
    if (ms > t.maxMs) t.maxMs = ms;
    t.outcomes[outcome] = (t.outcomes[outcome] ?? 0) + 1;
    // the timer runs only while there is something to sum up
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Logs one line per endpoint seen since the last summary, and starts a new interval. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    const seconds = Math.round((now - this.since) / 1000);
    for (const [endpoint, t] of [...this.tallies].sort(([a], [b]) => a.localeCompare(b))) {
      this.logger.info(
        { upstream: endpoint, calls: t.calls, outcomes: t.outcomes, retries: t.retries, meanMs: Math.round(t.totalMs / t.calls), maxMs: Math.round(t.maxMs), seconds },
        `upstream ${endpoint}: ${t.calls} call${t.calls === 1 ? '' : 's'} in the last ${seconds} s`,
      );
    }
    this.tallies = new Map();
    this.since = now;
  }
}
