// price_checked_at, prices-only inputs, ListPriceCheckDue and the price ages in Stats: what the
// orchestrator's price-freshness sweep relies on.
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
  (await h.pg.query<{ t: Date | null }>(`select price_checked_at as t from catalog.product where code = $1`, [code])).rows[0]?.t ?? null;
const logRows = (code: string) => count(h.pg, `select count(*) as n from catalog.change_log where product_code = $1`, [code]);
/** Only prices, as the sweep sends them (listing fields empty: they are ignored). */
const pricesOnly = (code: string, supplyPrice: string, invoicePrice = '950') =>
  ({ productCode: code, pricesOnly: true, hasPrices: true, supplyPrice, invoicePrice, stockRebate: '0.05' }) as const;

describe('price_checked_at', () => {
  it('is set by every write that carries prices, changed or not (an unchanged one writes no change-log row), and not by one without prices', async () => {
    await h.client.upsertProducts({ products: [product('PC1')], runId: '1' });
    const first = await checkedAt('PC1');
    expect(first).toBeInstanceOf(Date);
    expect((await h.client.getProduct({ productCode: 'PC1' })).product?.priceCheckedAt).toBeDefined();
    const logged = await logRows('PC1');
    await new Promise((r) => setTimeout(r, 20));
    const same = await h.client.upsertProducts({ products: [product('PC1')], runId: '2' });
    expect(same.unchanged).toBe(1);
    const second = await checkedAt('PC1');
    expect(second!.getTime()).toBeGreaterThan(first!.getTime());
    expect(await logRows('PC1')).toBe(logged);
    await new Promise((r) => setTimeout(r, 20));
    await h.client.upsertProducts({ products: [product('PC1', { hasPrices: false, supplyPrice: undefined, invoicePrice: undefined })], runId: '3' });
    expect((await checkedAt('PC1'))!.getTime()).toBe(second!.getTime());
    const dry = await h.client.upsertProducts({ products: [product('PC1')], runId: '4', dryRun: true });
    expect(dry.unchanged).toBe(1);
    expect((await checkedAt('PC1'))!.getTime()).toBe(second!.getTime());
  });
});

describe('prices-only inputs', () => {
  it('change only the prices (one PRICE_CHANGED with the stored listing), leave an unchanged price at its check, fail an unknown code or one without prices', async () => {
    await h.client.upsertProducts({ products: [product('PO1'), product('PO2')], runId: '10' });
    // the listing moved on after the sweep read the codes: a prices-only write must not undo it
    await h.client.upsertProducts({ products: [product('PO1', { productName: 'Renamed PO1' })], runId: '11' });
    const r = await h.client.upsertProducts({
      products: [pricesOnly('PO1', '1001'), pricesOnly('PO2', '1000'), pricesOnly('PONEW', '5'), { productCode: 'PO3', pricesOnly: true }],
    });
    expect(r.results.map((x) => [x.productCode, catalog.ItemOutcome[x.outcome]])).toEqual([
      ['PO1', 'UPDATED'],
      ['PO2', 'UNCHANGED'],
      ['PONEW', 'FAILED'],
      ['PO3', 'FAILED'],
    ]);
    expect(r.results[0]?.changedFields).toEqual(['supply_price', 'display_price']);
    expect(r.results[2]?.reason).toMatch(/not in the catalog.*sync the product first/);
    expect(r.results[3]?.reason).toMatch(/has_prices/);
    expect([r.updated, r.unchanged, r.failed]).toEqual([1, 1, 2]);
    const p = (await h.client.getProduct({ productCode: 'PO1' })).product!;
    expect([p.name, p.supplyPrice, p.category, p.brand, p.productModel, p.isSales]).toEqual(['Renamed PO1', '1001', '电热水器', '海尔', 'M-PO1', true]);
    const changes = (await h.client.readChanges({ afterSeq: 0n, limit: 1000 })).changes.filter((c) => c.productCode === 'PO1');
    expect(changes.map((c) => catalog.ChangeKind[c.kind])).toEqual(['CREATED', 'UPDATED', 'PRICE_CHANGED']);
    expect(await count(h.pg, `select count(*) as n from catalog.product where code = 'PONEW'`)).toBe(0);
  });
});

describe('ListPriceCheckDue and the price ages', () => {
  it('lists procurable products oldest check first (never checked first), leaves out excluded codes; Stats reports p50/p99/max and those over a max age', async () => {
    await h.pg.query(`update catalog.product set is_sales = false`);
    await h.client.upsertProducts({ products: ['AG1', 'AG2', 'AG3', 'AG4', 'AGX'].map((c) => product(c, { isSales: c !== 'AGX' })), runId: '20' });
    await h.pg.query(`update catalog.product set price_checked_at = now() - (case code when 'AG1' then 100 when 'AG2' then 10 when 'AG3' then 50 when 'AGX' then 1000 end) * interval '1 second' where code like 'AG%'`);
    await h.pg.query(`update catalog.product set price_checked_at = null, first_seen_at = now() - interval '200 seconds' where code = 'AG4'`);
    const due = await h.client.listPriceCheckDue({ limit: 3 });
    expect(due.products.map((x) => x.productCode)).toEqual(['AG4', 'AG1', 'AG3']);
    expect(due.products[0]?.priceCheckedAt).toBeUndefined();
    expect(Date.now() - timestampDate(due.products[1]!.priceCheckedAt!).getTime()).toBeGreaterThanOrEqual(99_000);
    expect(due.procurable).toBe(4n);
    expect((await h.client.listPriceCheckDue({ limit: 10, excludeCodes: ['AG4', 'AG3'] })).products.map((x) => x.productCode)).toEqual(['AG1', 'AG2']);
    // the pace for a 60 s target: AG4 and AG1 are past it (due within a second each: 2/s), AG3 has 10 s left
    // as the 3rd oldest (0.3/s), AG2 50 s as the 4th (0.08/s)
    const pace = await h.client.listPriceCheckDue({ limit: 1, targetAge: durationFromMs(60_000) });
    expect([pace.neededPerSecond, pace.overdue, pace.procurable]).toEqual([2, 2n, 4n]);
    await h.pg.query(`update catalog.product set price_checked_at = now() - interval '10 seconds' where code in ('AG4', 'AG1')`);
    const calm = await h.client.listPriceCheckDue({ limit: 1, targetAge: durationFromMs(60_000) });
    expect(calm.overdue).toBe(0n);
    expect(calm.neededPerSecond).toBeCloseTo(0.1, 2); // AG3, now the oldest, has 10 s left: 1/10; the others 50 s: 4/50 at most
    await h.pg.query(`update catalog.product set price_checked_at = now() - interval '100 seconds' where code = 'AG1'`);
    await h.pg.query(`update catalog.product set price_checked_at = null where code = 'AG4'`);

    const s = await h.client.stats({ priceMaxAge: durationFromMs(60_000) });
    const age = s.priceAge!;
    // ages 200 (never checked: from first seen), 100, 50, 10 seconds
    expect(durationMs(age.max!) / 1000).toBeGreaterThanOrEqual(200);
    expect(durationMs(age.max!) / 1000).toBeLessThan(205);
    expect(durationMs(age.p50!) / 1000).toBeGreaterThanOrEqual(75);
    expect(durationMs(age.p50!) / 1000).toBeLessThan(80);
    expect(durationMs(age.p99!) / 1000).toBeGreaterThan(190);
    expect([age.overMaxAge, age.neverChecked, durationMs(age.maxAge!)]).toEqual([2n, 1n, 60_000]);
    expect((await h.client.stats({})).priceAge?.overMaxAge).toBe(0n);
  });
});
