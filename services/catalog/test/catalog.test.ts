import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import { FIELD_HEADER } from '@haier-sync/runtime';
import { catalog } from '@haier-sync/contracts';
import { rpcFailure } from '@haier-sync/runtime/testing';
import { PRICE_COLUMNS, PRODUCT_TABLE, protoName, storedColumn, writeType, type ProductColumn } from '../src/product-table';
import { PRODUCT_FROM, PRODUCT_SNAPSHOT, pgArray } from '../src/sql';
import { STOCK_COLUMNS, stockColumn } from '../src/stock';
import { CATALOG_SCHEMA } from '../src/orm';
import { count, product, startHarness, type Harness } from './harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const logRows = (code: string) => count(h.pg, `select count(*) as n from catalog.change_log where product_code = $1`, [code]);


describe('migrations', () => {
  it('create catalog.product and catalog.product_stock with exactly the columns product-table.ts and stock.ts describe, each with its type', async () => {
    const r = await h.pg.query<{ column_name: string; data_type: string }>(
      `select column_name, data_type from information_schema.columns where table_schema = 'catalog' and table_name = 'product' order by column_name`,
    );
    const PG: Record<string, string> = { text: 'text', varchar: 'character varying', numeric: 'numeric', jsonb: 'jsonb', boolean: 'boolean', bigint: 'bigint', timestamptz: 'timestamp with time zone' };
    const described = (Object.keys(PRODUCT_TABLE) as ProductColumn[]).map((n) => [storedColumn(n), PG[writeType(n)] ?? writeType(n)]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
    expect(r.rows.map((x) => [x.column_name, x.data_type])).toEqual(described);
    const st = await h.pg.query<{ column_name: string; data_type: string }>(
      `select column_name, data_type from information_schema.columns where table_schema = 'catalog' and table_name = 'product_stock' and column_name <> 'updated_at' order by column_name`,
    );
    expect(st.rows.map((x) => [x.column_name, x.data_type])).toEqual(STOCK_COLUMNS.map(([n, t]) => [stockColumn(n), t]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
  });
  it('the table and the contract agree: every Product field but county_stock is a column, every price column a ProductInput field', () => {
    const columns = new Set((Object.keys(PRODUCT_TABLE) as ProductColumn[]).map((n) => (n === 'code' ? 'productCode' : protoName(n))));
    expect(catalog.ProductSchema.fields.map((f) => f.localName).filter((f) => f !== 'countyStock').sort()).toEqual([...columns].sort());
    const input = new Set(catalog.ProductInputSchema.fields.map((f) => f.localName));
    expect(PRICE_COLUMNS.filter((n) => !input.has(protoName(n)))).toEqual([]);
  });
  it('build the catalog schema from empty', async () => {
    const r = await h.pg.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'catalog' order by 1`);
    expect(r.rows.map((x) => x.table_name)).toEqual(['brand', 'category', 'change_log', 'mikro_orm_migrations', 'price_history', 'product', 'product_image', 'product_stock']);
    expect(await h.cat.readiness()).toBe(true);
    const applied = await h.pg.query<{ name: string }>(`select name from catalog.mikro_orm_migrations order by id`);
    expect(applied.rows.map((r) => r.name)).toEqual(CATALOG_SCHEMA.migrations.map((m) => m.name));
    await expect(h.pg.query(`select catalog.assert_all_inserted(2, 1)`)).rejects.toMatchObject({ code: 'HS409' });
  });
  it('make the change log append-only', async () => {
    await h.client.upsertProducts({ products: [product('APPEND1')], runId: 'r0' });
    await expect(h.pg.query(`delete from catalog.change_log`)).rejects.toThrow(/append-only/);
  });
});

describe('UpsertProducts change detection', () => {
  it('creates, then writes nothing for the same batch but its price check time, then exactly the changed field', async () => {
    const batch = [product('CD1'), product('CD2', { productName: '', productModel: '' })];
    const first = await h.client.upsertProducts({ products: batch, runId: 'run-1' });
    expect(first.created).toBe(2);
    expect(first.results.map((r) => [r.productCode, r.outcome, r.version])).toEqual([
      ['CD1', catalog.ItemOutcome.CREATED, 1n],
      ['CD2', catalog.ItemOutcome.CREATED, 1n],
    ]);
    const got = await h.client.getProduct({ productCode: 'CD2' });
    expect(got.product?.name).toBe('CD2');
    expect(got.product?.displayPrice).toBe('1000');
    expect(got.product?.category).toBe('电热水器');

    // rows written (xmin) or locked (xmax) by any transaction from now on, in every catalog table
    const xid = (await h.pg.query<{ x: string }>(`select (txid_current() % 4294967296)::text as x`)).rows[0]!.x;
    const touched = async () => {
      const n: Record<string, number> = {};
      for (const t of ['product', 'change_log', 'price_history', 'category', 'brand', 'product_stock']) {
        n[t] = await count(h.pg, `select count(*) as n from catalog.${t} where xmin::text::bigint >= $1 or xmax::text::bigint >= $1`, [xid]);
      }
      return n;
    };
    const checkedBefore = await h.pg.query<{ code: string; t: Date }>(`select code, price_checked_at as t from catalog.product where code in ('CD1','CD2') order by code`);
    const logBefore = await count(h.pg, `select count(*) as n from catalog.change_log`);
    const again = await h.client.upsertProducts({ products: [product('CD1', { supplyPrice: '1000.00' }), batch[1]!], runId: 'run-2' });
    expect(again.unchanged).toBe(2);
    expect(again.results.map((r) => r.version)).toEqual([1n, 1n]);
    expect(await count(h.pg, `select count(*) as n from catalog.change_log`)).toBe(logBefore);
    expect(await count(h.pg, `select count(*) as n from catalog.product where version <> 1 and code in ('CD1','CD2')`)).toBe(0);
    // the prices were checked: only price_checked_at of the two rows moves (no version, no log, nothing else)
    expect(await touched()).toEqual({ product: 2, change_log: 0, price_history: 0, category: 0, brand: 0, product_stock: 0 });
    const checkedAfter = await h.pg.query<{ code: string; t: Date }>(`select code, price_checked_at as t from catalog.product where code in ('CD1','CD2') order by code`);
    checkedAfter.rows.forEach((r, i) => expect(r.t.getTime()).toBeGreaterThan(checkedBefore.rows[i]!.t.getTime()));

    const changed = await h.client.upsertProducts({ products: [product('CD1', { productImageUrl: 'https://img.example/new.jpg' })], runId: 'run-3' });
    expect(changed.updated).toBe(1);
    expect(changed.results[0]?.changedFields).toEqual(['product_image_url']);
    expect(changed.results[0]?.version).toBe(2n);
    const log = await h.pg.query(`select kind, version, fields, run_id from catalog.change_log where product_code = 'CD1' order by seq`);
    expect(log.rows).toEqual([
      { kind: 'created', version: '1', fields: [], run_id: 'run-1' },
      { kind: 'updated', version: '2', fields: [{ field: 'product_image_url', before: '"https://img.example/CD1.jpg"', after: '"https://img.example/new.jpg"' }], run_id: 'run-3' },
    ]);
    expect(await count(h.pg, `select count(*) as n from catalog.price_history where product_code = 'CD1'`)).toBe(0);
    expect((await touched()).change_log).toBeGreaterThan(0); // the probe does see writes
    // the snapshot in the log is the row as written (same as a fresh read of the product)
    const snap = await h.pg.query(
      `select l.snapshot = ${PRODUCT_SNAPSHOT} as same, l.snapshot->>'supply_price' as supply
       from catalog.change_log l join ${PRODUCT_FROM} on p.code = l.product_code where l.product_code = 'CD1' and l.version = p.version`,
    );
    expect(snap.rows).toEqual([{ same: true, supply: '1000.0000' }]);
  });

  it('passes any text through the bulk array parameters unchanged', async () => {
    const values = ['plain', '', 'NULL', 'a,b', '{x}', 'say "hi"', 'back\\slash\\', '海尔 电热水器', ' spaced ', 'new\nline', null];
    const r = await h.pg.query<{ a: (string | null)[] }>(`select $1::text[] as a`, [pgArray(values)]);
    expect(r.rows[0]!.a).toEqual(values);
    const j = await h.pg.query<{ a: unknown[] }>(`select $1::jsonb[] as a`, [pgArray([[`https://x/"q".jpg`, 'b\\c'], { field: 'name', before: '"a"' }])]);
    expect(j.rows[0]!.a).toEqual([[`https://x/"q".jpg`, 'b\\c'], { field: 'name', before: '"a"' }]);
  });

  it('concurrent batches changing the same products keep one version and one log row per change', async () => {
    const codes = Array.from({ length: 20 }, (_, i) => `CV${i}`);
    await h.client.upsertProducts({ products: codes.map((c) => product(c)), runId: 'cv' });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, b) => h.client.upsertProducts({ products: codes.map((c) => product(c, { supplyPrice: `${2000 + b}` })), runId: `cv-${b}` })),
    );
    const updated = results.reduce((n, r) => n + r.updated, 0);
    expect(updated).toBe(8 * 20);
    const rows = await h.pg.query<{ code: string; version: string; logs: string; max: string }>(
      `select p.code, p.version::text, count(l.seq)::text as logs, max(l.version)::text as max
       from catalog.product p join catalog.change_log l on l.product_code = p.code where p.code like 'CV%' group by p.code, p.version`,
    );
    expect(rows.rows).toHaveLength(20);
    for (const r of rows.rows) expect([r.version, r.logs, r.max]).toEqual(['9', '9', '9']);
    expect(await count(h.pg, `select count(*) as n from catalog.price_history where product_code like 'CV%'`)).toBe(8 * 20 * 2);
  });

  it('recovers when a category or brand it has seen is deleted behind its back', async () => {
    await h.client.upsertProducts({ products: [product('GONE1', { productBrandName: 'GoneBrand' })], runId: 'g1' });
    await h.pg.query(`delete from catalog.product where code = 'GONE1'; delete from catalog.brand where name = 'GoneBrand'`);
    const r = await h.client.upsertProducts({ products: [product('GONE2', { productBrandName: 'GoneBrand' })], runId: 'g2' });
    expect(r.created).toBe(1);
    expect((await h.client.getProduct({ productCode: 'GONE2' })).product?.brand).toBe('GoneBrand');
  });

  it('records a price change in the change log and the price history', async () => {
    await h.client.upsertProducts({ products: [product('PR1')], runId: 'p1' });
    const r = await h.client.upsertProducts({ products: [product('PR1', { invoicePrice: '949.5' })], runId: 'p2' });
    expect(r.results[0]?.changedFields).toEqual(['invoice_price']);
    const hist = await h.client.getPriceHistory({ productCode: 'PR1' });
    expect(hist.changes.map((c) => [c.field, c.from, c.to, c.runId])).toEqual([['invoice_price', '950', '949.5', 'p2']]);
    expect((await rpcFailure(h.client.getPriceHistory({ productCode: 'NOPE' }))).code).toBe(Code.NotFound);
    expect((await rpcFailure(h.client.getPriceHistory({ productCode: ' ' }))).code).toBe(Code.InvalidArgument);
    const ch = await h.client.readChanges({ afterSeq: 0n, limit: 1000 });
    const last = ch.changes.filter((c) => c.productCode === 'PR1').pop();
    expect(last?.kind).toBe(catalog.ChangeKind.PRICE_CHANGED);
    expect(last?.product?.invoicePrice).toBe('949.5');
    expect(last?.version).toBe(2n);
    expect(ch.headSeq).toBe(ch.changes[ch.changes.length - 1]?.seq);
  });

  it("keeps Haier's price hint (price_reason) with the prices: stored, a price change when it changes, kept when the input has no prices", async () => {
    const created = await h.client.upsertProducts({ products: [product('HINT1', { supplyPrice: undefined, invoicePrice: undefined, priceReason: '价格未生效' })], runId: 'pr-a' });
    expect(created.created).toBe(1);
    expect((await h.client.getProduct({ productCode: 'HINT1' })).product?.priceReason).toBe('价格未生效');
    const r = await h.client.upsertProducts({ products: [product('HINT1')], runId: 'pr-b' });
    expect(r.results[0]?.changedFields).toEqual(['supply_price', 'invoice_price', 'price_reason', 'display_price']);
    const [change] = (await h.client.readChanges({ afterSeq: 0n, limit: 1000 })).changes.filter((c) => c.runId === 'pr-b');
    expect(change?.kind).toBe(catalog.ChangeKind.PRICE_CHANGED);
    expect(change?.product?.priceReason).toBe('');
    expect(change?.fields.find((f) => f.field === 'price_reason')).toMatchObject({ before: '"价格未生效"', after: '""' });
    const history = await h.client.getPriceHistory({ productCode: 'HINT1', limit: 10 });
    expect(history.changes.map((c) => c.field).sort()).toEqual(['display_price', 'invoice_price', 'supply_price']);
    await h.client.upsertProducts({ products: [product('HINT1', { priceReason: '商品暂不可采' })], runId: 'pr-c' });
    const kept = await h.client.upsertProducts({ products: [product('HINT1', { hasPrices: false, supplyPrice: undefined, invoicePrice: undefined })], runId: 'pr-d' });
    expect(kept.unchanged).toBe(1);
    expect((await h.client.getProduct({ productCode: 'HINT1' })).product?.priceReason).toBe('商品暂不可采');
  });

  it('keeps stored prices when the input carries none', async () => {
    await h.client.upsertProducts({ products: [product('HP1')], runId: 'a' });
    const r = await h.client.upsertProducts({ products: [product('HP1', { hasPrices: false, supplyPrice: undefined, invoicePrice: undefined })], runId: 'b' });
    expect(r.unchanged).toBe(1);
    expect((await h.client.getProduct({ productCode: 'HP1' })).product?.supplyPrice).toBe('1000');
  });

  it('answers FAILED with a reason per bad item and writes the rest, in one call', async () => {
    const products = Array.from({ length: 20 }, (_, i) => product(`PI${String(i).padStart(2, '0')}`));
    products[4] = product('PI04', { supplyPrice: '12.3.4' });
    products[13] = product('');
    const r = await h.client.upsertProducts({ products, runId: 'per-item' });
    expect([r.created, r.updated, r.unchanged, r.failed]).toEqual([18, 0, 0, 2]);
    expect(r.results.map((x) => x.productCode)).toEqual(products.map((p) => p.productCode));
    const failed = r.results.filter((x) => x.outcome === catalog.ItemOutcome.FAILED);
    expect(failed.map((x) => [x.productCode, x.reason])).toEqual([
      ['PI04', 'supply_price "12.3.4" is not a decimal number (expected digits with an optional "." fraction, e.g. "1299.50"); fix the value in Haier\'s price answer or leave it unset, then sync the product again'],
      ['', "item 13: product_code is empty; every product needs Haier's productCode"],
    ]);
    expect(r.results.filter((x) => x.outcome === catalog.ItemOutcome.CREATED)).toHaveLength(18);
    expect(await count(h.pg, `select count(*) as n from catalog.product where code like 'PI%'`)).toBe(18);
    expect(await count(h.pg, `select count(*) as n from catalog.product where code in ('PI04', '')`)).toBe(0);
    expect(await count(h.pg, `select count(*) as n from catalog.change_log where run_id = 'per-item'`)).toBe(18);
  });

  it('fails every copy of a code sent twice and a code that is too long, writing the rest', async () => {
    const long = 'L'.repeat(41);
    const r = await h.client.upsertProducts({ products: [product('DUP1'), product('OK1'), product('DUP1', { productModel: 'other' }), product(long)], runId: 'dup' });
    expect(r.results.map((x) => [x.productCode, catalog.ItemOutcome[x.outcome]])).toEqual([
      ['DUP1', 'FAILED'],
      ['OK1', 'CREATED'],
      ['DUP1', 'FAILED'],
      [long, 'FAILED'],
    ]);
    expect(r.results[0]!.reason).toBe('product_code "DUP1" is sent 2 times in this batch (items 0, 2); none of them was written: send each product once');
    expect(r.results[3]!.reason).toBe(`product_code ${JSON.stringify(long)} is not a Haier product code: 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. GA0SZC00U); check the code Haier sent`);
    expect(await count(h.pg, `select count(*) as n from catalog.product where code in ('DUP1', $1)`, [long])).toBe(0);
  });

  it('rejects a batch over the size limit as a whole with INVALID_ARGUMENT', async () => {
    const err = await rpcFailure(h.client.upsertProducts({ products: Array.from({ length: 1001 }, (_, i) => product(`BIG${i}`)), runId: 'bad' }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^products: has 1001 items, more than the 1000 allowed in one request/);
    expect(await count(h.pg, `select count(*) as n from catalog.product where code like 'BIG%'`)).toBe(0);
  });

  it('stores a non-http image URL as empty with a warning, not blocking the batch', async () => {
    const r = await h.client.upsertProducts({ products: [product('IMG1', { productImageUrl: 'javascript:alert(1)' }), product('IMG2')], runId: 'i' });
    expect(r.created).toBe(2);
    expect(r.results[0]?.reason).toMatch(/not an http\(s\) URL/);
    expect((await h.client.getProduct({ productCode: 'IMG1' })).product?.productImageUrl).toBe('');
  });

  it('a transaction failing midway leaves neither the product change nor its log row', async () => {
    await h.client.upsertProducts({ products: [product('TX1'), product('TX2')], runId: 'tx' });
    await h.pg.query(`create function catalog.test_fail() returns trigger language plpgsql as $$ begin raise exception 'injected failure'; end $$`);
    await h.pg.query(`create trigger test_fail before insert on catalog.change_log for each row when (new.product_code = 'TX2') execute function catalog.test_fail()`);
    try {
      const err = await rpcFailure(h.client.upsertProducts({ products: [product('TX1', { productModel: 'NEW' }), product('TX2', { productModel: 'NEW' }), product('TX3')], runId: 'tx-fail' }));
      expect(err.code).toBe(Code.Internal);
      expect(err.message).not.toMatch(/injected|insert|select/);
    } finally {
      await h.pg.query(`drop trigger test_fail on catalog.change_log; drop function catalog.test_fail()`);
    }
    const rows = await h.pg.query(`select code, product_model, version from catalog.product where code like 'TX%' order by code`);
    expect(rows.rows).toEqual([
      { code: 'TX1', product_model: 'M-TX1', version: '1' },
      { code: 'TX2', product_model: 'M-TX2', version: '1' },
    ]);
    expect(await count(h.pg, `select count(*) as n from catalog.change_log where run_id = 'tx-fail'`)).toBe(0);
  });
});

describe('concurrency', () => {
  it('8 concurrent batches introducing the same new brand and category create one of each', async () => {
    const batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: 25 }, (_, i) => product(`CC${b}-${i}`, { productBrandName: 'NewBrand', productGroupName: 'NewCategory' })),
    );
    const results = await Promise.all(batches.map((products, i) => h.client.upsertProducts({ products, runId: `cc-${i}` })));
    expect(results.reduce((s, r) => s + r.created, 0)).toBe(200);
    expect(await count(h.pg, `select count(*) as n from catalog.brand where name = 'NewBrand'`)).toBe(1);
    expect(await count(h.pg, `select count(*) as n from catalog.category where name = 'NewCategory'`)).toBe(1);
    const brands = await h.client.listBrands({});
    expect(brands.brands.find((b) => b.name === 'NewBrand')?.productCount).toBe(200n);
  });

  it('8 concurrent batches with the same new codes create each once', async () => {
    const products = Array.from({ length: 30 }, (_, i) => product(`SAME${i}`, { productBrandName: 'RaceBrand' }));
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => h.client.upsertProducts({ products, runId: `same-${i}` })));
    expect(results.reduce((s, r) => s + r.created, 0)).toBe(30);
    expect(results.reduce((s, r) => s + r.unchanged, 0)).toBe(30 * 7);
    expect(await count(h.pg, `select count(*) as n from catalog.change_log where product_code like 'SAME%'`)).toBe(30);
  });
});

describe('prices, pins, delisting, stock', () => {
  it('display price follows supply > invoice > market, and a pin wins and survives a sync', async () => {
    await h.client.upsertProducts({
      products: [
        product('DP1'),
        product('DP2', { supplyPrice: undefined }),
        product('DP3', { supplyPrice: undefined, invoicePrice: undefined, marketPrice: '1999.99' }),
      ],
      runId: 'dp',
    });
    const dp = async (c: string) => (await h.client.getProduct({ productCode: c })).product?.displayPrice;
    expect([await dp('DP1'), await dp('DP2'), await dp('DP3')]).toEqual(['1000', '950', '1999.99']);

    const pinned = await h.client.pinPrice({ productCode: 'DP1', price: '888.80', actor: 'ops-key' });
    expect(pinned.product?.pinnedPrice).toBe('888.8');
    expect(pinned.product?.displayPrice).toBe('888.8');
    expect(pinned.product?.version).toBe(2n);
    const sync = await h.client.upsertProducts({ products: [product('DP1', { supplyPrice: '1100' })], runId: 'dp2' });
    expect(sync.results[0]?.changedFields).toEqual(['supply_price']);
    const after = (await h.client.getProduct({ productCode: 'DP1' })).product;
    expect([after?.supplyPrice, after?.pinnedPrice, after?.displayPrice]).toEqual(['1100', '888.8', '888.8']);
    const unpinned = await h.client.unpinPrice({ productCode: 'DP1', actor: 'ops-key' });
    expect(unpinned.product?.pinnedPrice).toBeUndefined();
    expect(unpinned.product?.displayPrice).toBe('1100');
    const actors = await h.pg.query(`select actor, kind from catalog.change_log where product_code = 'DP1' and actor <> '' order by seq`);
    expect(actors.rows).toEqual([
      { actor: 'ops-key', kind: 'price_changed' },
      { actor: 'ops-key', kind: 'price_changed' },
    ]);
    expect((await rpcFailure(h.client.pinPrice({ productCode: 'DP1', price: 'abc' }))).code).toBe(Code.InvalidArgument);
    expect((await rpcFailure(h.client.pinPrice({ productCode: 'NOPE', price: '1' }))).code).toBe(Code.NotFound);
  });

  it('delists what a full listing no longer has, and relists it when it comes back', async () => {
    await h.client.upsertProducts({ products: [product('DL1'), product('DL2')], runId: 'dl' });
    const all = await h.pg.query<{ code: string }>(`select code from catalog.product`);
    const seen = all.rows.map((r) => r.code).filter((c) => c !== 'DL2');
    const dry = await h.client.markDelisted({ codesSeen: seen, runId: 'dl-dry', dryRun: true });
    expect(dry.delisted).toEqual(['DL2']);
    expect(await count(h.pg, `select count(*) as n from catalog.product where delisted_at is not null`)).toBe(0);
    const r = await h.client.markDelisted({ codesSeen: seen, runId: 'dl-1' });
    expect(r).toMatchObject({ delisted: ['DL2'], relisted: [] });
    const p = (await h.client.getProduct({ productCode: 'DL2' })).product;
    expect(p?.delistedAt).toBeDefined();
    expect(p?.version).toBe(2n);
    const listed = await h.client.listProducts({ query: 'DL', pageSize: 10 });
    expect(listed.products.map((x) => x.productCode)).toEqual(['DL1']);
    const back = await h.client.markDelisted({ codesSeen: [...seen, 'DL2'], runId: 'dl-2' });
    expect(back).toMatchObject({ delisted: [], relisted: ['DL2'] });
    const kinds = await h.pg.query(`select kind from catalog.change_log where product_code = 'DL2' order by seq`);
    expect(kinds.rows.map((k) => k.kind)).toEqual(['created', 'delisted', 'relisted']);
    expect((await rpcFailure(h.client.markDelisted({ codesSeen: [], runId: 'x' }))).code).toBe(Code.InvalidArgument);
  });

  it('stock sums over warehouses, headline from the default county, unchanged stock writes nothing', async () => {
    await h.client.upsertProducts({ products: [product('ST1')], runId: 'st' });
    const wh = (county: string, sec: string, q: bigint) =>
      create(catalog.StockInputSchema, { productCode: 'ST1', countyCode: county, quantity: q, bestSecCode: sec, bestWarehouseGrade: '0', cutTime: '16:00', achieveUserOrderCut: '2025-06-02', hour: '24' });
    const items = [wh('110101', 'HFR1', 5n), wh('110101', 'HFR2', 30n), wh('310101', 'SH1', 4n), create(catalog.StockInputSchema, { productCode: 'NOPE', countyCode: '110101', quantity: 1n })];
    const r = await h.client.updateStock({ items, runId: 'st1' });
    expect(r.updated).toBe(1);
    expect(r.failed).toBe(1);
    const p = (await h.client.getProduct({ productCode: 'ST1' })).product;
    expect(p?.stock).toBe(35n);
    expect(p?.countyStock.map((c) => [c.countyCode, c.quantity, c.bestSecCode])).toEqual([
      ['110101', 35n, 'HFR2'],
      ['310101', 4n, 'SH1'],
    ]);
    const again = await h.client.updateStock({ items: items.slice(0, 3), runId: 'st2' });
    expect(again.unchanged).toBe(1);
    expect(await logRows('ST1')).toBe(2);
    const bad = await h.client.updateStock({ items: [wh('110101', 'HFR1', 1n), wh('310101', 'SH1', -2n)], runId: 'st-bad' });
    expect(bad.results.map((x) => [x.productCode, catalog.ItemOutcome[x.outcome], x.reason])).toEqual([['ST1', 'FAILED', 'item 1: quantity -2 is negative; check the stock Haier sent']]);
    expect([bad.updated, bad.unchanged, bad.failed]).toEqual([0, 0, 1]);
    expect(await logRows('ST1')).toBe(2);
    const only = await h.client.updateStock({ items: [wh('310101', 'SH1', 9n)], runId: 'st3' });
    expect(only.results[0]?.changedFields).toEqual(['county_stock.310101']);
    expect((await h.client.getProduct({ productCode: 'ST1' })).product?.stock).toBe(35n);
  });
  it('UpdateStock answers FAILED with a reason per bad product and writes the rest, in one call', async () => {
    await h.client.upsertProducts({ products: [product('SF1'), product('SF2'), product('SF3')], runId: 'sf' });
    const st = (code: string, county: string, q: bigint) => create(catalog.StockInputSchema, { productCode: code, countyCode: county, quantity: q, bestSecCode: 'W' });
    const r = await h.client.updateStock({
      items: [st('SF1', '110101', 5n), st('SF2', '110101', 3n), st('SF2', '31010', 1n), st('SF3', '110101', -1n), st('SF3', '310101', 2n), st('SF-NONE', '110101', 1n), st('', '110101', 1n)],
      runId: 'sf-stock',
    });
    expect(r.results.map((x) => [x.productCode, catalog.ItemOutcome[x.outcome], x.reason])).toEqual([
      ['', 'FAILED', "item 6: product_code is empty; every stock entry needs Haier's productCode"],
      ['SF-NONE', 'FAILED', 'unknown product_code "SF-NONE": upsert the product before its stock'],
      ['SF1', 'UPDATED', ''],
      ['SF2', 'FAILED', 'item 2: county_code "31010" is not a county code: 6 digits, the national county code (e.g. 110101); check the county the stock was asked for'],
      ['SF3', 'FAILED', 'item 3: quantity -1 is negative; check the stock Haier sent'],
    ]);
    expect([r.updated, r.unchanged, r.failed]).toEqual([1, 0, 4]);
    const stocked = await h.pg.query<{ product_code: string }>(`select product_code from catalog.product_stock where product_code like 'SF%' order by 1`);
    expect(stocked.rows.map((x) => x.product_code)).toEqual(['SF1']);
    expect(await count(h.pg, `select count(*) as n from catalog.change_log where run_id = 'sf-stock'`)).toBe(1);
  });

  it('MarkDelisted refuses an empty code in codes_seen as a whole, naming the entry', async () => {
    const err = await rpcFailure(h.client.markDelisted({ codesSeen: ['A', 'A', ''], runId: 'dl-bad' }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toBe('codes_seen[2]: is empty: every code seen in the listing is a product code; drop the empty entry');
    expect(err.metadata.get('x-invalid-field')).toBe('codes_seen[2]');
  });
});

describe('reads', () => {
  it('cursor pagination returns every product exactly once while products are updated', async () => {
    const codes = Array.from({ length: 90 }, (_, i) => `PG${String(i).padStart(3, '0')}`);
    await h.client.upsertProducts({ products: codes.map((c) => product(c, { productBrandName: 'PageBrand' })), runId: 'pg' });
    for (const sort of [catalog.ProductSort.CODE, catalog.ProductSort.NAME]) {
      for (const descending of [false, true]) {
        const seen: string[] = [];
        let cursor = '';
        let round = 0;
        do {
          const page = await h.client.listProducts({ brand: 'PageBrand', sort, descending, pageSize: 7, cursor });
          seen.push(...page.products.map((p) => p.productCode));
          cursor = page.nextCursor;
          // meanwhile a sync changes prices and models of products on both sides of the cursor
          const touched = [codes[(round * 13) % 90]!, codes[(round * 29 + 5) % 90]!];
          await h.client.upsertProducts({ products: touched.map((c) => product(c, { productBrandName: 'PageBrand', supplyPrice: `${1000 + round + sort}`, productModel: `X${round}${descending}` })), runId: `pg-${round}` });
          round++;
        } while (cursor);
        expect(seen).toHaveLength(90);
        expect(new Set(seen).size).toBe(90);
      }
    }
    const bad = await rpcFailure(h.client.listProducts({ cursor: 'garbage', pageSize: 5 }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect((await rpcFailure(h.client.listProducts({ pageSize: 501 }))).code).toBe(Code.InvalidArgument);
  });

  it('with_total counts what the filters match over all pages, the same on every page; without it there is no total', async () => {
    const codes = Array.from({ length: 23 }, (_, i) => `TT${String(i).padStart(3, '0')}`);
    await h.client.upsertProducts({ products: codes.map((c, i) => product(c, { productBrandName: 'TotalBrand', supplyPrice: `${100 + i}` })), runId: 'tt' });
    let cursor = '';
    let seen = 0;
    do {
      const page = await h.client.listProducts({ brand: 'TotalBrand', pageSize: 5, cursor, withTotal: true });
      expect(page.total).toBe(23n);
      seen += page.products.length;
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toBe(23);
    expect((await h.client.listProducts({ brand: 'TotalBrand', minPrice: '110', withTotal: true })).total).toBe(13n);
    expect((await h.client.listProducts({ brand: 'TotalBrand' })).total).toBeUndefined();
  });

  it('every sort pages through with the cursors it hands out; a tampered cursor is INVALID_ARGUMENT naming the field, not a failing cast', async () => {
    const codes = Array.from({ length: 30 }, (_, i) => `SK${String(i).padStart(3, '0')}`);
    await h.client.upsertProducts({ products: codes.map((c, i) => product(c, { productBrandName: 'SortBrand', supplyPrice: i % 4 === 0 ? undefined : `${100 + (i % 7)}.5` })), runId: 'sk' });
    for (const sort of [catalog.ProductSort.DISPLAY_PRICE, catalog.ProductSort.UPDATED_AT, catalog.ProductSort.STOCK]) {
      for (const descending of [false, true]) {
        const seen: string[] = [];
        let cursor = '';
        do {
          const page = await h.client.listProducts({ brand: 'SortBrand', sort, descending, pageSize: 4, cursor });
          seen.push(...page.products.map((p) => p.productCode));
          cursor = page.nextCursor;
        } while (cursor);
        expect(new Set(seen).size).toBe(30);
      }
    }
    // a NUL in any filter is refused at the door (no statement fails on it)
    for (const [req, field] of [[{ category: 'x\u0000' }, 'category'], [{ brand: 'SortBrand\u0000' }, 'brand'], [{ query: '\u0000' }, 'query']] as const) {
      const e = await rpcFailure(h.client.listProducts({ ...req, pageSize: 5 }));
      expect([field, e.code, e.metadata.get(FIELD_HEADER)]).toEqual([field, Code.InvalidArgument, field]);
    }
    // in a batch, the product with a NUL fails alone; the rest is written
    const mixed = await h.client.upsertProducts({ products: [product('NUL1', { productName: 'bad\u0000name' }), product('NUL2')], runId: 'nul' });
    expect(mixed.results.map((r) => r.outcome === catalog.ItemOutcome.FAILED)).toEqual([true, false]);
    expect(mixed.results[0]?.reason).toContain('cannot store');
    const tampered = Buffer.from(JSON.stringify(['display_price', false, 'abc', 'SK001'])).toString('base64url');
    const bad = await rpcFailure(h.client.listProducts({ sort: catalog.ProductSort.DISPLAY_PRICE, cursor: tampered, pageSize: 5 }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toContain('not a price');
    expect(bad.metadata.get(FIELD_HEADER)).toBe('cursor');
  });

  it('filters by category, procurable, text, price range and changed since; sorts by price', async () => {
    const since = new Date();
    await new Promise((r) => setTimeout(r, 5));
    await h.client.upsertProducts({
      products: [
        product('FL1', { productGroupName: 'Fridge', supplyPrice: '10', productName: 'Cold box' }),
        product('FL2', { productGroupName: 'Fridge', supplyPrice: '20.5', isSales: false }),
        product('FL3', { productGroupName: 'Fridge', supplyPrice: undefined, invoicePrice: undefined }),
      ],
      runId: 'fl',
    });
    const codes = async (req: Omit<Partial<catalog.ListProductsRequest>, '$typeName'>) => (await h.client.listProducts({ category: 'Fridge', ...req })).products.map((p) => p.productCode);
    expect(await codes({})).toEqual(['FL1', 'FL2', 'FL3']);
    expect(await codes({ isSales: false })).toEqual(['FL2']);
    expect(await codes({ query: 'cold' })).toEqual(['FL1']);
    expect(await codes({ minPrice: '10.01', maxPrice: '20.50' })).toEqual(['FL2']);
    expect(await codes({ sort: catalog.ProductSort.DISPLAY_PRICE, descending: true })).toEqual(['FL2', 'FL1', 'FL3']);
    expect(await codes({ sort: catalog.ProductSort.DISPLAY_PRICE, pageSize: 2 })).toEqual(['FL1', 'FL2']);
    expect(await codes({ changedSince: timestampFromDate(since) })).toEqual(['FL1', 'FL2', 'FL3']);
    expect(await codes({ changedSince: timestampFromDate(new Date(Date.now() + 60_000)) })).toEqual([]);
    expect((await rpcFailure(h.client.listProducts({ minPrice: '1,5' }))).code).toBe(Code.InvalidArgument);
    const cats = await h.client.listCategories({});
    expect(cats.categories.find((c) => c.name === 'Fridge')?.productCount).toBe(3n);
  });

  it('answers stats and ReadChanges in seq order', async () => {
    const s = await h.client.stats({});
    const products = await count(h.pg, `select count(*) as n from catalog.product`);
    expect(s.products).toBe(BigInt(products));
    expect(s.listed + s.delisted).toBe(s.products);
    expect(s.lastSyncedAt).toBeDefined();
    expect(s.categories).toBe(BigInt(await count(h.pg, `select count(*) as n from catalog.category`)));
    expect(s.brands).toBe(BigInt(await count(h.pg, `select count(*) as n from catalog.brand`)));
    expect(s.pinned).toBe(BigInt(await count(h.pg, `select count(*) as n from catalog.product where pinned_price is not null`)));
    expect(s.procurable).toBe(BigInt(await count(h.pg, `select count(*) as n from catalog.product where is_sales and delisted_at is null`)));
    expect(s.products).toBeGreaterThan(0n);
    const page = await h.client.readChanges({ afterSeq: 3n, limit: 5 });
    const seqs = page.changes.map((c) => c.seq);
    expect(seqs).toHaveLength(5);
    expect(seqs.every((q, k) => q > 3n && (k === 0 || q > seqs[k - 1]!))).toBe(true);
    expect(page.changes[0]?.product?.productCode).toBe(page.changes[0]?.productCode);
    expect(page.headSeq).toBe(s.headSeq);
    expect((await rpcFailure(h.client.readChanges({ limit: 1001 }))).code).toBe(Code.InvalidArgument);
    // numeric order across a power of ten (99 < 100)
    expect(s.headSeq).toBeGreaterThan(110n);
    const across = (await h.client.readChanges({ afterSeq: 95n, limit: 10 })).changes.map((c) => c.seq);
    const expected = await h.pg.query<{ s: string }>(`select seq::text as s from catalog.change_log where seq > 95 order by seq limit 10`);
    expect(across).toEqual(expected.rows.map((r) => BigInt(r.s)));
  });
});
