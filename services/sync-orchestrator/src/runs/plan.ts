// Planning a run: which strategy fetches its items, which calls each batch makes, and how codes
// are cut into batches. Pure.
import type { RunOptionsJson, RunRow, RunScopeJson } from './model';

/** Haier takes at most 20 codes per products or prices call. */
export const BATCH_SIZE = 20;

export type Strategy =
  /** The whole procurable listing (one upstream call); each batch carries its listing records. */
  | 'listing'
  /** Named codes: each batch asks Haier for products (and prices). */
  | 'codes'
  /** Codes from the catalog (listed products; below the threshold for an incremental run): stock only. */
  | 'catalog_stock';

export interface RunPlan {
  strategy: Strategy;
  prices: boolean;
  stock: boolean;
  /** Only a complete listing (no category/brand/limit filter) may delist what it lacks. */
  delist: boolean;
  /** catalog_stock: only products whose stock is below this (undefined = all listed). */
  belowThreshold?: number;
}

export function planRun(r: { syncType: string; mode: string; scope: RunScopeJson; options: RunOptionsJson }, lowStockThreshold: number): RunPlan {
  if (r.scope.codes.length > 0) {
    return { strategy: 'codes', prices: r.options.prices, stock: r.options.stock, delist: false };
  }
  if (r.syncType === 'STOCK') {
    return {
      strategy: 'catalog_stock',
      prices: false,
      stock: true,
      delist: false,
      belowThreshold: r.mode === 'INCREMENTAL' ? lowStockThreshold : undefined,
    };
  }
  const filtered = r.scope.category !== '' || r.scope.brand !== '' || r.scope.limit > 0;
  return { strategy: 'listing', prices: r.options.prices, stock: r.options.stock, delist: !filtered };
}

/** The plan of a stored run. */
export function planOfRow(run: RunRow, lowStockThreshold: number): RunPlan {
  return planRun({ syncType: run.sync_type, mode: run.mode, scope: run.scope, options: run.options }, lowStockThreshold);
}

/** Cuts a list into consecutive pieces of at most `size`. */
export function chunk<T>(items: readonly T[], size = BATCH_SIZE): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export interface ListingItem {
  productCode: string;
  productGroupName: string;
  productBrandName: string;
}

/**
 * Keeps the listing records a run's scope asks for, skipping codes already planned (a re-plan
 * after a crash) and stopping at the limit. `taken` counts records planned so far (including
 * earlier chunks); returns the records to plan and the new count. `seen` holds the codes of the
 * listing so far (pass the same set for every chunk of one listing): a code the listing repeats
 * is planned once and returned in `duplicates` (it does not count towards the limit).
 */
export function selectListing<T extends ListingItem>(
  items: readonly T[],
  scope: RunScopeJson,
  already: ReadonlySet<string>,
  taken: number,
  seen: Set<string> = new Set(),
): { selected: T[]; taken: number; duplicates: string[] } {
  const selected: T[] = [];
  const duplicates: string[] = [];
  let n = taken;
  for (const item of items) {
    if (scope.limit > 0 && n >= scope.limit) break;
    if (scope.category !== '' && item.productGroupName !== scope.category) continue;
    if (scope.brand !== '' && item.productBrandName !== scope.brand) continue;
    if (seen.has(item.productCode)) {
      duplicates.push(item.productCode);
      continue;
    }
    seen.add(item.productCode);
    n++;
    if (already.has(item.productCode)) continue;
    selected.push(item);
  }
  return { selected, taken: n, duplicates };
}

/** Upstream calls one batch costs. */
export function batchCalls(plan: RunPlan, codes: number, counties: number): number {
  const perCall = Math.ceil(codes / BATCH_SIZE);
  let calls = 0;
  if (plan.strategy === 'codes') calls += perCall;
  if (plan.prices && plan.strategy !== 'catalog_stock') calls += perCall;
  if (plan.stock) calls += codes * counties;
  return calls;
}
