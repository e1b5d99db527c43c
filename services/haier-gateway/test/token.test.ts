// Token lifecycle against the simulator: one token for a cold burst, refresh on expiry,
// recovery from revoked tokens and stray 401s — all without a failed call.
// The simulator starts with hour-long tokens (so the cold burst cannot race a refresh on a
// loaded machine); the later tests switch it to 3-second tokens.
import { startStack, simCalls, type Stack } from './harness';

describe('token lifecycle', () => {
  let s: Stack;
  let codes: string[];
  beforeAll(async () => {
    s = await startStack({ sim: { size: 500, rateLimit: 0 }, env: { HAIER_TOKEN_REFRESH_MARGIN_S: '1', HAIER_RATE_LIMIT: '1000' } });
    codes = s.sim.control.products(0, 40).map((p) => p.productCode);
  });
  afterAll(() => s.close());

  it('100 concurrent calls on a cold gateway cause exactly 1 token request', async () => {
    expect(s.gw.client.tokens.peek()).toBeUndefined();
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => s.client.getPrices({ productCodes: [codes[i % codes.length]!] })));
    expect(answers.every((a) => a.prices.length === 1)).toBe(true);
    expect(s.sim.control.stats().tokenRequests).toBe(1);
    expect(simCalls(s.sim, 'prices', 'ok')).toBe(100);
    // the gateway counted the same: one token request, 100 business calls
    const usage = await s.client.getUsage({});
    expect(usage.tokenRequests).toBe(1n);
    expect(usage.endpoints).toContainEqual(expect.objectContaining({ endpoint: 'prices', outcome: 'ok', calls: 100n }));
  });

  it('a token expiring mid-run is refreshed without a failed call', async () => {
    s.sim.control.configure({ tokenTtlSeconds: 3 });
    const r = await s.client.checkAuth({}); // now holding a 3-second token
    expect(Number(r.tokenExpiresAt!.seconds) * 1000 - Date.now()).toBeLessThan(4000);
    const before = s.sim.control.stats().tokenRequests;
    const deadline = Date.now() + 4500; // longer than the 3 s token lifetime
    let calls = 0;
    while (Date.now() < deadline) {
      const batch = await Promise.all(Array.from({ length: 5 }, (_, i) => s.client.getPrices({ productCodes: [codes[i]!] })));
      expect(batch.every((a) => a.prices.length === 1 && a.errors.length === 0)).toBe(true);
      calls += 5;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(calls).toBeGreaterThan(50);
    expect(s.sim.control.stats().tokenRequests).toBeGreaterThanOrEqual(before + 1); // refreshed at least once (due 2 s into a 3 s token)
  });

  it('revoked tokens are replaced once and the calls succeed', async () => {
    await s.client.getPrices({ productCodes: [codes[0]!] }); // a fresh token is cached
    const before = s.sim.control.stats().tokenRequests;
    const unauthorizedBefore = simCalls(s.sim, 'prices', 'unauthorized');
    s.sim.control.revokeTokens();
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => s.client.getPrices({ productCodes: [codes[i]!] })));
    expect(answers.every((a) => a.prices.length === 1)).toBe(true);
    expect(simCalls(s.sim, 'prices', 'unauthorized')).toBeGreaterThan(unauthorizedBefore);
    expect(s.sim.control.stats().tokenRequests).toBe(before + 1);
  });

  it('stray 401s (fail401Next) are absorbed by one refresh and one retry each', async () => {
    s.sim.control.faults({ fail401Next: 3 });
    const answers = await Promise.all(Array.from({ length: 3 }, (_, i) => s.client.getProducts({ productCodes: [codes[i]!] })));
    expect(answers.map((a) => a.products[0]?.productCode)).toEqual(codes.slice(0, 3));
    expect(simCalls(s.sim, 'products', 'unauthorized')).toBe(3);
  });

  it('CheckAuth fetches a fresh token and says when it expires', async () => {
    const before = s.sim.control.stats().tokenRequests;
    const r = await s.client.checkAuth({});
    expect(r.ok).toBe(true);
    expect(r.message).toMatch(/expires in \d+ s/);
    expect(r.tokenExpiresAt).toBeDefined();
    expect(s.sim.control.stats().tokenRequests).toBe(before + 1);
  });
});
