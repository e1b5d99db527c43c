// Counters of upstream calls since the gateway started, for GetUsage.

/** Outcome names, aligned with the simulator's: ok, throttled, unauthorized, bad_request, … */
export function outcomeOf(status: number | undefined, kind?: 'timeout' | 'network' | 'business' | 'bad-body'): string {
  if (kind === 'timeout') return 'timeout';
  if (kind === 'network') return 'network_error';
  if (kind === 'business') return 'business_error';
  if (kind === 'bad-body') return 'bad_body';
  switch (status) {
    case 200:
      return 'ok';
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 429:
      return 'throttled';
    default:
      return status !== undefined && status >= 500 ? `fault_${status}` : `http_${status ?? 'unknown'}`;
  }
}

export class UsageCounters {
  private readonly byKey = new Map<string, number>();
  totalCalls = 0;
  throttled = 0;
  retries = 0;
  tokenRequests = 0;

  /** One upstream HTTP exchange (token calls included) and how it ended. */
  record(endpoint: string, outcome: string): void {
    this.totalCalls++;
    if (outcome === 'throttled') this.throttled++;
    const key = `${endpoint}\u0000${outcome}`;
    this.byKey.set(key, (this.byKey.get(key) ?? 0) + 1);
  }

  retry(): void {
    this.retries++;
  }

  tokenRequest(): void {
    this.tokenRequests++;
  }

  endpoints(): Array<{ endpoint: string; outcome: string; calls: number }> {
    return [...this.byKey.entries()]
      .map(([k, calls]) => {
        const [endpoint = '', outcome = ''] = k.split('\u0000');
        return { endpoint, outcome, calls };
      })
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint) || a.outcome.localeCompare(b.outcome));
  }
}
