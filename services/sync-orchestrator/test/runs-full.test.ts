// A full sync of 2,000 simulator products through the real gateway and catalog: the catalog
// equals the simulator's own truth field by field; then 5% price changes and 1% delistings in
// the simulator: an incremental run writes exactly those (the catalog's change log says so).
import { sync, type catalog } from '@haier-sync/contracts';
import type { SimProduct } from '@haier-sync/haier-sim';
import { waitFor } from '@haier-sync/runtime/testing';
import type { NatsConnection } from 'nats';
import { streamSpecs } from '../src/events';
import { count, lastSeq, readStream, runToEnd, startStack, statusName, type Stack } from './stack';

jest.setTimeout(120_000);

const SIZE = 2000;

/** Decimal text without insignificant zeros ("1299.50" -> "1299.5", "10.00" -> "10"). */
function dec(s: string | undefined | null): string | undefined {
  if (s === undefined || s === null || s.trim() === '') return undefined;
  let t = s.trim();
  if (t.includes('.')) t = t.replace(/0+$/, '').replace(/\.$/, '');
  t = t.replace(/^(-?)0+(?=\d)/, '$1');
  return t === '-0' ? '0' : t;
}

async function allCatalog(stack: Stack): Promise<Map<string, catalog.Product>> {
  const out = new Map<string, catalog.Product>();
  let cursor = '';
  do {
    const page = await stack.catalog.listProducts({ pageSize: 500, cursor, includeDelisted: true });
    for (const p of page.products) out.set(p.productCode, p);
    cursor = page.nextCursor;
  } while (cursor !== '');
  return out;
}

function expectSame(p: catalog.Product, s: SimProduct): void {
  const rebateIsType = /^[A-Za-z]/.test(s.stockRebatePolicy);
  const expected = {
    code: s.productCode,
    model: s.productModel,
    name: s.productName || s.productModel || s.productCode,
    category: s.productGroupNamd,
    brand: s.productBrandName,
    image: s.productImageUrl,
    pages: s.productLageUrls,
    isSales: s.isSales === '1',
    noSalesReason: s.noSalesReason ?? '',
    supply: dec(s.supplyPrice),
    invoice: dec(s.invoicePrice),
    market: dec(s.marketPrice),
    stockRebate: rebateIsType ? undefined : dec(s.stockRebatePolicy),
    rebateType: rebateIsType ? s.stockRebatePolicy : '',
    rebateMoney: dec(s.rebateMoney),
    priceReason: s.reason ?? '',
    delisted: !s.listed,
  };
  const actual = {
    code: p.productCode,
    model: p.productModel,
    name: p.name,
    category: p.category,
    brand: p.brand,
    image: p.productImageUrl,
    pages: p.productPageUrls,
    isSales: p.isSales,
    noSalesReason: p.noSalesReason,
    supply: dec(p.supplyPrice),
    invoice: dec(p.invoicePrice),
    market: dec(p.marketPrice),
    stockRebate: rebateIsType ? undefined : dec(p.stockRebate),
    rebateType: p.rebateType,
    rebateMoney: dec(p.rebateMoney),
    priceReason: p.priceReason,
    delisted: p.delistedAt !== undefined,
  };
  expect(actual).toEqual(expected);
}

describe('full and incremental runs against the simulator', () => {
  let stack: Stack;
  let nc: NatsConnection;
  let catalogStream: string;
  beforeAll(async () => {
    stack = await startStack({ sim: { size: SIZE, seed: 7 }, env: { SYNC_PUBLISHER_ENABLED: 'true' } });
    nc = await stack.nats();
    catalogStream = streamSpecs(stack.prefix).catalog.name;
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Waits until the publisher has relayed every change-log entry; the stream's messages after `afterSeq`. */
  async function relayedSince(afterSeq: number): Promise<Awaited<ReturnType<typeof readStream>>> {
    const changes = await count(stack.pg, `select count(*) as n from catalog.change_log`);
    await waitFor(async () => (await lastSeq(nc, catalogStream)) >= changes, { timeoutMs: 60_000, intervalMs: 200, what: 'the publisher to relay the change log' });
    await new Promise((r) => setTimeout(r, 500)); // nothing more follows
    return readStream(nc, catalogStream, afterSeq);
  }

  test('a full sync of 2,000 products makes the catalog equal the simulator, field by field', async () => {
    const t0 = Date.now();
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 90_000);
    const secs = (Date.now() - t0) / 1000;
    expect(statusName(run.status)).toBe('SUCCESS');
    const truth = stack.sim.control.products(0, SIZE).filter((p) => p.listed);
    expect(run.counts?.total).toBe(BigInt(truth.length));
    expect(run.counts?.created).toBe(BigInt(truth.length));
    expect(run.counts?.failed).toBe(0n);
    expect(run.counts?.batchesDone).toBe(run.counts?.batchesTotal);
    expect(run.counts?.batchesTotal).toBe(BigInt(Math.ceil(truth.length / 20)));
    // one listing call plus one price call per batch of 20
    expect(run.counts?.upstreamCalls).toBe(BigInt(1 + Math.ceil(truth.length / 20)));
    expect(run.message).toMatch(/completed/);
    expect(run.duration).toBeDefined();
    const cat = await allCatalog(stack);
    expect(cat.size).toBe(truth.length);
    for (const s of truth) {
      const p = cat.get(s.productCode);
      expect(p).toBeDefined();
      expectSame(p!, s);
    }
    // every product came with this run's id in the change log, created once
    const created = await stack.pg.query<{ n: string }>(`select count(*) as n from catalog.change_log where kind = 'created' and run_id = $1`, [run.id]);
    expect(Number(created.rows[0]!.n)).toBe(truth.length);
    // one created event per product, each once
    const events = await relayedSince(0);
    expect(events).toHaveLength(truth.length);
    expect(events.every((e) => e.subject === `${stack.prefix}.catalog.product.created`)).toBe(true);
    expect(new Set(events.map((e) => e.msgId.split(':')[0]))).toEqual(new Set(truth.map((p) => p.productCode)));
    console.log(`full sync of ${truth.length} products: ${secs.toFixed(1)} s, ${run.counts?.upstreamCalls} calls to Haier`);
  });

  test('a second full run changes nothing', async () => {
    const before = await stack.pg.query<{ n: string }>(`select count(*) as n from catalog.change_log`);
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 90_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    expect(run.counts?.unchanged).toBe(run.counts?.total);
    expect(run.counts?.created).toBe(0n);
    expect(run.counts?.updated).toBe(0n);
    expect(run.counts?.delisted).toBe(0n);
    const after = await stack.pg.query<{ n: string }>(`select count(*) as n from catalog.change_log`);
    expect(after.rows[0]!.n).toBe(before.rows[0]!.n);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await lastSeq(nc, catalogStream)).toBe(Number(before.rows[0]!.n)); // no event either
  });

  test('5% prices changed and 1% delisted: an incremental run writes exactly those changes', async () => {
    const m = stack.sim.control.mutate({ priceChangeShare: 0.05, delistShare: 0.01, seed: 11 });
    expect(m.priceChanged.length).toBeGreaterThan(50);
    expect(m.delisted.length).toBeGreaterThan(10);
    const seqBefore = await lastSeq(nc, catalogStream);
    const [{ max }] = (await stack.pg.query<{ max: string | null }>(`select max(seq)::text as max from catalog.change_log`)).rows as [{ max: string | null }];
    const run = await runToEnd(stack, { syncType: sync.SyncType.PRICES, mode: sync.RunMode.INCREMENTAL, startedBy: 'test' }, 90_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    const changes = await stack.pg.query<{ product_code: string; kind: string }>(
      `select product_code, kind from catalog.change_log where seq > $1 order by seq`,
      [max ?? '0'],
    );
    const delistedSet = new Set(m.delisted);
    // a delisted product is not repriced in this run (it is no longer in the listing)
    const repriced = new Set(m.priceChanged.filter((c) => !delistedSet.has(c)));
    const priceRows = changes.rows.filter((r) => r.kind !== 'delisted');
    const delistRows = changes.rows.filter((r) => r.kind === 'delisted');
    expect(new Set(delistRows.map((r) => r.product_code))).toEqual(delistedSet);
    expect(delistRows.length).toBe(delistedSet.size);
    expect(new Set(priceRows.map((r) => r.product_code))).toEqual(repriced);
    expect(priceRows.length).toBe(repriced.size);
    expect(run.counts?.delisted).toBe(BigInt(delistedSet.size));
    expect(run.counts?.updated).toBe(BigInt(repriced.size));
    // exactly one event per change, and nothing else
    const events = await relayedSince(seqBefore);
    expect(events).toHaveLength(changes.rows.length);
    expect(new Set(events.map((e) => e.msgId)).size).toBe(events.length);
    const delistEvents = events.filter((e) => e.subject.endsWith('.catalog.product.delisted')).map((e) => e.msgId.split(':')[0]);
    expect(new Set(delistEvents)).toEqual(delistedSet);
    const priceEvents = events.filter((e) => !e.subject.endsWith('.catalog.product.delisted')).map((e) => e.msgId.split(':')[0]);
    expect(new Set(priceEvents)).toEqual(repriced);
    // and the catalog again equals the simulator
    const cat = await allCatalog(stack);
    for (const s of stack.sim.control.products(0, SIZE)) {
      if (!s.listed && m.priceChanged.includes(s.productCode)) continue; // its new price was never listed
      const p = cat.get(s.productCode);
      expect(p).toBeDefined();
      expectSame(p!, s);
    }
  });
});
