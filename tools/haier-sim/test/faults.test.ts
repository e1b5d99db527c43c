// Each fault kind over real HTTP, and the determinism of rate-based faults.
import { startSimulator, type SimHandle } from '../src/index';
import { ACCOUNT, call, control, token } from './client';

let sim: SimHandle;
let auth: string;

beforeAll(async () => {
  sim = await startSimulator({ quiet: true, size: 500, rateLimit: 0 });
  auth = await token(sim.url);
});
afterEach(() => sim.control.clearFaults());
afterAll(() => sim.close());

const balance = () => call(sim.url, 'balance', ACCOUNT.balance, auth);
const products = (codes: string[]) => call(sim.url, 'products', { ...ACCOUNT.products, productCodes: codes }, auth);

it('answers 500 and 503 at rate 1 and counts them', async () => {
  sim.control.resetStats();
  sim.control.faults({ rate500: 1 });
  const a = await balance();
  expect(a.status).toBe(500);
  expect(a.json).toMatchObject({ success: false, code: '500', data: null });
  sim.control.faults({ rate500: 0, rate503: 1 });
  expect((await balance()).status).toBe(503);
  expect(sim.control.stats().byEndpoint.balance).toEqual({ fault_500: 1, fault_503: 1 });
});

it('hangs then answers 504, or drops the socket, for timeouts', async () => {
  sim.control.faults({ timeoutRate: 1, timeoutMs: 150, timeoutAction: 'respond504' });
  const started = Date.now();
  expect((await balance()).status).toBe(504);
  expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  sim.control.faults({ timeoutAction: 'drop' });
  await expect(balance()).rejects.toThrow();
  sim.control.faults({ timeoutAction: 'alternate' });
  expect((await balance()).status).toBe(504);
  await expect(balance()).rejects.toThrow();
  expect(sim.control.stats().byEndpoint.balance?.timeout).toBeGreaterThanOrEqual(4);
});

it('answers HTTP 200 success:false for business errors', async () => {
  sim.control.faults({ businessErrorRate: 1 });
  const r = await balance();
  expect(r.status).toBe(200);
  expect(r.json).toEqual({ success: false, code: 'SYSTEM_BUSY', description: expect.any(String), timeStamp: expect.stringMatching(/^\d{14}$/), data: null });
});

it('corrupts one row per call for malformed faults, in each of the kinds', async () => {
  sim.control.faults({ malformedRate: 1 });
  const codes = sim.control.products(0, 20).map((p) => p.productCode);
  const kinds = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const r = await products(codes);
    expect(r.status).toBe(200);
    const bad = (r.json.data as Record<string, unknown>[]).filter(
      (row) => row.productCode === undefined || row.isSales === 'x' || !Array.isArray(row.productLageUrls) || row.supplyPrice === 'abc',
    );
    expect(bad).toHaveLength(1);
    const row = bad[0]!;
    kinds.add(row.productCode === undefined ? 'code' : row.isSales === 'x' ? 'isSales' : row.supplyPrice === 'abc' ? 'price' : 'lage');
  }
  expect(kinds).toEqual(new Set(['code', 'isSales', 'price', 'lage']));
  const prices = await call(sim.url, 'prices', { ...ACCOUNT.prices, productCodes: codes }, auth);
  expect(prices.status).toBe(200);
  expect(sim.control.stats().byEndpoint.products?.malformed).toBeGreaterThanOrEqual(40);
});

it('fails the next N calls with 401 even with a valid token', async () => {
  sim.control.faults({ fail401Next: 2 });
  expect((await balance()).status).toBe(401);
  expect((await balance()).status).toBe(401);
  expect((await balance()).status).toBe(200);
});

it('fails the next calls of one endpoint with a chosen status', async () => {
  const codes = sim.control.products(0, 2).map((p) => p.productCode);
  expect((await control(sim.url, 'POST', '/faults', { failNext: { status: 503, count: 2, endpoint: 'prices' } })).status).toBe(200);
  expect((await products(codes)).status).toBe(200);
  const price = () => call(sim.url, 'prices', { ...ACCOUNT.prices, productCodes: codes }, auth);
  expect((await price()).status).toBe(503);
  expect((await price()).status).toBe(503);
  expect((await price()).status).toBe(200);
  sim.control.faults({ failNext: { status: 403, count: 1 } });
  expect((await balance()).status).toBe(403);
  expect((await control(sim.url, 'DELETE', '/faults')).json.failNext).toBeUndefined();
});

it('rolls rate faults deterministically for a given seed', async () => {
  const run = async () => {
    const s = await startSimulator({ quiet: true, size: 10, rateLimit: 0, seed: 7 });
    try {
      const t = await token(s.url);
      s.control.faults({ rate500: 0.3, rate503: 0.2 });
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await call(s.url, 'balance', ACCOUNT.balance, t)).status);
      return statuses;
    } finally {
      await s.close();
    }
  };
  const a = await run();
  expect(await run()).toEqual(a);
  expect(new Set(a)).toEqual(new Set([200, 500, 503]));
});
