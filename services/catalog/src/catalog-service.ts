// Maps CatalogService RPCs to the domain and data functions. Each call gets its own forked
// EntityManager; domain errors become gRPC status codes in catalogErrors, which the runtime's
// error interceptor applies to every RPC.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, durationMs, timestampDate, type Duration } from '@bufbuild/protobuf/wkt';
import type { ConnectError, ConnectRouter, ServiceImpl } from '@connectrpc/connect';
import { catalog } from '@haier-sync/contracts';
import { invalidArgument, notFound, type Logger } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import { markDelisted } from './delisting';
import { NotFound } from './errors';
import { checkIntegrity } from './integrity';
import { parsePin, setPin } from './pinning';
import { BatchRejection, isFailure, normaliseProducts } from './product-input';
import { changeHead, getPriceHistory, getProduct, listNamed, listPriceCheckDue, listProducts, listStockCheckDue, readChanges, stats, type AgesRow, type SortKey } from './product-queries';
import { itemResult, toChange, toProduct, ts } from './proto-mapping';
import { aggregateStock } from './stock';
import { upsertProducts } from './upsert-products';
import type { UpsertObserver } from './metrics';
import { updateStock } from './update-stock';
import { imageKeysInUse, listImages, MAX_CODES_PER_IMAGE_LIST, MAX_IMAGES_PER_PRODUCT_WRITE, MAX_IMAGES_PER_UPSERT, upsertImages, type ImageInputRow, type ImageOutcome } from './images';
import { upsertWithImages } from './upsert-with-images';

export interface CatalogServiceDeps {
  orm: MikroORM;
  logger: Logger;
  defaultCounty: string;
  /** Headline stock below this is low stock (Stats' stock ages, ListStockCheckDue). */
  lowStockBelow: number;
  /** UpsertProducts' duration and outcomes (metrics.ts); none when unset. */
  metrics?: UpsertObserver;
}

const SORTS: Record<number, SortKey> = {
  [catalog.ProductSort.UNSPECIFIED]: 'code',
  [catalog.ProductSort.CODE]: 'code',
  [catalog.ProductSort.NAME]: 'name',
  [catalog.ProductSort.DISPLAY_PRICE]: 'display_price',
  [catalog.ProductSort.UPDATED_AT]: 'updated_at',
  [catalog.ProductSort.STOCK]: 'stock',
};

/** The catalog's domain errors as status codes (the runtime's error interceptor applies it to every RPC). */
export function catalogErrors(err: unknown): ConnectError | undefined {
  if (err instanceof BatchRejection) return invalidArgument(err.message, err.field);
  if (err instanceof NotFound) return notFound(err.message);
  return undefined;
}

/** Seconds (from Postgres' epoch arithmetic) as a Duration, to the millisecond; unset when none. */
const seconds = (s: number | null): Duration | undefined => (s === null ? undefined : durationFromMs(Math.max(0, Math.round(s * 1000))));
/** An age distribution (product-queries.ts AgesRow) as the wire's PriceAges / StockAges fields, with the max age it was counted against. */
const ages = (a: AgesRow, maxAge: Duration | undefined) => ({
  p50: seconds(a.p50),
  p99: seconds(a.p99),
  max: seconds(a.max),
  overMaxAge: BigInt(a.over_max_age),
  neverChecked: BigInt(a.never_checked),
  maxAge,
});

/** The UNAVAILABLE answer when Postgres cannot be reached. */
export const DATABASE_UNREACHABLE = 'the catalog database is unreachable; check DATABASE_URL and that Postgres is up, then retry';

export function catalogServiceImpl(deps: CatalogServiceDeps): ServiceImpl<typeof catalog.CatalogService> {
  const { orm, logger } = deps;
  const em = () => orm.em.fork();
  return {
    async upsertProducts(req) {
      const started = performance.now();
      const { items, slots, warnings } = normaliseProducts(req.products);
      for (const [code, w] of warnings) logger.warn({ run_id: req.runId, product_code: code }, w);
      for (const f of slots.filter(isFailure)) logger.warn({ run_id: req.runId, product_code: f.code }, `product not written: ${f.reason}`);
      // images with the products (a sync run's images option): one transaction, one change per product
      const sets = new Map(req.products.filter((p) => p.hasImages).map((p) => [p.productCode.trim(), p.images.map(imageRow)]));
      const imageCount = [...sets.values()].reduce((n, s) => n + s.length, 0);
      if (imageCount > MAX_IMAGES_PER_PRODUCT_WRITE) throw new BatchRejection(`${imageCount} images in one call; send at most ${MAX_IMAGES_PER_PRODUCT_WRITE} (fewer products per call)`, 'products');
      const r =
        sets.size && !req.dryRun
          ? await upsertWithImages(em(), items, sets, { runId: req.runId, warnings })
          : await upsertProducts(em(), items, { runId: req.runId, dryRun: req.dryRun, warnings });
      for (const x of r.results) if (x.reason.includes('images not recorded')) logger.warn({ run_id: req.runId, product_code: x.code }, x.reason);
      const written = new Map(r.results.map((x) => [x.code, x]));
      const results = slots.map((s) =>
        isFailure(s)
          ? create(catalog.ItemResultSchema, { productCode: s.code, outcome: catalog.ItemOutcome.FAILED, reason: s.reason })
          : itemResult(written.get(s.code)!),
      );
      const counts = { created: r.created, updated: r.updated, unchanged: r.unchanged, failed: slots.length - items.length + r.failed };
      deps.metrics?.upserted((performance.now() - started) / 1000, counts);
      return create(catalog.UpsertProductsResponseSchema, { results, ...counts });
    },
    async updateStock(req) {
      const batch = aggregateStock(req.items);
      for (const [code, reason] of batch.failures) logger.warn({ run_id: req.runId, product_code: code }, `stock not written: ${reason}`);
      const r = await updateStock(em(), batch, { runId: req.runId, dryRun: req.dryRun, defaultCounty: deps.defaultCounty });
      return create(catalog.UpdateStockResponseSchema, {
        results: r.results.map(itemResult),
        updated: r.updated,
        unchanged: r.unchanged,
        failed: r.failed,
      });
    },
    async markDelisted(req) {
      const r = await markDelisted(em(), req.codesSeen, { runId: req.runId, dryRun: req.dryRun });
      return create(catalog.MarkDelistedResponseSchema, r);
    },
    async pinPrice(req) {
      const f = em();
      await setPin(f, req.productCode, parsePin(req.price), req.actor);
      const { product, stock } = await getProduct(f, req.productCode);
      return create(catalog.PinPriceResponseSchema, { product: toProduct(product, stock) });
    },
    async unpinPrice(req) {
      const f = em();
      await setPin(f, req.productCode, null, req.actor);
      const { product, stock } = await getProduct(f, req.productCode);
      return create(catalog.UnpinPriceResponseSchema, { product: toProduct(product, stock) });
    },
    async getProduct(req) {
      const { product, stock } = await getProduct(em(), req.productCode);
      return create(catalog.GetProductResponseSchema, { product: toProduct(product, stock) });
    },
    async listProducts(req) {
      const r = await listProducts(em(), {
        category: req.category || undefined,
        brand: req.brand || undefined,
        isSales: req.isSales,
        query: req.query || undefined,
        minPrice: req.minPrice,
        maxPrice: req.maxPrice,
        changedSince: req.changedSince ? timestampDate(req.changedSince) : undefined,
        sort: SORTS[req.sort] ?? 'code',
        descending: req.descending,
        pageSize: req.pageSize === 0 ? 50 : req.pageSize,
        cursor: req.cursor || undefined,
        includeDelisted: req.includeDelisted,
        withTotal: req.withTotal,
      });
      return create(catalog.ListProductsResponseSchema, { products: r.products.map((p) => toProduct(p)), nextCursor: r.nextCursor, total: r.total === undefined ? undefined : BigInt(r.total) });
    },
    async listCategories() {
      const rows = await listNamed(em(), 'category');
      return create(catalog.ListCategoriesResponseSchema, {
        categories: rows.map((r) => create(catalog.CategorySchema, { id: BigInt(r.id), name: r.name, productCount: BigInt(r.count) })),
      });
    },
    async listBrands() {
      const rows = await listNamed(em(), 'brand');
      return create(catalog.ListBrandsResponseSchema, {
        brands: rows.map((r) => create(catalog.BrandSchema, { id: BigInt(r.id), name: r.name, productCount: BigInt(r.count) })),
      });
    },
    async getPriceHistory(req) {
      const rows = await getPriceHistory(em(), req.productCode, req.limit);
      return create(catalog.GetPriceHistoryResponseSchema, {
        changes: rows.map((h) =>
          create(catalog.PriceChangeSchema, { field: h.field, from: h.fromValue ?? undefined, to: h.toValue ?? undefined, changedAt: ts(h.changedAt), runId: h.runId }),
        ),
      });
    },
    async readChanges(req) {
      const r = await readChanges(em(), req.afterSeq, req.limit);
      return create(catalog.ReadChangesResponseSchema, { changes: r.changes.map(toChange), headSeq: BigInt(r.headSeq) });
    },
    async getChangeHead() {
      return create(catalog.GetChangeHeadResponseSchema, { headSeq: BigInt(await changeHead(em())) });
    },
    async stats(req) {
      const ms = (d: Duration | undefined): number | undefined => (d ? durationMs(d) : undefined);
      const s = await stats(em(), { priceMaxAgeMs: ms(req.priceMaxAge), stockMaxAgeMs: ms(req.stockMaxAge), lowStockBelow: deps.lowStockBelow });
      return create(catalog.StatsResponseSchema, {
        products: BigInt(s.products),
        listed: BigInt(s.listed),
        delisted: BigInt(s.delisted),
        procurable: BigInt(s.procurable),
        categories: BigInt(s.categories),
        brands: BigInt(s.brands),
        pinned: BigInt(s.pinned),
        lastSyncedAt: ts(s.last_synced_at),
        headSeq: BigInt(s.head_seq),
        priceAge: ages(s.price_age, req.priceMaxAge),
        stockAge: { ...ages(s.stock_age, req.stockMaxAge), lowStock: BigInt(s.stock_age.n), below: BigInt(deps.lowStockBelow) },
      });
    },
    async listPriceCheckDue(req) {
      const r = await listPriceCheckDue(em(), req.limit, req.excludeCodes, req.targetAge ? durationMs(req.targetAge) : undefined);
      return create(catalog.ListPriceCheckDueResponseSchema, {
        products: r.rows.map((x) => ({ productCode: x.code, priceCheckedAt: ts(x.checked_at) })),
        procurable: BigInt(r.population),
        neededPerSecond: r.neededPerSecond,
        overdue: BigInt(r.overdue),
      });
    },
    async listStockCheckDue(req) {
      const r = await listStockCheckDue(em(), deps.lowStockBelow, req.limit, req.excludeCodes, req.targetAge ? durationMs(req.targetAge) : undefined);
      return create(catalog.ListStockCheckDueResponseSchema, {
        products: r.rows.map((x) => ({ productCode: x.code, stockCheckedAt: ts(x.checked_at) })),
        lowStock: BigInt(r.population),
        neededPerSecond: r.neededPerSecond,
        overdue: BigInt(r.overdue),
        below: BigInt(deps.lowStockBelow),
      });
    },
    async upsertImages(req) {
      if (req.images.length > MAX_IMAGES_PER_UPSERT) throw new BatchRejection(`${req.images.length} images in one call; send at most ${MAX_IMAGES_PER_UPSERT}`, 'images');
      const r = await upsertImages(em(), req.images.map(imageRow), { runId: req.runId, dryRun: req.dryRun });
      for (const f of r.results.filter((x) => x.outcome === 'failed')) logger.warn({ run_id: req.runId, product_code: f.code }, `images not recorded: ${f.reason}`);
      return create(catalog.UpsertImagesResponseSchema, { results: r.results.map(itemResult), updated: r.updated, unchanged: r.unchanged, failed: r.failed, imagesFailed: r.imagesFailed });
    },
    async listImages(req) {
      if (req.productCodes.length > MAX_CODES_PER_IMAGE_LIST) throw new BatchRejection(`${req.productCodes.length} codes in one call; ask for at most ${MAX_CODES_PER_IMAGE_LIST}`, 'product_codes');
      const rows = await listImages(em(), req.productCodes);
      return create(catalog.ListImagesResponseSchema, {
        images: rows.map((r) =>
          create(catalog.ImageRecordSchema, {
            productCode: r.product_code,
            position: r.position,
            sourceUrl: r.source_url,
            status: r.status === 'stored' ? catalog.ImageStatus.STORED : catalog.ImageStatus.FAILED,
            sha256: r.sha256 ?? '',
            storageKey: r.storage_key ?? '',
            contentType: r.content_type ?? '',
            bytes: Number(r.bytes ?? 0),
            width: r.width ?? 0,
            height: r.height ?? 0,
            etag: r.etag,
            lastModified: r.last_modified,
            failure: r.failure,
            fetchedAt: ts(r.fetched_at),
            checkedAt: ts(r.checked_at),
          }),
        ),
      });
    },
    async imageKeysInUse(req) {
      if (req.storageKeys.length > MAX_CODES_PER_IMAGE_LIST) throw new BatchRejection(`${req.storageKeys.length} keys in one call; ask for at most ${MAX_CODES_PER_IMAGE_LIST}`, 'storage_keys');
      return create(catalog.ImageKeysInUseResponseSchema, { storageKeys: await imageKeysInUse(em(), req.storageKeys) });
    },
    async checkIntegrity(req) {
      const r = await checkIntegrity(em(), req.sampleLimit, req.markForRepair);
      return create(catalog.CheckIntegrityResponseSchema, {
        ok: r.ok,
        productsChecked: BigInt(r.checked),
        productsMarked: BigInt(r.marked),
        findings: r.findings.map((f) =>
          create(catalog.IntegrityFindingSchema, { check: f.check, count: BigInt(f.count), sampleCodes: f.sampleCodes, message: f.message }),
        ),
      });
    },
  };
}

const IMAGE_OUTCOMES: Record<number, ImageOutcome | undefined> = {
  [catalog.ImageInput_Outcome.STORED]: 'stored',
  [catalog.ImageInput_Outcome.UNCHANGED]: 'unchanged',
  [catalog.ImageInput_Outcome.FAILED]: 'failed',
};

/** An ImageInput as the catalog records it (the code trimmed; an unknown outcome fails its product). */
function imageRow(i: catalog.ImageInput): ImageInputRow {
  return {
    code: i.productCode.trim(),
    position: i.position,
    sourceUrl: i.sourceUrl,
    outcome: IMAGE_OUTCOMES[i.outcome] ?? ('unset' as ImageOutcome),
    sha256: i.sha256,
    storageKey: i.storageKey,
    contentType: i.contentType,
    bytes: i.bytes,
    width: i.width,
    height: i.height,
    etag: i.etag,
    lastModified: i.lastModified,
    failure: i.failure,
  };
}

export function registerCatalog(router: ConnectRouter, deps: CatalogServiceDeps): void {
  router.service(catalog.CatalogService, catalogServiceImpl(deps));
}
