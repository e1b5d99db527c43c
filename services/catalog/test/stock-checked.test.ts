// stock_checked_at, ListStockCheckDue and the low-stock products' stock ages in Stats: what the
// orchestrator's low-stock freshness sweep relies on. Low stock: listed, headline stock below
// SYNC_LOW_STOCK_THRESHOLD (the harness keeps its default, 5).
import { durationFromMs, durationMs, timestampDate } from '@bufbuild/protobuf/wkt';
import { catalog } from '@haier-sync/contracts';
import { count, product, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const checkedAt = async (code: string): Promise<Date | null> =>
  (await h.pg.query<{ t: Date | null }>(`select stock_checked_at as t from catalog.product where code = $1`, [code])).rows[0]?.t ?? null;
const stock = (productCode: string, quantity: bigint, countyCode = '110101') => ({ productCode, countyCode, quantity, bestSecCode: 'WH1' });
const tick = () => new Promise((r) => setTimeout(r, 20));

describe('stock_checked_at', () => {
  it('is set by every UpdateStock that carries the product, changed or not (an unchanged one writes no change-log row), not by a dry run nor for a failed product', async () => {
    await h.client.upsertProducts({ products: [product('SC1'), product('SC2')], runId: '1' });
    expect(await checkedAt('SC1')).toBeNull();
    await h.client.updateStock({ items: [stock('SC1', 3n)], runId: '2' });
    const first = await checkedAt('SC1');
    expect(first).toBeInstanceOf(Date);
    expect((await h.client.getProduct({ productCode: 'SC1' })).product?.stockCheckedAt).toBeDefined();
    const logged = await count(h.pg, `select count(*) as n from catalog.change_log where product_code = 'SC1'`);
    await tick();
    const same = await h.client.updateStock({ items: [stock('SC1', 3n)], runId: '3' });
    expect(same.unchanged).toBe(1);
    const second = await checkedAt('SC1');
    expect(second!.getTime()).toBeGreaterThan(first!.getTime());
    expect(await count(h.pg, `select count(*) as n from catalog.change_log where product_code = 'SC1'`)).toBe(logged);
    await tick();
    await h.client.updateStock({ items: [stock('SC1', 9n)], runId: '4', dryRun: true });
    expect((await checkedAt('SC1'))!.getTime()).toBe(second!.getTime());
    // a bad entry fails its product: not checked
    const bad = await h.client.updateStock({ items: [stock('SC2', -1n)], runId: '5' });
    expect(bad.results.map((r) => catalog.ItemOutcome[r.outcome])).toEqual(['FAILED']);
    expect(await checkedAt('SC2')).toBeNull();
  });
});

describe('ListStockCheckDue and the stock ages', () => {
  it('lists listed low-stock products oldest stock check first (never checked first), leaves out excluded codes and products with plenty or no stock; Stats reports their ages', async () => {
    await h.pg.query(`update catalog.product set stock = null`);
    await h.client.upsertProducts({ products: ['LS1', 'LS2', 'LS3', 'LS4', 'LSPLENTY', 'LSGONE', 'LSNONE'].map((c) => product(c)), runId: '20' });
    await h.client.updateStock({ items: [stock('LS1', 0n), stock('LS2', 4n), stock('LS3', 1n), stock('LS4', 2n), stock('LSPLENTY', 5n), stock('LSGONE', 0n)], runId: '21' });
    await h.client.markDelisted({ codesSeen: ['LS1', 'LS2', 'LS3', 'LS4', 'LSPLENTY', 'LSNONE'], runId: '22' });
    await h.pg.query(`update catalog.product set stock_checked_at = now() - (case code when 'LS1' then 100 when 'LS2' then 10 when 'LS3' then 50 else 1000 end) * interval '1 second' where code like 'LS%'`);
    await h.pg.query(`update catalog.product set stock_checked_at = null, first_seen_at = now() - interval '200 seconds' where code = 'LS4'`);
    const due = await h.client.listStockCheckDue({ limit: 3 });
    expect(due.products.map((x) => x.productCode)).toEqual(['LS4', 'LS1', 'LS3']);
    expect(due.products[0]?.stockCheckedAt).toBeUndefined();
    expect(Date.now() - timestampDate(due.products[1]!.stockCheckedAt!).getTime()).toBeGreaterThanOrEqual(99_000);
    expect([due.lowStock, due.below]).toEqual([4n, 5n]);
    expect((await h.client.listStockCheckDue({ limit: 10, excludeCodes: ['LS4', 'LS3'] })).products.map((x) => x.productCode)).toEqual(['LS1', 'LS2']);
    // the pace for a 60 s target: LS4 and LS1 are past it (2/s), LS3 has 10 s left as the 3rd oldest, LS2 50 s as the 4th
    const pace = await h.client.listStockCheckDue({ limit: 1, targetAge: durationFromMs(60_000) });
    expect([pace.neededPerSecond, pace.overdue, pace.lowStock]).toEqual([2, 2n, 4n]);

    const s = await h.client.stats({ stockMaxAge: durationFromMs(60_000) });
    const age = s.stockAge!;
    // ages 200 (never checked: from first seen), 100, 50, 10 seconds
    expect(durationMs(age.max!) / 1000).toBeGreaterThanOrEqual(200);
    expect(durationMs(age.max!) / 1000).toBeLessThan(205);
    expect(durationMs(age.p50!) / 1000).toBeGreaterThanOrEqual(75);
    expect(durationMs(age.p50!) / 1000).toBeLessThan(80);
    expect([age.overMaxAge, age.neverChecked, durationMs(age.maxAge!), age.lowStock, age.below]).toEqual([2n, 1n, 60_000, 4n, 5n]);
    const unasked = (await h.client.stats({})).stockAge!;
    expect([unasked.overMaxAge, unasked.maxAge]).toEqual([0n, undefined]);
    // the price ages are counted alongside, against their own max age
    expect((await h.client.stats({ priceMaxAge: durationFromMs(1_000) })).priceAge?.maxAge).toBeDefined();
  });
});
