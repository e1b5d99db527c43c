// One batch of a run (I/O): Haier through the gateway, writes through the catalog. An item fails
// only for a reason about it (Haier's per-item error, a record it cannot map, the catalog's
// per-item FAILED); every call of the batch (products, prices, stock, writes) that fails as a
// whole throws, so the whole batch is tried again alike: without spending an attempt when a
// dependency is unavailable (DependencyUnavailable, see dependencies.ts), else by its lease.
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { catalog, gateway } from '@haier-sync/contracts';
import { HAIER_LANE_HEADER } from '@haier-sync/runtime';
import type { RunDeps } from './deps';
import { DependencyUnavailable } from './dependencies';
import { changeLine, mergeBatch, toStockInputs } from './merge';
import type { RunRow } from './model';
import { batchCalls, planOfRow } from './plan';
import { upsertThroughCatalog } from './upsert-coalescer';
import { emptyOutcome, itemRecords, type BatchOutcome } from './item-outcomes';
import { attachImages, imageOutcome, mirrorBatch, type MirroredBatch } from './images';
import { DEFAULT_IMAGE_RECHECK_AFTER_MS } from '../config';

export interface BatchWork {
  runId: string;
  run: RunRow;
  codes: string[];
  payload: unknown;
}

function sumOutcome(results: readonly catalog.ItemResult[], o: BatchOutcome, failures: Map<string, string>, dryRun: boolean): void {
  for (const r of results) {
    if (r.outcome === catalog.ItemOutcome.CREATED) o.items[r.productCode] = 'created';
    else if (r.outcome === catalog.ItemOutcome.UPDATED) o.items[r.productCode] = 'updated';
    else if (r.outcome === catalog.ItemOutcome.UNCHANGED) o.items[r.productCode] = 'unchanged';
    else if (r.outcome === catalog.ItemOutcome.FAILED) failures.set(r.productCode, `catalog: ${r.reason || 'rejected'}`);
    const line = changeLine(r, dryRun);
    if (line) o.changes.push(line);
  }
}

/**
 * UpsertProducts: the catalog answers an outcome per item (FAILED with its reason for a bad
 * one). A catalog that still refuses a whole call for one bad record (INVALID_ARGUMENT) fails
 * the batch's items with its reason; they are not re-sent one by one.
 */
async function upsert(deps: RunDeps, inputs: catalog.ProductInput[], runId: string, dryRun: boolean, failures: Map<string, string>): Promise<catalog.ItemResult[]> {
  const send = deps.upsert ?? upsertThroughCatalog(deps.catalog);
  try {
    return await viaCatalog(deps, () => send({ products: inputs, runId, dryRun }));
  } catch (err) {
    const ce = ConnectError.from(err);
    if (err instanceof DependencyUnavailable || ce.code !== Code.InvalidArgument) throw err;
    for (const p of inputs) failures.set(p.productCode, `catalog rejected the batch: ${ce.rawMessage}`);
    return [];
  }
}

const viaGateway = <T>(deps: RunDeps, fn: () => Promise<T>): Promise<T> => (deps.dependencies ? deps.dependencies.call('gateway', fn) : fn());
const viaCatalog = <T>(deps: RunDeps, fn: () => Promise<T>): Promise<T> => (deps.dependencies ? deps.dependencies.call('catalog', fn) : fn());

export async function processBatch(w: BatchWork, deps: RunDeps, attempt = 1): Promise<{ outcome: BatchOutcome; result: Record<string, unknown> }> {
  const run = w.run;
  const plan = planOfRow(run, deps.settings.lowStockThreshold);
  const dryRun = run.options.dryRun;
  const failures = new Map<string, string>();
  const o = emptyOutcome();
  const counties = run.options.counties ?? [];
  // the lane of the Haier call budget: FULL runs are bulk work, the others scheduled
  const lane = { headers: { [HAIER_LANE_HEADER]: run.mode === 'FULL' ? 'bulk' : 'scheduled' } };

  if (plan.strategy === 'listing' || plan.strategy === 'codes') {
    let products: gateway.Product[];
    let productErrors: gateway.ItemError[] = [];
    if (plan.strategy === 'listing') {
      products = ((w.payload as unknown[]) ?? []).map((p) => create(gateway.ProductSchema, p as Record<string, unknown>));
    } else {
      const r = await viaGateway(deps, () => deps.gateway.getProducts({ productCodes: w.codes }, lane));
      products = r.products;
      productErrors = r.errors;
    }
    // images: mirrored while prices are asked (a dry run mirrors nothing: images.ts)
    const withImages = run.options.images === true && !dryRun;
    const bad = new Set(productErrors.map((e) => e.productCode));
    const recheck = { afterMs: deps.settings.imageRecheckAfterMs ?? DEFAULT_IMAGE_RECHECK_AFTER_MS, all: run.options.recheckImages === true };
    const mirrored: Promise<MirroredBatch> | undefined = withImages ? mirrorBatch(deps, products.filter((p) => !bad.has(p.productCode)), recheck) : undefined;
    // a rejection is handled where it is awaited (mirrorBatch turns call failures into image failures)
    mirrored?.catch(() => undefined);
    let prices: gateway.Price[] | undefined;
    let priceErrors: gateway.ItemError[] = [];
    if (plan.prices) {
      const priceCodes = products.map((p) => p.productCode).filter((c) => !bad.has(c));
      prices = [];
      if (priceCodes.length) {
        const r = await viaGateway(deps, () => deps.gateway.getPrices({ productCodes: priceCodes }, lane));
        prices = r.prices;
        priceErrors = r.errors;
      }
    }
    const merged = mergeBatch(w.codes, products, productErrors, prices, priceErrors);
    for (const [c, r] of merged.failures) failures.set(c, r);
    // each product's images ride with it: one transaction, one change (upsert-with-images.ts in the catalog)
    const m = mirrored && (await mirrored);
    if (m) attachImages(merged.inputs, m);
    if (merged.inputs.length) {
      const results = await upsert(deps, merged.inputs, w.runId, dryRun, failures);
      sumOutcome(results, o, failures, dryRun);
      if (m) o.images = imageOutcome(m, results, attempt);
    }
  }

  if (plan.stock && counties.length) {
    const queries = w.codes.filter((c) => !failures.has(c)).flatMap((productCode) => counties.map((countyCode) => ({ productCode, countyCode })));
    if (queries.length) {
      const r = await viaGateway(deps, () => deps.gateway.getStocks({ queries }, lane));
      for (const e of r.errors) if (!failures.has(e.productCode)) failures.set(e.productCode, `stock in ${e.countyCode}: ${e.reason}`);
      const items = toStockInputs(r.stocks.filter((s) => !failures.has(s.productCode)));
      if (items.length) {
        const u = await viaCatalog(deps, () => deps.catalog.updateStock({ items, runId: w.runId, dryRun }));
        for (const res of u.results) {
          if (res.outcome === catalog.ItemOutcome.FAILED) failures.set(res.productCode, `catalog stock: ${res.reason || 'rejected'}`);
        }
        // a stock-only product is unchanged unless its stock changed (item-outcomes.ts counts a product once)
        if (plan.strategy === 'catalog_stock') for (const i of items) o.items[i.productCode] ??= 'unchanged';
        for (const res of u.results) {
          if (res.outcome !== catalog.ItemOutcome.UPDATED) continue;
          o.stockChanged.push(res.productCode);
          o.changes.push(`${res.productCode} ${dryRun ? 'stock would change' : 'stock changed'}${res.changedFields.length ? `: ${res.changedFields.join(', ')}` : ''}`);
        }
      }
    }
  }

  o.upstreamCalls = batchCalls(plan, w.codes.length, counties.length);
  o.failures = [...failures].map(([code, reason]) => ({ code, reason }));
  const counts = { created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const r of itemRecords(w.codes, o)) counts[r.outcome]++;
  return { outcome: o, result: o.images ? { ...counts, images: o.images.counts } : counts };
}
