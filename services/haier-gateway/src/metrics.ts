// The gateway's Prometheus metrics: every upstream HTTP exchange by endpoint, outcome and whether
// it was a retry; its duration; token refreshes; and, read at each scrape, the budget used in the
// last second and the calls waiting for a slot or the budget. The gateway has one budget (one
// rate gate for every business call), so there is no per-lane label. Counters only on the call
// path: labels are the endpoint name, the outcome word and retry=true|false (a few dozen series).
import { Counter, gaugeFrom, Histogram, type Registry } from '@haier-sync/runtime';

const UPSTREAM_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** What the upstream client tells the metrics. */
export interface UpstreamObserver {
  /** One HTTP exchange with Haier (token requests included) and how it ended. */
  exchange(endpoint: string, outcome: string, attempt: number, seconds: number): void;
  /** One refresh of the shared access token (own account), ok or failed. */
  tokenRefresh(ok: boolean): void;
}

/** What the scrape reads from the upstream client. */
export interface UpstreamGauges {
  /** Calls waiting for a concurrency slot or for the rate budget. */
  queued(): number;
  /** Business calls started in the last second. */
  inWindow(): number;
  /** HAIER_RATE_LIMIT: business calls per second at most. */
  readonly rateLimit: number;
}

export function gatewayMetrics(registry: Registry): UpstreamObserver & { watch(client: UpstreamGauges): void } {
  const requests = new Counter({
    name: 'haier_upstream_requests_total',
    help: 'HTTP exchanges with Haier, by endpoint, outcome (ok, throttled, unauthorized, timeout, network_error, business_error, fault_5xx, ...) and retry (true for a retried attempt)',
    labelNames: ['endpoint', 'outcome', 'retry'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'haier_upstream_request_duration_seconds',
    help: 'Duration of one HTTP exchange with Haier, by endpoint',
    labelNames: ['endpoint'] as const,
    buckets: UPSTREAM_BUCKETS,
    registers: [registry],
  });
  const refreshes = new Counter({
    name: 'haier_token_refreshes_total',
    help: 'Access-token fetches for the gateway account (first, ahead of expiry, after a 401), by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    exchange(endpoint, outcome, attempt, seconds) {
      requests.inc({ endpoint, outcome, retry: attempt > 1 ? 'true' : 'false' });
      duration.observe({ endpoint }, seconds);
    },
    tokenRefresh(ok) {
      refreshes.inc({ outcome: ok ? 'ok' : 'failed' });
    },
    watch(client) {
      gaugeFrom(registry, 'haier_upstream_queue_depth', 'Upstream calls waiting for a concurrency slot or the rate budget', () => client.queued());
      gaugeFrom(registry, 'haier_upstream_rate_limit_per_second', 'This replica\'s share of the call budget now: business calls per second at most (HAIER_RATE_LIMIT less the margin, split among the live replicas)', () => client.rateLimit);
      gaugeFrom(registry, 'haier_upstream_budget_used_ratio', 'Share of this replica\'s call budget in use: calls in flight or ended within the last window, over its share of the limit (1 = saturated)', () => client.inWindow() / Math.max(1, client.rateLimit));
    },
  };
}
