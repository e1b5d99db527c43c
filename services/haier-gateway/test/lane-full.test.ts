// The interactive lane's bound: a live request the lane cannot start within
// HAIER_INTERACTIVE_MAX_WAIT_MS is refused at once (RESOURCE_EXHAUSTED with retry-after and
// x-haier-budget: lane-full; the edge answers 429) instead of waiting behind the lane's cap;
// other lanes still queue.
import { Code } from '@connectrpc/connect';
import { rpcFailure, simCalls, startStack, type Stack } from './harness';

const interactive = { headers: { 'x-haier-lane': 'interactive' } };

describe('a full interactive lane', () => {
  let s: Stack;
  let codes: string[];
  beforeAll(async () => {
    // 19 calls/s for the gateway; the interactive lane's cap is half: 9 a second; bound 2 s
    s = await startStack({ sim: { size: 1000, rateLimit: 20 }, env: { HAIER_RATE_LIMIT: '20', HAIER_INTERACTIVE_MAX_WAIT_MS: '2000' } });
    await s.client.checkAuth({});
    codes = s.sim.control.products(0, 1000).map((p) => p.productCode);
  });
  afterAll(() => s.close());

  it('refuses the lookups that could not start within the bound, with retry-after, and answers the rest', async () => {
    const before = simCalls(s.sim, 'prices');
    // five 200-code lookups at once: 10 calls each, 50 in all, over 5 s of the lane's cap
    const started = performance.now();
    const outcomes = await Promise.all(
      [0, 1, 2, 3, 4].map((i) =>
        s.client.getPrices({ productCodes: codes.slice(i * 200, i * 200 + 200) }, interactive).then(
          (r) => ({ ok: true as const, prices: r.prices.length }),
          (e: unknown) => ({ ok: false as const, error: e, at: performance.now() - started }),
        ),
      ),
    );
    const answered = outcomes.filter((o) => o.ok);
    const refused = outcomes.filter((o) => !o.ok);
    // the lane holds 9 a second: two requests (20 calls) start within 2 s, the others cannot
    expect(answered).toHaveLength(2);
    for (const a of answered) expect(a).toEqual({ ok: true, prices: 200 });
    expect(refused).toHaveLength(3);
    for (const r of refused) {
      const e = await rpcFailure(Promise.reject(r.error));
      expect(e.code).toBe(Code.ResourceExhausted);
      expect(e.metadata.get('x-haier-budget')).toBe('lane-full');
      expect(Number(e.metadata.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(e.rawMessage).toMatch(/^the interactive lane of the Haier call budget is full \(\d+ calls in use or admitted, cap 9 a second\): this request's 10 calls could not start within 2000 ms; retry after \d+ s$/);
      // refused at once: before the admitted requests' calls could even have started (20 calls at 9 a second)
      expect(r.at).toBeLessThan(1000);
    }
    // a refused request spent nothing upstream
    expect(simCalls(s.sim, 'prices') - before).toBe(20);
  }, 30_000);

  it('says to ask for fewer codes when a request can never fit the bound', async () => {
    const e = await rpcFailure(s.client.getPrices({ productCodes: codes }, interactive)); // 50 calls
    expect(e.code).toBe(Code.ResourceExhausted);
    expect(e.metadata.get('x-haier-budget')).toBe('lane-full');
    expect(e.rawMessage).toBe(
      "this request needs 50 Haier calls and the interactive lane starts at most 9 a second (its cap, HAIER_LANES), more than fit in 2000 ms; ask for fewer product codes (at most 27 calls' worth)",
    );
  });

  it('lets the same request through once the lane has room again, and never refuses other lanes', async () => {
    await new Promise((r) => setTimeout(r, 1100)); // the earlier calls leave the window
    expect((await s.client.getPrices({ productCodes: codes.slice(0, 200) }, interactive)).prices).toHaveLength(200);
    // the bulk lane queues: 1,000 codes (50 calls) in bulk are answered, slowly
    expect((await s.client.getPrices({ productCodes: codes }, { headers: { 'x-haier-lane': 'bulk' } })).prices).toHaveLength(1000);
  }, 30_000);
});
