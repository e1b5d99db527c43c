// The synced catalog: products (filters, sort, cursor pages), one product, its price history,
// categories, brands; the per-product actions (sync stock / price now: MANUAL runs of one product
// through the orchestrator) and the pinned price.
import { durationFromMs, durationMs, timestampDate, timestampFromDate, type Duration } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError } from '@connectrpc/connect';
import { catalog, sync } from '@haier-sync/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EdgeContext } from '../context';
import { productSchema, codeParam, countySchema, dataAnswer, errors, listAnswer, moneySchema, moreFields, noQuery, nullableNumber, nullableString } from '../schemas';
import { priceChangeOut, productOut } from '../domain/catalog-view';
import { isFinished, iso } from '../domain/run-view';
import { badRequest, EdgeError } from '../domain/errors';
import { PER_PRODUCT_ACTION_CALLS } from '../call-budget';

const SORTS: Record<string, catalog.ProductSort> = {
  code: catalog.ProductSort.CODE,
  name: catalog.ProductSort.NAME,
  display_price: catalog.ProductSort.DISPLAY_PRICE,
  updated_at: catalog.ProductSort.UPDATED_AT,
  stock: catalog.ProductSort.STOCK,
};
const SORT_PATTERN = `^-?(${Object.keys(SORTS).join('|')})$`;

interface ListQuery {
  category?: string;
  brand?: string;
  is_sales?: boolean;
  q?: string;
  min_price?: string;
  max_price?: string;
  changed_since?: string;
  sort?: string;
  page_size?: number;
  cursor?: string;
  include_delisted?: boolean;
  with_total?: boolean;
}

/**
 * Catalog reads may be kept by the caller (never by a shared cache: answers depend on the key)
 * and must be revalidated each time: their weak ETag makes that a 304 when nothing changed.
 */
const REVALIDATE = 'private, no-cache';
/** A catalog read: any key, revalidated by the caller, kept by the edge's read cache (read-cache.ts). */
const CATALOG_READ = { role: 'viewer', cacheControl: REVALIDATE, readCache: true } as const;

export function catalogRoutes(app: FastifyInstance, ctx: EdgeContext): void {
  const { catalog: cat, sync: runs } = ctx.clients;

  async function product(code: string): Promise<catalog.Product> {
    const r = await cat.getProduct({ productCode: code });
    if (!r.product) throw new EdgeError(404, 'NOT_FOUND', `No product ${code} in the catalog; run a sync or check the code.`);
    return r.product;
  }

  app.get<{ Querystring: ListQuery }>(
    '/api/haier/catalog/products/',
    {
      config: CATALOG_READ,
      schema: {
        tags: ['catalog'],
        operationId: 'listProducts', summary: 'Synced products: filters, sort and cursor pagination',
        querystring: {
          type: 'object',
          properties: {
            category: { type: 'string', maxLength: 200 },
            brand: { type: 'string', maxLength: 200 },
            is_sales: { type: 'boolean' },
            q: { type: 'string', maxLength: 200, description: 'Text in name, model or code (case-insensitive)' },
            min_price: moneySchema,
            max_price: moneySchema,
            changed_since: { type: 'string', format: 'date-time' },
            sort: { type: 'string', pattern: SORT_PATTERN, description: `One of ${Object.keys(SORTS).join(', ')}; prefix "-" for descending` },
            page_size: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
            // opaque to the edge (the catalog checks what it holds): its alphabet at least
            cursor: { type: 'string', maxLength: 1000, pattern: '^[A-Za-z0-9_-]+$', description: 'next_cursor of the previous page (with the same sort)' },
            include_delisted: { type: 'boolean', default: false },
            with_total: { type: 'boolean', default: false, description: 'Also answer total: the products the filters match over all pages (one more count query)' },
          },
          additionalProperties: false,
        },
        response: listAnswer(productSchema, { ...moreFields, total: { type: 'integer', description: 'with with_total: the products the filters match over all pages' } }),
      },
    },
    async (req) => {
      const q = req.query;
      const desc = q.sort?.startsWith('-') ?? false;
      const sortName = q.sort?.replace(/^-/, '');
      if (q.min_price && q.max_price && Number(q.min_price) > Number(q.max_price)) throw badRequest('min_price', `is above max_price (${q.min_price} > ${q.max_price})`);
      let changedSince;
      if (q.changed_since) {
        const d = new Date(q.changed_since);
        if (Number.isNaN(d.getTime())) throw badRequest('changed_since', 'is not a date-time such as 2026-01-31T00:00:00Z');
        changedSince = timestampFromDate(d);
      }
      const r = await cat.listProducts({
        category: q.category ?? '',
        brand: q.brand ?? '',
        isSales: q.is_sales,
        query: q.q ?? '',
        minPrice: q.min_price,
        maxPrice: q.max_price,
        changedSince,
        sort: sortName ? (SORTS[sortName] ?? catalog.ProductSort.CODE) : catalog.ProductSort.CODE,
        descending: desc,
        pageSize: q.page_size ?? 50,
        cursor: q.cursor ?? '',
        includeDelisted: q.include_delisted ?? false,
        withTotal: q.with_total ?? false,
      });
      const results = r.products.map(productOut);
      return { success: true, count: results.length, ...(r.total === undefined ? {} : { total: Number(r.total) }), has_more: r.nextCursor !== '', results, next_cursor: r.nextCursor || null };
    },
  );

  app.get<{ Params: { code: string } }>(
    '/api/haier/catalog/products/:code/',
    { config: CATALOG_READ, schema: { tags: ['catalog'], operationId: 'getProduct', summary: 'One synced product, with its stock per county', params: codeParam, response: dataAnswer(productSchema) } },
    async (req) => ({ success: true, data: productOut(await product(req.params.code)) }),
  );

  app.get<{ Params: { code: string }; Querystring: { limit?: number } }>(
    '/api/haier/catalog/products/:code/price-history/',
    {
      config: CATALOG_READ,
      schema: {
        tags: ['catalog'],
        operationId: 'getPriceHistory', summary: "A product's price changes, newest first",
        params: codeParam,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } }, additionalProperties: false },
        response: dataAnswer({
          type: 'array',
          items: { type: 'object', properties: { field: { type: 'string' }, from: { type: ['string', 'null'] }, to: { type: ['string', 'null'] }, changed_at: { type: ['string', 'null'] }, run_id: { type: 'string' } } },
        }),
      },
    },
    async (req) => {
      await product(req.params.code); // 404 for an unknown code rather than an empty history
      const r = await cat.getPriceHistory({ productCode: req.params.code, limit: req.query.limit ?? 100 });
      return { success: true, data: r.changes.map(priceChangeOut) };
    },
  );

  const named = { type: 'array', items: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' }, product_count: { type: 'integer' } } } } as const;
  app.get('/api/haier/catalog/categories/', { config: CATALOG_READ, schema: { tags: ['catalog'], operationId: 'listCategories', summary: 'Categories with their product counts', querystring: noQuery, response: dataAnswer(named) } }, async () => {
    const r = await cat.listCategories({});
    return { success: true, data: r.categories.map((c) => ({ id: Number(c.id), name: c.name, product_count: Number(c.productCount) })) };
  });
  app.get('/api/haier/catalog/brands/', { config: CATALOG_READ, schema: { tags: ['catalog'], operationId: 'listBrands', summary: 'Brands with their product counts', querystring: noQuery, response: dataAnswer(named) } }, async () => {
    const r = await cat.listBrands({});
    return { success: true, data: r.brands.map((c) => ({ id: Number(c.id), name: c.name, product_count: Number(c.productCount) })) };
  });

  // the catalog's counts, how old the procurable products' prices are and the low-stock products' stock (the freshness sweep's figures)
  const seconds = (d: Duration | undefined): number | null => (d ? durationMs(d) / 1000 : null);
  const ageSchema = { ...nullableNumber, description: 'seconds' } as const;
  /** One age distribution (PriceAges / StockAges): its schema and its answer. */
  const agesSchema = (description: string, over: string) => ({
    type: 'object',
    description,
    properties: {
      p50_s: ageSchema,
      p99_s: ageSchema,
      max_s: ageSchema,
      max_age_s: { type: ['integer', 'null'] },
      over_max_age: { type: 'integer', description: over },
      never_checked: { type: 'integer' },
    },
  }) as const;
  const agesAnswer = (a: catalog.PriceAges | catalog.StockAges | undefined, maxAge: number | undefined) => ({
    p50_s: seconds(a?.p50),
    p99_s: seconds(a?.p99),
    max_s: seconds(a?.max),
    max_age_s: maxAge ?? null,
    over_max_age: Number(a?.overMaxAge ?? 0n),
    never_checked: Number(a?.neverChecked ?? 0n),
  });
  const maxAgeParam = (what: string, example: string) =>
    ({ type: 'integer', minimum: 1, maximum: 31 * 86_400, description: `count the ${what} was checked longer ago than this many seconds (e.g. ${example})` }) as const;
  const stockAges = agesSchema(
    "now - stock_checked_at over the low-stock products (listed, headline stock below the catalog's SYNC_LOW_STOCK_THRESHOLD; a stock never checked counts from when the product was first seen)",
    'low-stock products whose stock is older than stock_max_age_s (0 without it)',
  );
  app.get<{ Querystring: { max_age_s?: number; stock_max_age_s?: number } }>(
    '/api/haier/catalog/stats/',
    {
      // not kept by the read cache: its ages are of now and of the check stamps
      config: { role: 'viewer', cacheControl: REVALIDATE },
      schema: {
        tags: ['catalog'],
        operationId: 'getCatalogStats',
        summary: "The catalog's counts, the age of its procurable products' prices and of its low-stock products' stock (p50, p99, max; how many are older than max_age_s / stock_max_age_s)",
        querystring: {
          type: 'object',
          properties: {
            max_age_s: maxAgeParam('procurable products whose price', '600 for SYNC_PRICE_MAX_AGE=10m'),
            stock_max_age_s: maxAgeParam('low-stock products whose stock', '900 for SYNC_LOW_STOCK_MAX_AGE=15m'),
          },
          additionalProperties: false,
        },
        response: dataAnswer({
          type: 'object',
          properties: {
            products: { type: 'integer' },
            listed: { type: 'integer' },
            delisted: { type: 'integer' },
            procurable: { type: 'integer' },
            categories: { type: 'integer' },
            brands: { type: 'integer' },
            pinned: { type: 'integer' },
            last_synced_at: nullableString,
            price_age: agesSchema(
              'now - price_checked_at over the procurable products (a price never checked counts from when the product was first seen)',
              'procurable products whose price is older than max_age_s (0 without it)',
            ),
            stock_age: {
              ...stockAges,
              properties: {
                ...stockAges.properties,
                low_stock: { type: 'integer', description: 'low-stock products now' },
                below: { type: 'integer', description: 'the threshold: headline stock below it is low' },
              },
            },
          },
        }),
      },
    },
    async (req) => {
      const { max_age_s: maxAge, stock_max_age_s: stockMaxAge } = req.query;
      const asDuration = (s: number | undefined) => (s === undefined ? undefined : durationFromMs(s * 1000));
      const s = await cat.stats({ priceMaxAge: asDuration(maxAge), stockMaxAge: asDuration(stockMaxAge) });
      return {
        success: true,
        data: {
          products: Number(s.products),
          listed: Number(s.listed),
          delisted: Number(s.delisted),
          procurable: Number(s.procurable),
          categories: Number(s.categories),
          brands: Number(s.brands),
          pinned: Number(s.pinned),
          last_synced_at: s.lastSyncedAt ? timestampDate(s.lastSyncedAt).toISOString() : null,
          price_age: agesAnswer(s.priceAge, maxAge),
          stock_age: { ...agesAnswer(s.stockAge, stockMaxAge), low_stock: Number(s.stockAge?.lowStock ?? 0n), below: Number(s.stockAge?.below ?? 0n) },
        },
      };
    },
  );

  /**
   * One product through the orchestrator: a MANUAL run scoped to its code (the same merge, counts
   * and run id as any sync), waited for until it ends. Longer than EDGE_ACTION_TIMEOUT_MS: 504
   * naming the run, which goes on. A run that failed: 502 with Haier's (or the catalog's) reason.
   */
  async function syncOne(req: FastifyRequest, code: string, what: string, options: { prices?: boolean; stock?: boolean; countyCodes?: string[] }): Promise<sync.Run> {
    // the run asks Haier for the product record, then its prices or its stock in one county: two
    // calls, spent from the key's call budget like a live lookup (429 past it, before any run)
    await ctx.callBudget.spend(req.auth, PER_PRODUCT_ACTION_CALLS);
    const started = await runs.startRun({
      syncType: sync.SyncType.MANUAL,
      mode: sync.RunMode.INCREMENTAL,
      trigger: sync.RunTrigger.MANUAL,
      scope: { productCodes: [code] },
      options,
      startedBy: req.auth?.name ?? '',
    });
    if (!started.run) throw new EdgeError(502, 'UPSTREAM_ERROR', 'The sync orchestrator answered without a run; see its log.');
    const id = started.run.id;
    // the same request while one runs answers that run (already_active): waiting for it is right too
    let run = started.run;
    const timeoutMs = app.edge.config.actionTimeoutMs;
    try {
      for await (const m of runs.watchRun({ id }, { signal: AbortSignal.timeout(timeoutMs), timeoutMs })) if (m.run) run = m.run;
      if (!isFinished(run)) run = (await runs.getRun({ id })).run ?? run;
    } catch (err) {
      const ce = ConnectError.from(err);
      if (ce.code !== Code.Canceled && ce.code !== Code.DeadlineExceeded) throw err;
    }
    if (!isFinished(run)) {
      throw new EdgeError(504, 'RUN_TIMEOUT', `Syncing ${what} of ${code} (run ${id}) has not ended after ${timeoutMs / 1000} s; it goes on: follow it at /api/haier/sync/${id}/.`, undefined, { runId: id });
    }
    if (run.status !== sync.RunStatus.SUCCESS) {
      const why = run.failedItems.find((f) => f.productCode === code)?.reason ?? run.message;
      throw new EdgeError(502, 'SYNC_FAILED', `Syncing ${what} of ${code} failed (run ${id}): ${why}`, undefined, { runId: id });
    }
    return run;
  }

  const stockEntry = (p: catalog.Product, county: string) => {
    const c = p.countyStock.find((x) => x.countyCode === county);
    return c ? JSON.stringify([c.quantity.toString(), c.bestSecCode, c.bestWarehouseGrade, c.cutTime, c.achieveUserOrderCut, c.hour]) : undefined;
  };

  app.post<{ Params: { code: string }; Body: { county_code: string } }>(
    '/api/haier/catalog/products/:code/sync-stock/',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['catalog'],
        operationId: 'syncProductStock', summary: "Sync this product's stock in one county from Haier now (a MANUAL run of this product; waits for it)",
        params: codeParam,
        body: { type: 'object', properties: { county_code: countySchema }, required: ['county_code'], additionalProperties: false },
        response: dataAnswer(productSchema, { changed: { type: 'boolean' }, message: { type: 'string' }, run_id: { type: 'string' } }),
      },
    },
    async (req) => {
      const { code } = req.params;
      const county = req.body.county_code;
      const before = await product(code); // 404 for an unknown code, before any run
      const run = await syncOne(req, code, 'the stock', { stock: true, countyCodes: [county] });
      const after = await product(code);
      const changed = stockEntry(before, county) !== stockEntry(after, county);
      const quantity = after.countyStock.find((x) => x.countyCode === county)?.quantity ?? 0n;
      const message = `Stock of ${code} in ${county}: ${String(quantity)}${changed ? ' (updated)' : ' (unchanged)'}; run ${run.id}`;
      return { success: true, data: productOut(after), changed, message, run_id: run.id };
    },
  );

  app.post<{ Params: { code: string } }>(
    '/api/haier/catalog/products/:code/sync-price/',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['catalog'],
        operationId: 'syncProductPrice', summary: "Sync this product's prices from Haier now (a MANUAL run of this product; waits for it; a pinned price stays)",
        params: codeParam,
        response: dataAnswer(productSchema, { changed: { type: 'boolean' }, changed_fields: { type: 'array', items: { type: 'string' } }, message: { type: 'string' }, run_id: { type: 'string' } }),
      },
    },
    async (req) => {
      const { code } = req.params;
      await product(code); // 404 for an unknown code, before any run
      const run = await syncOne(req, code, 'the prices', { prices: true });
      const changed = (run.counts?.created ?? 0n) + (run.counts?.updated ?? 0n) > 0n;
      // the price fields this run changed: the product's price history rows carrying its id
      const history = changed ? await cat.getPriceHistory({ productCode: code, limit: 50 }) : undefined;
      const fields = [...new Set((history?.changes ?? []).filter((c) => c.runId === run.id).map((c) => c.field))];
      const message = changed ? `Prices of ${code} updated${fields.length ? `: ${fields.join(', ')}` : ' (no price field changed)'}; run ${run.id}` : `Prices of ${code} unchanged; run ${run.id}`;
      return { success: true, data: productOut(await product(code)), changed, changed_fields: fields, message, run_id: run.id };
    },
  );

  app.put<{ Params: { code: string }; Body: { price: string } }>(
    '/api/haier/catalog/products/:code/pinned-price/',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['catalog'],
        operationId: 'pinPrice', summary: 'Pin a price by hand: it is displayed instead of the Haier prices, and no sync overwrites it',
        params: codeParam,
        body: { type: 'object', properties: { price: moneySchema }, required: ['price'], additionalProperties: false },
        response: dataAnswer(productSchema),
      },
    },
    async (req) => {
      if (/^0+(\.0+)?$/.test(req.body.price)) throw badRequest('price', 'must be greater than 0');
      const r = await cat.pinPrice({ productCode: req.params.code, price: req.body.price, actor: req.auth?.name ?? '' });
      if (!r.product) throw new EdgeError(404, 'NOT_FOUND', `No product ${req.params.code} in the catalog.`);
      return { success: true, data: productOut(r.product) };
    },
  );

  app.delete<{ Params: { code: string } }>(
    '/api/haier/catalog/products/:code/pinned-price/',
    { config: { role: 'operator' }, schema: { tags: ['catalog'], operationId: 'unpinPrice', summary: 'Remove the pinned price (the Haier price is displayed again)', params: codeParam, response: dataAnswer(productSchema) } },
    async (req) => {
      const r = await cat.unpinPrice({ productCode: req.params.code, actor: req.auth?.name ?? '' });
      if (!r.product) throw new EdgeError(404, 'NOT_FOUND', `No product ${req.params.code} in the catalog.`);
      return { success: true, data: productOut(r.product) };
    },
  );
}
