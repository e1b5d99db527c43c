// The synced catalog: products (filters, sort, cursor pages), one product, its price history,
// categories, brands; the per-product actions (sync stock / price now) and the pinned price.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { catalog, sync, type gateway } from '@haier-sync/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EdgeContext } from '../context';
import { catalogProductSchema, codeParam, countySchema, errors, moneySchema } from '../schemas';
import { priceChangeOut, productOut } from '../domain/catalog-view';
import { badRequest, EdgeError } from '../domain/errors';

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
}

const ok = (data: object, extra: Record<string, object> = {}) =>
  ({ 200: { type: 'object', properties: { success: { type: 'boolean' }, data, ...extra } }, ...errors }) as const;

/** The stored product back as an upsert input (keeps listing fields; prices replaced by the caller). */
function asInput(p: catalog.Product): Omit<catalog.ProductInput, '$typeName'> {
  return {
    productCode: p.productCode,
    productModel: p.productModel,
    productName: p.name,
    productGroupName: p.category,
    productBrandName: p.brand,
    productImageUrl: p.productImageUrl,
    productPageUrls: [...p.productPageUrls],
    isSales: p.isSales,
    noSalesReason: p.noSalesReason,
    supplyPrice: p.supplyPrice,
    invoicePrice: p.invoicePrice,
    marketPrice: p.marketPrice,
    stockRebate: p.stockRebate,
    rebateMoney: p.rebateMoney,
    rebateType: p.rebateType || undefined,
    hasPrices: false,
  };
}

/** Haier's price record on top of a stored product (what a price sync of that product writes). */
function withPrice(p: catalog.Product, price: gateway.Price): Omit<catalog.ProductInput, '$typeName'> {
  const numeric = /^-?[0-9]+(\.[0-9]+)?$/;
  return {
    ...asInput(p),
    isSales: price.isSales,
    noSalesReason: price.reason || p.noSalesReason,
    supplyPrice: price.supplyPrice,
    invoicePrice: price.invoicePrice,
    marketPrice: price.marketPrice,
    stockRebate: numeric.test(price.stockRebatePolicy) ? price.stockRebatePolicy : undefined,
    rebateMoney: price.rebateMoney !== '' ? price.rebateMoney : undefined,
    rebateType: price.rebateType !== '' ? price.rebateType : undefined,
    hasPrices: true,
  };
}

export function catalogRoutes(app: FastifyInstance, ctx: EdgeContext): void {
  const { catalog: cat, gateway: gw } = ctx.clients;

  async function record(req: FastifyRequest, type: sync.SyncType, status: sync.RunStatus, message: string, startedAt: Date, n: { total: number; ok: number; failed: number }) {
    await ctx.clients.sync
      .recordOperation({
        syncType: type,
        status,
        message,
        startedBy: req.auth?.name ?? '',
        total: BigInt(n.total),
        succeeded: BigInt(n.ok),
        failed: BigInt(n.failed),
        startedAt: timestampFromDate(startedAt),
        completedAt: timestampFromDate(new Date()),
      })
      .catch((err: unknown) => ctx.logger.warn({ err: String(err) }, 'Could not record the product action in the sync log; is the sync orchestrator running (SYNC_URL)?'));
  }

  async function product(code: string): Promise<catalog.Product> {
    const r = await cat.getProduct({ productCode: code });
    if (!r.product) throw new EdgeError(404, 'NOT_FOUND', `No product ${code} in the catalog; run a sync or check the code.`);
    return r.product;
  }

  app.get<{ Querystring: ListQuery }>(
    '/api/haier/catalog/products/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['catalog'],
        summary: 'Synced products: filters, sort and cursor pagination',
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
            cursor: { type: 'string', maxLength: 1000, description: 'next_cursor of the previous page' },
            include_delisted: { type: 'boolean', default: false },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: { success: { type: 'boolean' }, count: { type: 'integer' }, results: { type: 'array', items: catalogProductSchema }, next_cursor: { type: ['string', 'null'] } },
          },
          ...errors,
        },
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
      });
      const results = r.products.map(productOut);
      return { success: true, count: results.length, results, next_cursor: r.nextCursor || null };
    },
  );

  app.get<{ Params: { code: string } }>(
    '/api/haier/catalog/products/:code/',
    { config: { role: 'viewer' }, schema: { tags: ['catalog'], summary: 'One synced product, with its stock per county', params: codeParam, response: ok(catalogProductSchema) } },
    async (req) => ({ success: true, data: productOut(await product(req.params.code)) }),
  );

  app.get<{ Params: { code: string }; Querystring: { limit?: number } }>(
    '/api/haier/catalog/products/:code/price-history/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['catalog'],
        summary: "A product's price changes, newest first",
        params: codeParam,
        querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } }, additionalProperties: false },
        response: ok({
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
  const noQuery = { type: 'object', properties: {}, additionalProperties: false } as const;
  app.get('/api/haier/catalog/categories/', { config: { role: 'viewer' }, schema: { tags: ['catalog'], summary: 'Categories with their product counts', querystring: noQuery, response: ok(named) } }, async () => {
    const r = await cat.listCategories({});
    return { success: true, data: r.categories.map((c) => ({ id: Number(c.id), name: c.name, product_count: Number(c.productCount) })) };
  });
  app.get('/api/haier/catalog/brands/', { config: { role: 'viewer' }, schema: { tags: ['catalog'], summary: 'Brands with their product counts', querystring: noQuery, response: ok(named) } }, async () => {
    const r = await cat.listBrands({});
    return { success: true, data: r.brands.map((c) => ({ id: Number(c.id), name: c.name, product_count: Number(c.productCount) })) };
  });

  app.post<{ Params: { code: string }; Body: { county_code: string } }>(
    '/api/haier/catalog/products/:code/sync-stock/',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['catalog'],
        summary: "Sync this product's stock in one county from Haier now",
        params: codeParam,
        body: { type: 'object', properties: { county_code: countySchema }, required: ['county_code'], additionalProperties: false },
        response: ok(catalogProductSchema, { changed: { type: 'boolean' }, message: { type: 'string' } }),
      },
    },
    async (req) => {
      const { code } = req.params;
      const county = req.body.county_code;
      const startedAt = new Date();
      await product(code);
      try {
        const r = await gw.getStock({ productCode: code, countyCode: county });
        const s = r.stock;
        const up = await cat.updateStock({
          items: [
            {
              productCode: code,
              countyCode: county,
              quantity: s?.quantity ?? 0n,
              bestSecCode: s?.best?.secCode ?? '',
              bestWarehouseGrade: s?.best?.warehouseGrade ?? '',
              cutTime: s?.best?.cutTime ?? '',
              achieveUserOrderCut: s?.best?.achieveUserOrderCut ?? '',
              hour: s?.best?.hour ?? '',
            },
          ],
        });
        const changed = up.updated > 0;
        const message = `Stock of ${code} in ${county}: ${String(s?.quantity ?? 0n)}${changed ? ' (updated)' : ' (unchanged)'}`;
        await record(req, sync.SyncType.STOCK, sync.RunStatus.SUCCESS, `REST sync-stock: ${message}`, startedAt, { total: 1, ok: 1, failed: 0 });
        return { success: true, data: productOut(await product(code)), changed, message };
      } catch (e) {
        await record(req, sync.SyncType.STOCK, sync.RunStatus.FAILED, `REST sync-stock of ${code} in ${county} failed: ${(e as Error).message}`, startedAt, { total: 1, ok: 0, failed: 1 });
        throw e;
      }
    },
  );

  app.post<{ Params: { code: string } }>(
    '/api/haier/catalog/products/:code/sync-price/',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['catalog'],
        summary: "Sync this product's prices from Haier now (a pinned price stays)",
        params: codeParam,
        response: ok(catalogProductSchema, { changed: { type: 'boolean' }, changed_fields: { type: 'array', items: { type: 'string' } }, message: { type: 'string' } }),
      },
    },
    async (req) => {
      const { code } = req.params;
      const startedAt = new Date();
      const stored = await product(code);
      try {
        const r = await gw.getPrices({ productCodes: [code] });
        const price = r.prices.find((p) => p.productCode === code);
        if (!price) {
          const why = r.errors.find((e) => e.productCode === code)?.reason ?? 'Haier returned no price for it';
          throw new EdgeError(502, 'UPSTREAM_NO_PRICE', `Haier gave no price for ${code}: ${why}.`);
        }
        const up = await cat.upsertProducts({ products: [withPrice(stored, price)] });
        const item = up.results[0];
        if (item?.outcome === catalog.ItemOutcome.FAILED) throw new EdgeError(502, 'UPSTREAM_BAD_PRICE', `Haier's price for ${code} could not be stored: ${item.reason}`);
        const fields = item ? [...item.changedFields] : [];
        const changed = up.updated + up.created > 0;
        const message = changed ? `Prices of ${code} updated: ${fields.join(', ')}` : `Prices of ${code} unchanged`;
        await record(req, sync.SyncType.PRICES, sync.RunStatus.SUCCESS, `REST sync-price: ${message}`, startedAt, { total: 1, ok: 1, failed: 0 });
        return { success: true, data: productOut(await product(code)), changed, changed_fields: fields, message };
      } catch (e) {
        await record(req, sync.SyncType.PRICES, sync.RunStatus.FAILED, `REST sync-price of ${code} failed: ${(e as Error).message}`, startedAt, { total: 1, ok: 0, failed: 1 });
        throw e;
      }
    },
  );

  app.put<{ Params: { code: string }; Body: { price: string } }>(
    '/api/haier/catalog/products/:code/pinned-price/',
    {
      config: { role: 'operator' },
      schema: {
        tags: ['catalog'],
        summary: 'Pin a price by hand: it is displayed instead of the Haier prices, and no sync overwrites it',
        params: codeParam,
        body: { type: 'object', properties: { price: moneySchema }, required: ['price'], additionalProperties: false },
        response: ok(catalogProductSchema),
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
    { config: { role: 'operator' }, schema: { tags: ['catalog'], summary: 'Remove the pinned price (the Haier price is displayed again)', params: codeParam, response: ok(catalogProductSchema) } },
    async (req) => {
      const r = await cat.unpinPrice({ productCode: req.params.code, actor: req.auth?.name ?? '' });
      if (!r.product) throw new EdgeError(404, 'NOT_FOUND', `No product ${req.params.code} in the catalog.`);
      return { success: true, data: productOut(r.product) };
    },
  );
}
