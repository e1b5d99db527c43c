// Mutations as a client sees them over HTTP: exact price-change share, delisted codes gone, added codes present.
import { startSimulator, type SimHandle } from '../src/index';
import { ACCOUNT, call, control, token } from './client';

// Generous on a shared 2-core machine: these walk large catalogs over HTTP.
jest.setTimeout(180_000);

let sim: SimHandle;
let auth: string;

beforeAll(async () => {
  sim = await startSimulator({ quiet: true, size: 1000, rateLimit: 0 });
  auth = await token(sim.url);
});
afterAll(() => sim.close());

async function fullList(): Promise<string[]> {
  const r = await call(sim.url, 'products', ACCOUNT.products, auth);
  expect(r.status).toBe(200);
  return r.json.data.map((p: { productCode: string }) => p.productCode);
}

async function prices(codes: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (let i = 0; i < codes.length; i += 20) {
    const r = await call(sim.url, 'prices', { ...ACCOUNT.prices, productCodes: codes.slice(i, i + 20) }, auth);
    // compare the raw row text: exact decimals, no float parsing
    for (const row of r.text.slice(r.text.indexOf('[') + 1, -2).split('},{')) out.set(/"productCode":"(\w+)"/.exec(row)![1]!, row);
  }
  return out;
}

it('changes exactly the requested share of prices and nothing else', async () => {
  const codes = await fullList();
  const before = await prices(codes);
  const { status, json } = await control(sim.url, 'POST', '/mutate', { priceChangeShare: 0.1, seed: 11 });
  expect(status).toBe(200);
  expect(json.priceChanged).toHaveLength(100);
  const after = await prices(codes);
  const differing = codes.filter((c) => before.get(c) !== after.get(c));
  expect(differing.sort()).toEqual([...json.priceChanged].sort());
});

it('drops delisted codes from the full list and adds new ones at its end', async () => {
  const before = await fullList();
  const m = sim.control.mutate({ delistShare: 0.05, addCount: 25, seed: 12 });
  expect(m.delisted).toHaveLength(50);
  const after = await fullList();
  expect(after).toHaveLength(before.length - 50 + 25);
  expect(sim.control.listedCount()).toBe(after.length);
  const listed = new Set(after);
  for (const c of m.delisted) expect(listed.has(c)).toBe(false);
  expect(after.slice(-25)).toEqual(m.added);
  const added = await call(sim.url, 'products', { ...ACCOUNT.products, productCodes: m.added.slice(0, 3) }, auth);
  expect(added.json.data.map((p: { productCode: string; isSales: unknown }) => p.productCode)).toEqual(m.added.slice(0, 3));
});

it('moves stock of the chosen products as the stock endpoint shows', async () => {
  const county = '310115';
  const withStock = sim.control.products(0, 1000).filter((p) => sim.control.stock(p.productCode, county).length > 0).map((p) => p.productCode);
  const before = new Map(withStock.map((c) => [c, JSON.stringify(sim.control.stock(c, county))]));
  const { stockMoved } = sim.control.mutate({ stockMoveShare: 0.2, seed: 13 });
  const moved = stockMoved.filter((c) => before.has(c));
  expect(moved.length).toBeGreaterThan(0);
  for (const c of moved.slice(0, 10)) {
    const r = await call(sim.url, 'stock', { ...ACCOUNT.stock, productCode: c, countyCode: county }, auth);
    expect(JSON.stringify(r.json.data)).not.toBe(before.get(c));
    expect(r.json.data).toEqual(sim.control.stock(c, county));
  }
});
