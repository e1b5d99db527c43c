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
