// The rate budget: callers asking for twice Haier's limit for 10 s are paced by the gateway,
// so the simulator (which answers 429 beyond its limit) never throttles a call, and the
// gateway still uses nearly all of the budget. A low limit (20/s) keeps the test cheap.
import { startStack, simCalls, type Stack } from './harness';

const LIMIT = 20;
const DRIVE_MS = 10_000;

describe('rate budget', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { size: 500, rateLimit: LIMIT }, env: { HAIER_RATE_LIMIT: String(LIMIT) } });
  });
  afterAll(() => s.close());

  it(`driving 2x the limit (${2 * LIMIT}/s against ${LIMIT}/s) for 10 s gets 0 throttled answers and close to the limit`, async () => {
    const codes = s.sim.control.products(0, 20).map((p) => p.productCode);
    await s.client.checkAuth({}); // token first: the measurement is about business calls
    s.sim.control.resetStats();

    // 2x the limit: 4 RPCs (one upstream call each: 20 codes) every 100 ms for 10 s.
    const calls: Array<Promise<number>> = [];
    const t0 = Date.now();
    let doneAt = 0;
    while (Date.now() - t0 < DRIVE_MS) {
      for (let i = 0; i < (2 * LIMIT) / 10; i++)
        calls.push(
          s.client.getPrices({ productCodes: codes }).then((r) => {
            doneAt = Date.now();
            return r.prices.length;
          }),
        );
      await new Promise((r) => setTimeout(r, 100));
    }
    const offered = calls.length;
    const upstreamDuringDrive = simCalls(s.sim, 'prices');
    const answered = await Promise.all(calls);
    const elapsedS = (doneAt - t0) / 1000;
    const stats = s.sim.control.stats();
    const achieved = stats.total / elapsedS;
    // eslint-disable-next-line no-console
    console.log(
      `rate budget: offered ${offered} calls in ${DRIVE_MS / 1000} s; ${stats.total} upstream calls in ${elapsedS.toFixed(1)} s = ${achieved.toFixed(1)}/s ` +
        `(${((100 * achieved) / LIMIT).toFixed(0)}% of ${LIMIT}/s); throttled ${stats.throttled}; max observed ${stats.maxObservedRps}/s; ${upstreamDuringDrive} during the drive`,
    );

    expect(offered).toBeGreaterThanOrEqual(2 * LIMIT * 9); // really drove ~2x for ~10 s
    expect(answered.every((n) => n === 20)).toBe(true); // every call answered in full
    expect(stats.throttled).toBe(0);
    expect(simCalls(s.sim, 'prices', 'throttled')).toBe(0);
    expect(stats.total).toBe(offered); // no retries were needed
    expect(achieved).toBeGreaterThan(LIMIT * 0.8);
    expect(achieved).toBeLessThanOrEqual(LIMIT * 1.05);
    expect(upstreamDuringDrive).toBeGreaterThan(LIMIT * (DRIVE_MS / 1000) * 0.75); // not idling while callers wait
    // the gateway's own counters agree
    const usage = await s.client.getUsage({});
    expect(usage.throttled).toBe(0n);
    expect(usage.rateLimitPerSecond).toBe(LIMIT);
  });
});
