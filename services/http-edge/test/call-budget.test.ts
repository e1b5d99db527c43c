// Live lookups spend the key's share of the Haier budget by what they cost upstream (20 codes a
// call), per role: a viewer's 1,000-code lookups stop at its cap with a 429 that says why, before
// any call reaches Haier, while an operator's lookups go on.
import { startEdgeStack, type EdgeStack } from './stack';

let s: EdgeStack;
let codes: string[];

beforeAll(async () => {
  s = await startEdgeStack({ sim: { size: 1200, rateLimit: 0 }, edgeEnv: { EDGE_CALL_BUDGET_VIEWER: '60', EDGE_CALL_BUDGET_OPERATOR: '600' } });
  codes = s.sim.control.products(0, 1200).map((p) => p.productCode);
}, 180_000);

afterAll(async () => {
  await s?.close();
});

const pricesOf = (n: number, from = 0) => `/api/haier/prices/?product_codes=${codes.slice(from, from + n).join(',')}`;

test("a viewer's 1,000-code lookups are refused with 429 once its call budget is spent; nothing reaches Haier; an operator's lookups pass", async () => {
  const first = await s.request('GET', pricesOf(1000), { key: s.keys.viewer });
  expect(first.status).toBe(200); // 50 of its 60 calls a minute
  const before = s.sim.control.stats().total;
  const second = await s.request('GET', pricesOf(1000), { key: s.keys.viewer });
  expect(second.status).toBe(429);
  expect(second.json.error.code).toBe('CALL_BUDGET');
  expect(second.json.error.message).toMatch(/^This request would cost 50 Haier calls and key "stack-viewer" \(viewer\) has 10 of its 60 per minute left; retry after \d+ s, or ask for fewer product codes\.$/);
  expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(Number(second.headers.get('retry-after'))).toBeLessThanOrEqual(60);
  expect(s.sim.control.stats().total).toBe(before); // refused before the gateway
  // what is left still buys a small lookup: 100 codes are 5 calls
  expect((await s.request('GET', pricesOf(100), { key: s.keys.viewer })).status).toBe(200);
  // another key, another role, its own budget
  for (let i = 0; i < 3; i++) expect((await s.request('GET', pricesOf(1000, 100), { key: s.keys.operator })).status).toBe(200);
});

test('one lookup costing more than the role may spend in a minute is refused outright, naming how many codes fit', async () => {
  const small = await startEdgeStack({ sim: { size: 1200, rateLimit: 0 }, orchestrator: false, edgeEnv: { EDGE_CALL_BUDGET_VIEWER: '40' } });
  try {
    const all = small.sim.control.products(0, 1000).map((p) => p.productCode);
    const r = await small.request('GET', `/api/haier/prices/?product_codes=${all.join(',')}`, { key: small.keys.viewer });
    expect(r.status).toBe(429);
    expect(r.json.error.message).toBe('This request would cost 50 Haier calls, more than a viewer key may spend in a minute (40); ask for at most 800 product codes at a time.');
    expect(r.headers.get('retry-after')).toBe('60');
  } finally {
    await small.close();
  }
}, 120_000);

test("a live lookup the gateway's interactive lane cannot start soon is 429 LANE_FULL with Retry-After and a message, not a long wait", async () => {
  // the gateway's budget is 19 calls/s, its interactive lane 9 a second, refused past 2 s of it
  const small = await startEdgeStack({
    sim: { size: 1200, rateLimit: 20 },
    orchestrator: false,
    gatewayEnv: { HAIER_RATE_LIMIT: '20', HAIER_INTERACTIVE_MAX_WAIT_MS: '2000' },
    edgeEnv: { EDGE_CALL_BUDGET_OPERATOR: '6000' },
  });
  try {
    const all = small.sim.control.products(0, 1200).map((p) => p.productCode);
    const started = performance.now();
    // five 200-code lookups at once (10 calls each): two fit the lane's next 2 s, three do not
    const answers = await Promise.all(
      [0, 1, 2, 3, 4].map(async (i) => {
        const r = await small.request('GET', `/api/haier/prices/?product_codes=${all.slice(i * 200, i * 200 + 200).join(',')}`, { key: small.keys.operator });
        return { r, at: performance.now() - started };
      }),
    );
    const refused = answers.filter((a) => a.r.status === 429);
    expect(answers.filter((a) => a.r.status === 200)).toHaveLength(2);
    expect(refused).toHaveLength(3);
    for (const { r, at } of refused) {
      expect(r.json.error.code).toBe('LANE_FULL');
      expect(r.json.error.message).toMatch(/^Live lookups are using their whole share of the Haier call budget: the interactive lane of the Haier call budget is full .*; retry after \d+ s\. Retry after \d+ s, or ask for fewer product codes\.$/);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(at).toBeLessThan(1500); // answered at once, not after the lane's queue
      // the lane's limits in the body, for a client to show: cap 9 a second, this lookup's 10 calls, the same Retry-After
      expect(r.json.error.budget).toMatchObject({ scope: 'lane', lane: 'interactive', limit: 9, window_s: 1, cost: 10, retry_after_s: Number(r.headers.get('retry-after')) });
      expect(r.json.error.budget.in_use).toBeGreaterThanOrEqual(10);
    }
    // one lookup that can never fit the bound says how much would
    const big = await small.request('GET', `/api/haier/prices/?product_codes=${all.slice(0, 1000).join(',')}`, { key: small.keys.operator });
    expect(big.status).toBe(429);
    expect(big.json.error.message).toContain("ask for fewer product codes (at most 27 calls' worth)");
  } finally {
    await small.close();
  }
}, 120_000);

test("per-product actions (sync-price, sync-stock) spend the key's call budget: two calls each, 429 past it", async () => {
  const small = await startEdgeStack({ sim: { size: 30, rateLimit: 0 }, firstDeploy: true, edgeEnv: { EDGE_CALL_BUDGET_OPERATOR: '5' } });
  try {
    const code = small.sim.control.products(0, 30).find((p) => p.isSales === '1')!.productCode;
    // the first deployment's FULL run fills the catalog
    const deadline = Date.now() + 60_000;
    while ((await small.request('GET', `/api/haier/catalog/products/${code}/`, { key: small.keys.viewer })).status !== 200) {
      if (Date.now() > deadline) throw new Error('the first FULL run did not fill the catalog within 60 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    expect((await small.request('POST', `/api/haier/catalog/products/${code}/sync-price/`, { key: small.keys.operator })).status).toBe(200); // 2 of 5
    expect((await small.request('POST', `/api/haier/catalog/products/${code}/sync-stock/`, { key: small.keys.operator, body: { county_code: '110101' } })).status).toBe(200); // 4 of 5
    const third = await small.request('POST', `/api/haier/catalog/products/${code}/sync-price/`, { key: small.keys.operator });
    expect(third.status).toBe(429);
    expect(third.json.error.code).toBe('CALL_BUDGET');
    expect(third.json.error.budget).toEqual({ scope: 'key', lane: 'operator', limit: 5, window_s: 60, in_use: 4, cost: 2, retry_after_s: Number(third.headers.get('retry-after')) });
    expect(third.json.error.message).toMatch(/^This request would cost 2 Haier calls and key "stack-operator" \(operator\) has 1 of its 5 per minute left; retry after \d+ s/);
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThan(0);
  } finally {
    await small.close();
  }
}, 180_000);
