// Scoped runs (category, brand, limit, named codes), stock of the configured counties, and the
// LOW_STOCK incremental run (only products below the threshold are asked about).
import { sync } from '@haier-sync/contracts';
import { count, runToEnd, startStack, statusName, type Stack } from './stack';

jest.setTimeout(120_000);

const SIZE = 300;

describe('scoped runs and stock', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ sim: { size: SIZE, seed: 13 }, env: { SYNC_COUNTIES: '110101', SYNC_LOW_STOCK_THRESHOLD: '40' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const listed = () => stack.sim.control.products(0, SIZE).filter((p) => p.listed);

  test('a category scope syncs that category only and delists nothing', async () => {
    const category = listed()[0]!.productGroupNamd;
    const want = listed().filter((p) => p.productGroupNamd === category);
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, scope: { category }, startedBy: 'test' });
    expect(statusName(run.status)).toBe('SUCCESS');
    expect(Number(run.counts?.total)).toBe(want.length);
    const rows = await stack.pg.query<{ code: string }>(`select code from catalog.product`);
    expect(new Set(rows.rows.map((r) => r.code))).toEqual(new Set(want.map((p) => p.productCode)));
  });

  test('a brand scope with a limit takes at most that many of the brand', async () => {
    const brand = listed()[1]!.productBrandName;
    const ofBrand = listed().filter((p) => p.productBrandName === brand);
    const limit = Math.max(1, Math.min(5, ofBrand.length - 1));
    const run = await runToEnd(stack, { scope: { brand, limit }, options: { prices: true }, startedBy: 'test' });
    expect(statusName(run.status)).toBe('SUCCESS');
    expect(Number(run.counts?.total)).toBe(limit);
    expect(run.counts?.delisted).toBe(0n);
  });

  test('named codes with stock: products, prices and the county stock; an unknown code fails with its reason', async () => {
    const codes = listed().slice(0, 30).map((p) => p.productCode);
    const run = await runToEnd(stack, { scope: { productCodes: [...codes, 'NOSUCH123'] }, options: { prices: true, stock: true, countyCodes: ['110101'] }, startedBy: 'test' });
    expect(statusName(run.status)).toBe('PARTIAL');
    expect(run.failedItems.map((f) => f.productCode)).toEqual(['NOSUCH123']);
    expect(run.failedItems[0]!.reason).toMatch(/does not offer this code.*商品编码不存在/);
    expect(await count(stack.pg, `select count(*) as n from catalog.product where code = 'NOSUCH123'`)).toBe(0);
    expect(Number(run.counts?.succeeded)).toBe(30);
    // stock in the catalog equals the simulator's sum over warehouses
    for (const code of codes.slice(0, 10)) {
      const p = (await stack.catalog.getProduct({ productCode: code })).product!;
      const sum = stack.sim.control.stock(code, '110101').reduce((a, w) => a + Number(w.stock), 0);
      expect(Number(p.stock)).toBe(sum);
    }
    // products + prices per batch of 20, one stock call per code and county
    expect(Number(run.counts?.upstreamCalls)).toBe(2 * 2 + 31);
  });

  test('LOW_STOCK asks only about products below the threshold', async () => {
    // stock for everything first
    const full = await runToEnd(stack, { mode: sync.RunMode.FULL, options: { stock: true, countyCodes: ['110101'] }, startedBy: 'test' }, 90_000);
    expect(statusName(full.status)).toBe('SUCCESS');
    const low = await count(stack.pg, `select count(*) as n from catalog.product where delisted_at is null and stock < 40`);
    expect(low).toBeGreaterThan(0);
    expect(low).toBeLessThan(listed().length);
    stack.sim.control.mutate({ stockMoveShare: 0.5, seed: 4 });
    const run = await runToEnd(stack, { syncType: sync.SyncType.STOCK, mode: sync.RunMode.INCREMENTAL, trigger: sync.RunTrigger.LOW_STOCK, startedBy: 'test' });
    expect(statusName(run.status)).toBe('SUCCESS');
    expect(Number(run.counts?.total)).toBe(low);
    expect(Number(run.counts?.upstreamCalls)).toBe(low);
    expect(Number(run.counts?.updated) + Number(run.counts?.unchanged)).toBe(low);
  });
});
