// The run engine's pure parts: merging Haier's answers into catalog inputs (merge.ts), planning a
// run (plan.ts), how a run ends (outcome.ts) and the group commit of catalog writes (group-commit.ts).
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { catalog, gateway } from '@haier-sync/contracts';
import { changeLine, isPlaceholder, mergeBatch, toProductInput } from '../src/runs/merge';
import { batchCalls, chunk, planRun, selectListing, BATCH_SIZE } from '../src/runs/plan';
import { finalStatus, summaryMessage, type RunTotals } from '../src/runs/outcome';
import { createGroupCommit } from '../src/runs/group-commit';

const product = (code: string, over: MessageInitShape<typeof gateway.ProductSchema> = {}): gateway.Product =>
  create(gateway.ProductSchema, { productCode: code, productModel: `M-${code}`, productName: `Fridge ${code}`, productGroupName: 'Fridges', productBrandName: 'Haier', isSales: true, ...over });
const price = (code: string, over: MessageInitShape<typeof gateway.PriceSchema> = {}): gateway.Price =>
  create(gateway.PriceSchema, { productCode: code, supplyPrice: '1999.00', invoicePrice: '2099.50', stockRebatePolicy: '0.05', rebateMoney: '12.30', ...over });
const itemError = (code: string, reason: string): gateway.ItemError => create(gateway.ItemErrorSchema, { productCode: code, reason });

describe('merge: toProductInput', () => {
  test('takes isSales and the listing fields from the product record, not from the price record', () => {
    const input = toProductInput(product('A1', { isSales: true, noSalesReason: '' }), price('A1', { isSales: false, reason: 'not procurable' }), true);
    expect(input.isSales).toBe(true);
    expect(input.noSalesReason).toBe('');
    expect(input.productName).toBe('Fridge A1');
    expect(input.productGroupName).toBe('Fridges');
    const notSold = toProductInput(product('A2', { isSales: false, noSalesReason: 'stopped' }), price('A2', { isSales: true }), true);
    expect(notSold.isSales).toBe(false);
    expect(notSold.noSalesReason).toBe('stopped');
  });

  test('copies the decimal prices as the strings Haier sent, and marks hasPrices', () => {
    const input = toProductInput(product('A1'), price('A1', { supplyPrice: '0.10', rebateType: '' }), true);
    expect(input).toMatchObject({ hasPrices: true, supplyPrice: '0.10', invoicePrice: '2099.50', stockRebate: '0.05', rebateMoney: '12.30' });
    // an empty string from Haier is "no value", not a price of ""
    expect(input.rebateType).toBeUndefined();
    expect(input.marketPrice).toBeUndefined();
  });

  test('without a price call the input carries no prices and hasPrices is false (stored prices stay)', () => {
    const input = toProductInput(product('A1'), price('A1'), false);
    expect(input.hasPrices).toBe(false);
    expect(input.supplyPrice).toBeUndefined();
    expect(input.invoicePrice).toBeUndefined();
    expect(input.rebateMoney).toBeUndefined();
  });
});

describe('merge: mergeBatch', () => {
  test('pairs each code with its product and price, in the order of the codes', () => {
    const r = mergeBatch(['B', 'A'], [product('A'), product('B')], [], [price('A', { supplyPrice: '1.00' }), price('B', { supplyPrice: '2.00' })], []);
    expect(r.failures.size).toBe(0);
    expect(r.inputs.map((i) => [i.productCode, i.supplyPrice])).toEqual([
      ['B', '2.00'],
      ['A', '1.00'],
    ]);
  });

  test('a code whose price Haier reported as an error is failed with that reason and not upserted', () => {
    const r = mergeBatch(['A', 'B'], [product('A'), product('B')], [], [price('A')], [itemError('B', 'price not maintained')]);
    expect(r.inputs.map((i) => i.productCode)).toEqual(['A']);
    expect(r.failures.get('B')).toBe('price: price not maintained');
  });

  test('a product error wins over a price error for the same code', () => {
    const r = mergeBatch(['A'], [], [itemError('A', 'bad record')], [], [itemError('A', 'no price')]);
    expect(r.inputs).toEqual([]);
    expect(r.failures.get('A')).toBe('product: bad record');
  });

  test('a code Haier did not answer fails with a reason naming what was missing', () => {
    const noProduct = mergeBatch(['A'], [], [], [price('A')], []);
    expect(noProduct.failures.get('A')).toBe('product: Haier returned no record for this code');
    const noPrice = mergeBatch(['A'], [product('A')], [], [], []);
    expect(noPrice.failures.get('A')).toBe('price: Haier returned no price record for this code');
    expect(noPrice.inputs).toEqual([]);
  });

  test('without a price call (prices undefined) a missing price is no failure and the input has no prices', () => {
    const r = mergeBatch(['A'], [product('A')], [], undefined, []);
    expect(r.failures.size).toBe(0);
    expect(r.inputs).toHaveLength(1);
    expect(r.inputs[0]!.hasPrices).toBe(false);
  });

  test("Haier's bare row for a code it does not offer is failed, with its reason, and not stored", () => {
    const bare = create(gateway.ProductSchema, { productCode: 'X', isSales: false, noSalesReason: 'not in your contract' });
    expect(isPlaceholder(bare)).toBe(true);
    const r = mergeBatch(['X'], [bare], [], [price('X')], []);
    expect(r.inputs).toEqual([]);
    expect(r.failures.get('X')).toBe('product: Haier does not offer this code to this account (not in your contract)');
  });

  test('a product that is not on sale but has a name is a real product, not a placeholder', () => {
    const notSold = product('Y', { isSales: false, noSalesReason: 'stopped' });
    expect(isPlaceholder(notSold)).toBe(false);
    const r = mergeBatch(['Y'], [notSold], [], [price('Y')], []);
    expect(r.failures.size).toBe(0);
    expect(r.inputs[0]!.isSales).toBe(false);
  });
});

describe('merge: changeLine', () => {
  const result = (outcome: catalog.ItemOutcome, changedFields: string[] = []) => create(catalog.ItemResultSchema, { productCode: 'A1', outcome, changedFields });

  test('names created and updated products with the changed fields; dry runs say "would be"', () => {
    expect(changeLine(result(catalog.ItemOutcome.CREATED), false)).toBe('A1 created');
    expect(changeLine(result(catalog.ItemOutcome.CREATED), true)).toBe('A1 would be created');
    expect(changeLine(result(catalog.ItemOutcome.UPDATED, ['supply_price', 'is_sales']), false)).toBe('A1 updated: supply_price, is_sales');
    expect(changeLine(result(catalog.ItemOutcome.UPDATED, ['supply_price']), true)).toBe('A1 would be updated: supply_price');
  });

  test('an unchanged or failed item makes no line', () => {
    expect(changeLine(result(catalog.ItemOutcome.UNCHANGED), false)).toBeUndefined();
    expect(changeLine(result(catalog.ItemOutcome.FAILED), false)).toBeUndefined();
  });
});

describe('plan: planRun', () => {
  const scope = (over: Partial<{ codes: string[]; category: string; brand: string; limit: number }> = {}) => ({ codes: [], category: '', brand: '', limit: 0, ...over });
  const options = (over: Partial<{ prices: boolean; stock: boolean; counties: string[]; dryRun: boolean }> = {}) => ({ prices: false, stock: false, counties: [], dryRun: false, ...over });

  test('named codes ask Haier for those codes, with the options as asked, and never delist', () => {
    expect(planRun({ syncType: 'MANUAL', mode: 'INCREMENTAL', scope: scope({ codes: ['A'] }), options: options({ prices: true }) }, 10)).toEqual({ strategy: 'codes', prices: true, stock: false, delist: false });
    expect(planRun({ syncType: 'STOCK', mode: 'FULL', scope: scope({ codes: ['A'] }), options: options({ stock: true }) }, 10)).toEqual({ strategy: 'codes', prices: false, stock: true, delist: false });
  });

  test('an unscoped STOCK run takes its codes from the catalog: all of them when FULL, the low ones when INCREMENTAL', () => {
    expect(planRun({ syncType: 'STOCK', mode: 'FULL', scope: scope(), options: options({ stock: true }) }, 7)).toEqual({ strategy: 'catalog_stock', prices: false, stock: true, delist: false, belowThreshold: undefined });
    expect(planRun({ syncType: 'STOCK', mode: 'INCREMENTAL', scope: scope(), options: options({ stock: true }) }, 7)).toMatchObject({ strategy: 'catalog_stock', belowThreshold: 7 });
  });

  test('only a complete listing delists; a category, brand or limit filter does not', () => {
    const full = { syncType: 'PRODUCTS', mode: 'FULL', options: options({ prices: true }) };
    expect(planRun({ ...full, scope: scope() }, 10)).toEqual({ strategy: 'listing', prices: true, stock: false, delist: true });
    expect(planRun({ ...full, scope: scope({ category: 'Fridges' }) }, 10).delist).toBe(false);
    expect(planRun({ ...full, scope: scope({ brand: 'Casarte' }) }, 10).delist).toBe(false);
    expect(planRun({ ...full, scope: scope({ limit: 5 }) }, 10).delist).toBe(false);
  });
});

describe('plan: chunk, selectListing, batchCalls', () => {
  test('chunk cuts into consecutive pieces of at most the batch size (20, Haier\'s limit)', () => {
    expect(BATCH_SIZE).toBe(20);
    const codes = Array.from({ length: 45 }, (_, i) => `C${i}`);
    const pieces = chunk(codes);
    expect(pieces.map((p) => p.length)).toEqual([20, 20, 5]);
    expect(pieces.flat()).toEqual(codes);
    expect(chunk([], 3)).toEqual([]);
    expect(chunk([1, 2, 3], 3)).toEqual([[1, 2, 3]]);
  });

  const item = (code: string, group = 'Fridges', brand = 'Haier') => ({ productCode: code, productGroupName: group, productBrandName: brand });
  const scope = (over: Partial<{ codes: string[]; category: string; brand: string; limit: number }> = {}) => ({ codes: [], category: '', brand: '', limit: 0, ...over });

  test('selectListing keeps the category and brand asked for', () => {
    const items = [item('A', 'Fridges', 'Haier'), item('B', 'Washers', 'Haier'), item('C', 'Fridges', 'Casarte')];
    expect(selectListing(items, scope({ category: 'Fridges' }), new Set(), 0).selected.map((i) => i.productCode)).toEqual(['A', 'C']);
    expect(selectListing(items, scope({ category: 'Fridges', brand: 'Casarte' }), new Set(), 0).selected.map((i) => i.productCode)).toEqual(['C']);
  });

  test('selectListing stops at the limit across chunks and counts already planned codes toward it without planning them again', () => {
    const first = selectListing([item('A'), item('B')], scope({ limit: 3 }), new Set(['A']), 0);
    expect(first.selected.map((i) => i.productCode)).toEqual(['B']);
    expect(first.taken).toBe(2);
    const second = selectListing([item('C'), item('D'), item('E')], scope({ limit: 3 }), new Set(), first.taken);
    expect(second.selected.map((i) => i.productCode)).toEqual(['C']);
    expect(second.taken).toBe(3);
  });

  test('batchCalls: products and prices cost one call per 20 codes, stock one call per code and county', () => {
    expect(batchCalls({ strategy: 'codes', prices: true, stock: false, delist: false }, 20, 0)).toBe(2);
    expect(batchCalls({ strategy: 'codes', prices: true, stock: false, delist: false }, 21, 0)).toBe(4);
    expect(batchCalls({ strategy: 'listing', prices: true, stock: false, delist: true }, 20, 0)).toBe(1);
    expect(batchCalls({ strategy: 'listing', prices: false, stock: true, delist: true }, 5, 2)).toBe(10);
    expect(batchCalls({ strategy: 'catalog_stock', prices: true, stock: true, delist: false }, 3, 3)).toBe(9);
  });
});

describe('outcome', () => {
  const totals = (over: Partial<RunTotals> = {}): RunTotals => ({ total: 0, succeeded: 0, failed: 0, created: 0, updated: 0, unchanged: 0, delisted: 0, upstreamCalls: 0, ...over });

  test('finalStatus: no failures SUCCESS, some PARTIAL, nothing succeeded FAILED, a fatal error FAILED', () => {
    expect(finalStatus(totals({ total: 3, succeeded: 3 }))).toBe('SUCCESS');
    expect(finalStatus(totals())).toBe('SUCCESS');
    expect(finalStatus(totals({ total: 3, succeeded: 2, failed: 1 }))).toBe('PARTIAL');
    expect(finalStatus(totals({ total: 3, failed: 3 }))).toBe('FAILED');
    expect(finalStatus(totals({ total: 3, succeeded: 3 }), 'the catalog is unreachable')).toBe('FAILED');
  });

  test('summaryMessage of a successful run lists every count and the calls to Haier', () => {
    const t = totals({ total: 5, succeeded: 5, created: 1, updated: 2, unchanged: 2, upstreamCalls: 4 });
    expect(summaryMessage('FULL PRODUCTS run', t, 'SUCCESS', { dryRun: false })).toBe('FULL PRODUCTS run completed: 5 products, 1 created, 2 updated, 2 unchanged, 0 failed; 4 calls to Haier');
  });

  test('summaryMessage of a partial run says what to do; delisted and dry run are named when they apply', () => {
    const t = totals({ total: 4, succeeded: 3, failed: 1, updated: 3, delisted: 2, upstreamCalls: 2 });
    expect(summaryMessage('FULL PRODUCTS run', t, 'PARTIAL', { dryRun: true })).toBe(
      'FULL PRODUCTS run completed with failures (dry run: nothing written): 4 products, 0 created, 3 updated, 0 unchanged, 1 failed, 2 delisted; 2 calls to Haier; see the failed items for reasons and run again to retry them',
    );
  });

  test('summaryMessage of a fatal failure is the reason alone', () => {
    expect(summaryMessage('MANUAL run', totals({ total: 1 }), 'FAILED', { dryRun: false, fatal: 'the gateway is unreachable' })).toBe('MANUAL run failed: the gateway is unreachable');
  });
});

describe('group commit', () => {
  /** A flush whose completion the test controls, recording what each call carried. */
  function controlled() {
    const flushes: number[][] = [];
    const singles: number[] = [];
    const gates: Array<() => void> = [];
    const gate = () => new Promise<void>((r) => gates.push(r));
    return {
      flushes,
      singles,
      release: () => gates.splice(0).forEach((g) => g()),
      flush: async (items: number[]) => {
        flushes.push(items);
        await gate();
        return items.map((i) => i * 10);
      },
      single: async (item: number) => {
        singles.push(item);
        await gate();
        return item * 10;
      },
    };
  }
  const tick = () => new Promise((r) => setImmediate(r));

  test('at low load an item goes out at once, alone', async () => {
    const c = controlled();
    const g = createGroupCommit(c.flush, c.single, { maxInFlight: 1, key: () => 'k', maxSize: 10 });
    const p = g.submit(1);
    await tick();
    expect(c.singles).toEqual([1]);
    c.release();
    await expect(p).resolves.toBe(10);
    expect(g.stats()).toEqual({ flushes: 1, items: 1, fallbacks: 0 });
  });

  test('items arriving while a flush is in flight go out together, each caller getting its own answer', async () => {
    const c = controlled();
    const g = createGroupCommit(c.flush, c.single, { maxInFlight: 1, key: () => 'k', maxSize: 10 });
    const first = g.submit(1);
    await tick();
    const rest = [g.submit(2), g.submit(3), g.submit(4)];
    await tick();
    expect(c.flushes).toEqual([]); // still waiting for the first
    c.release();
    await expect(first).resolves.toBe(10);
    await tick();
    expect(c.flushes).toEqual([[2, 3, 4]]);
    c.release();
    await expect(Promise.all(rest)).resolves.toEqual([20, 30, 40]);
    expect(g.stats()).toEqual({ flushes: 2, items: 4, fallbacks: 0 });
  });

  test('restMs: after a flush, items wait that long and go out together; the first after a rest goes at once', async () => {
    const c = controlled();
    // a rest long enough that a busy machine cannot end it between two steps of this test
    const g = createGroupCommit(c.flush, c.single, { maxInFlight: 1, key: () => 'k', maxSize: 10, restMs: 300 });
    const first = g.submit(1);
    await tick();
    expect(c.singles).toEqual([1]); // nothing flushed before: at once
    c.release();
    await expect(first).resolves.toBe(10);
    const during = [g.submit(2), g.submit(3)];
    await tick();
    expect(c.flushes).toEqual([]); // resting after the first flush
    during.push(g.submit(4)); // still resting: joins them
    await tick();
    expect(c.flushes).toEqual([]);
    for (let i = 0; i < 200 && c.flushes.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(c.flushes).toEqual([[2, 3, 4]]);
    c.release();
    await expect(Promise.all(during)).resolves.toEqual([20, 30, 40]);
    await new Promise((r) => setTimeout(r, 350)); // the rest after that flush is over
    const later = g.submit(5);
    await tick();
    expect(c.singles).toEqual([1, 5]);
    c.release();
    await expect(later).resolves.toBe(50);
  });

  test('only items of the same key go out together, and a flush holds at most maxSize', async () => {
    const c = controlled();
    const g = createGroupCommit(c.flush, c.single, { maxInFlight: 1, key: (i: number) => (i % 2 ? 'odd' : 'even'), size: () => 2, maxSize: 4 });
    const ps = [g.submit(0)];
    await tick();
    ps.push(g.submit(1), g.submit(2), g.submit(3), g.submit(5), g.submit(4));
    c.release();
    for (let i = 0; i < 4; i++) {
      await tick();
      c.release();
    }
    await expect(Promise.all(ps)).resolves.toEqual([0, 10, 20, 30, 50, 40]);
    // the oldest waiting item (1) leads: odd items, two of size 2 fit in 4; then the evens; then the last odd
    expect(c.flushes).toEqual([
      [1, 3],
      [2, 4],
    ]);
    expect(c.singles).toEqual([0, 5]);
  });

  test('a flush that fails sends each item again on its own: a bad item fails alone, its neighbours succeed', async () => {
    let flushCalls = 0;
    const flush = async (items: number[]) => {
      flushCalls++;
      if (items.includes(13)) throw new Error('one bad item spoils the statement');
      return items.map((i) => i * 10);
    };
    const single = async (i: number) => {
      if (i === 13) throw new Error('item 13 is bad');
      return i * 10;
    };
    let releaseFirst!: () => void;
    const firstGate = new Promise<void>((r) => (releaseFirst = r));
    const g = createGroupCommit(flush, async (i: number) => (i === 0 ? (await firstGate, 0) : single(i)), { maxInFlight: 1, key: () => 'k', maxSize: 10 });
    const first = g.submit(0);
    await tick();
    const a = g.submit(12);
    const bad = g.submit(13);
    const b = g.submit(14);
    releaseFirst();
    await first;
    await expect(a).resolves.toBe(120);
    await expect(bad).rejects.toThrow('item 13 is bad');
    await expect(b).resolves.toBe(140);
    expect(flushCalls).toBe(1);
    expect(g.stats().fallbacks).toBe(1);
  });

  test('a flush answering the wrong number of results falls back to one item each', async () => {
    let releaseFirst!: () => void;
    const firstGate = new Promise<void>((r) => (releaseFirst = r));
    const singles: number[] = [];
    const g = createGroupCommit(
      async (items: number[]) => items.slice(1).map((i) => i * 10), // one result short
      async (i: number) => {
        if (i === 0) await firstGate;
        else singles.push(i);
        return i * 10;
      },
      { maxInFlight: 1, key: () => 'k', maxSize: 10 },
    );
    const first = g.submit(0);
    await tick();
    const ps = [g.submit(1), g.submit(2)];
    releaseFirst();
    await first;
    await expect(Promise.all(ps)).resolves.toEqual([10, 20]);
    expect(singles).toEqual([1, 2]);
    expect(g.stats().fallbacks).toBe(1);
  });

  test('maxInFlight flushes run at once; more wait', async () => {
    const c = controlled();
    const g = createGroupCommit(c.flush, c.single, { maxInFlight: 2, key: (i: number) => String(i), maxSize: 10 });
    const ps = [g.submit(1), g.submit(2), g.submit(3)];
    await tick();
    expect(c.singles).toEqual([1, 2]);
    c.release();
    await tick();
    await tick();
    expect(c.singles).toEqual([1, 2, 3]);
    c.release();
    await expect(Promise.all(ps)).resolves.toEqual([10, 20, 30]);
  });
});
