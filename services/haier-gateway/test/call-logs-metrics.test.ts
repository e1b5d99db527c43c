// What 1,000 upstream calls leave behind at the default log level (INFO): one summary line per
// endpoint instead of one line per call (each call is a DEBUG line, with its redacted request);
// and what they leave in the gateway's Prometheus metrics.
import { createMetricsRegistry, type Registry } from '@haier-sync/runtime';
import { startStack, type Stack } from './harness';

jest.setTimeout(120_000);

const CALLS = 1000;

async function callBalance(s: Stack, n: number): Promise<void> {
  for (let done = 0; done < n; done += 50) await Promise.all(Array.from({ length: Math.min(50, n - done) }, () => s.client.getBalance({})));
}

describe('gateway: upstream call logs and metrics', () => {
  let s: Stack | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  it(`at INFO, ${CALLS} upstream calls print one summary line per endpoint (calls, outcomes, retries, durations), not a line per call`, async () => {
    s = await startStack({ sim: { rateLimit: 5000 }, env: { HAIER_RATE_LIMIT: '2000', GATEWAY_CALL_SUMMARY_INTERVAL: '1h' }, logLevel: 'info' });
    const atStart = s.logs.lines().length; // the "listening" line
    await callBalance(s, CALLS);
    expect(s.logs.lines().slice(atStart)).toEqual([]); // the summary's hour has not passed: nothing yet
    await s.gw.close(); // closing prints the summary of the interval so far
    const lines = s.logs.lines().slice(atStart);
    const summaries = lines.filter((l) => String(l.msg).startsWith('upstream '));
    expect(summaries.map((l) => l.upstream).sort()).toEqual(['balance', 'token']);
    expect(summaries.find((l) => l.upstream === 'balance')).toMatchObject({ level: 'info', calls: CALLS, outcomes: { ok: CALLS }, retries: 0, meanMs: expect.any(Number), maxMs: expect.any(Number) });
    expect(summaries.find((l) => l.upstream === 'token')).toMatchObject({ calls: 1, outcomes: { ok: 1 } });
    expect(lines.length).toBe(2); // per 1,000 upstream calls: 2 lines (was 1,001, one per exchange)
  });

  it('at DEBUG every exchange is still one line with its redacted request; a failed exchange is a WARN line at any level', async () => {
    s = await startStack({ logLevel: 'debug', env: { HAIER_MAX_RETRIES: '0' } });
    await callBalance(s, 20);
    const perCall = s.logs.lines().filter((l) => l.msg === 'upstream call');
    expect(perCall).toHaveLength(21); // 20 balance calls and the token
    for (const l of perCall) expect(l).toMatchObject({ level: 'debug', upstream: expect.any(String), outcome: 'ok', durationMs: expect.any(Number), request: expect.anything() });
    s.sim.control.faults({ businessErrorRate: 1 });
    await s.client.getBalance({}).catch(() => undefined);
    expect(s.logs.lines().filter((l) => l.msg === 'upstream call failed')).toEqual([expect.objectContaining({ level: 'warn', upstream: 'balance', outcome: 'business_error' })]);
  });

  it('counts every exchange by endpoint, outcome and retry, times it, counts token refreshes, and reads the budget and queue at scrape time', async () => {
    const registry: Registry = createMetricsRegistry('haier-gateway');
    s = await startStack({ sim: { rateLimit: 5000 }, env: { HAIER_RATE_LIMIT: '1000', HAIER_MAX_RETRIES: '2' }, logLevel: 'warn', metrics: registry, backoff: { initialDelayMs: 5, maxDelayMs: 20 } });
    await callBalance(s, 200);
    const budget = await registry.getSingleMetricAsString('haier_upstream_budget_used_ratio');
    s.sim.control.faults({ rate500: 1 });
    await s.client.getBalance({}).catch(() => undefined);
    s.sim.control.clearFaults();
    const text = await registry.metrics();
    expect(text).toContain('haier_upstream_requests_total{endpoint="balance",outcome="ok",retry="false",service="haier-gateway"} 200');
    expect(text).toMatch(/haier_upstream_requests_total\{endpoint="balance",outcome="fault_500",retry="false",service="haier-gateway"\} 1\n/);
    expect(text).toMatch(/haier_upstream_requests_total\{endpoint="balance",outcome="fault_500",retry="true",service="haier-gateway"\} 2\n/);
    expect(text).toContain('haier_upstream_requests_total{endpoint="token",outcome="ok",retry="false",service="haier-gateway"} 1');
    expect(text).toContain('haier_upstream_request_duration_seconds_count{service="haier-gateway",endpoint="balance"} 203');
    expect(text).toContain('haier_token_refreshes_total{outcome="ok",service="haier-gateway"} 1');
    // this replica's share: HAIER_RATE_LIMIT 1,000 less the 5% safety margin (HAIER_RATE_MARGIN_PCT), one replica
    expect(text).toContain('haier_upstream_rate_limit_per_second{service="haier-gateway"} 950');
    expect(text).toContain('haier_upstream_queue_depth{service="haier-gateway"} 0');
    // right after 200 calls in well under a second: part of the 1,000/s budget is in use
    const used = Number(/ ([0-9.e-]+)\n?$/.exec(budget.trim())![1]);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(1);
    expect(text).toMatch(/rpc_server_requests_total\{method="haiersync\.gateway\.v1\.HaierGatewayService\/GetBalance",code="OK",service="haier-gateway"\} 200/);
  });
});
