// What the freshness sweep keeps fresh (issue 10 item 5): each target is a set of products the
// catalog lists oldest check first, how much a check costs in Haier calls, and how a step
// re-reads a few of them through the one write path of their data. sweep.ts paces and runs them
// all within one share of the budget.
//
// - prices (SYNC_PRICE_MAX_AGE): procurable products; one GetPrices per 20 codes; prices-only
//   UpsertProducts (merge.ts mergePrices) through the catalog's change detection.
// - stock (SYNC_LOW_STOCK_MAX_AGE): low-stock products (listed, headline stock below
//   SYNC_LOW_STOCK_THRESHOLD, as the catalog applies it: ListStockCheckDue); one stock call per
//   product per county of SYNC_COUNTIES (GetStocks); UpdateStock, as a stock run writes it.
// A changed price or stock is a change-log entry (and so an event, catalog.stock.low included);
// an unchanged one only moves price_checked_at / stock_checked_at.
import type { Duration, Timestamp } from '@bufbuild/protobuf/wkt';
import type { Client } from '@connectrpc/connect';
import { catalog, rules, type gateway } from '@haier-sync/contracts';
import { HAIER_LANE_HEADER, type Logger } from '@haier-sync/runtime';
import { mergePrices, toStockInputs } from '../runs/merge';

const LANE = { headers: { [HAIER_LANE_HEADER]: 'scheduled' } };

/** The catalog's due list: the next codes, and with a target age the pace it needs. */
export interface Due {
  codes: string[];
  /** Products of the target now (procurable ones, low-stock ones). */
  population: number;
  /** Checks (products) a second that meet every deadline (0 without a target age). */
  neededPerSecond: number;
  overdue: number;
  oldestCheckedAt?: Timestamp;
}

/** What one step re-read: changed and unchanged products, and the ones not re-read with why. */
export interface Reread {
  changed: number;
  unchanged: number;
  failures: Map<string, string>;
}

export interface SweepTarget {
  /** Its scheduled job (pause, resume, run-now): price_freshness, stock_freshness. */
  job: string;
  /** The word in its metric names and log lines: sync_<what>_sweep_*. */
  what: 'price' | 'stock';
  /** What a check reads, for messages ("prices", "low-stock products' stock"). */
  noun: string;
  /** The variable that sets its max age. */
  variable: 'SYNC_PRICE_MAX_AGE' | 'SYNC_LOW_STOCK_MAX_AGE';
  maxAgeMs: number;
  /** Haier calls one check costs (1/20 for a price, one per county for a stock). */
  callsPerCheck: number;
  /** Haier calls `checks` checks cost, whole calls. */
  callsFor(checks: number): number;
  /** Checks (products) `calls` Haier calls pay for, at least one (a stock check in many counties may cost more than a step). */
  checksFor(calls: number): number;
  due(req: { limit: number; excludeCodes: string[]; targetAge?: Duration }, signal?: AbortSignal): Promise<Due>;
  reread(codes: string[], signal?: AbortSignal): Promise<Reread>;
}

/** The catalog's per-product outcomes of a step's write, counted into `out` (FAILED ones with the catalog's reason). */
function written(out: Reread, results: readonly catalog.ItemResult[]): void {
  for (const r of results) {
    if (r.outcome === catalog.ItemOutcome.UPDATED) out.changed++;
    else if (r.outcome === catalog.ItemOutcome.UNCHANGED) out.unchanged++;
    else if (r.outcome === catalog.ItemOutcome.FAILED) out.failures.set(r.productCode, `catalog: ${r.reason}`);
  }
}

export interface TargetDeps {
  catalog: Client<typeof catalog.CatalogService>;
  gateway: Client<typeof gateway.HaierGatewayService>;
}

export function priceTarget(deps: TargetDeps, maxAgeMs: number): SweepTarget {
  return {
    job: 'price_freshness',
    what: 'price',
    noun: 'prices',
    variable: 'SYNC_PRICE_MAX_AGE',
    maxAgeMs,
    callsPerCheck: 1 / rules.HAIER_CODES_PER_CALL,
    callsFor: (checks) => rules.haierCallsForCodes(checks),
    checksFor: (calls) => Math.max(1, calls) * rules.HAIER_CODES_PER_CALL,
    async due(req, signal) {
      const r = await deps.catalog.listPriceCheckDue(req, { signal });
      return { codes: r.products.map((p) => p.productCode), population: Number(r.procurable), neededPerSecond: r.neededPerSecond, overdue: Number(r.overdue), oldestCheckedAt: r.products[0]?.priceCheckedAt };
    },
    async reread(codes, signal) {
      const answer = await deps.gateway.getPrices({ productCodes: codes }, { ...LANE, signal });
      const merged = mergePrices(codes, answer.prices, answer.errors);
      const out: Reread = { changed: 0, unchanged: 0, failures: merged.failures };
      if (merged.inputs.length > 0) {
        written(out, (await deps.catalog.upsertProducts({ products: merged.inputs, runId: '' }, { signal })).results);
      }
      return out;
    },
  };
}

/**
 * `threshold` is the orchestrator's SYNC_LOW_STOCK_THRESHOLD: the catalog applies its own reading of
 * the same variable (the shared configuration sets both); a difference is logged once.
 */
export function stockTarget(deps: TargetDeps & { logger: Logger }, maxAgeMs: number, counties: readonly string[], threshold: number): SweepTarget {
  let warned = false;
  return {
    job: 'stock_freshness',
    what: 'stock',
    noun: "low-stock products' stock",
    variable: 'SYNC_LOW_STOCK_MAX_AGE',
    maxAgeMs,
    callsPerCheck: counties.length,
    callsFor: (checks) => checks * counties.length,
    checksFor: (calls) => Math.max(1, Math.floor(calls / counties.length)),
    async due(req, signal) {
      const r = await deps.catalog.listStockCheckDue(req, { signal });
      if (!warned && Number(r.below) !== threshold) {
        warned = true;
        deps.logger.warn(
          { catalog_below: Number(r.below), orchestrator_below: threshold },
          `the catalog counts stock below ${r.below} as low and this orchestrator below ${threshold}: set SYNC_LOW_STOCK_THRESHOLD alike for both (the sweep re-reads what the catalog lists)`,
        );
      }
      return { codes: r.products.map((p) => p.productCode), population: Number(r.lowStock), neededPerSecond: r.neededPerSecond, overdue: Number(r.overdue), oldestCheckedAt: r.products[0]?.stockCheckedAt };
    },
    async reread(codes, signal) {
      const queries = codes.flatMap((productCode) => counties.map((countyCode) => ({ productCode, countyCode })));
      const answer = await deps.gateway.getStocks({ queries }, { ...LANE, signal });
      const failures = new Map<string, string>();
      for (const e of answer.errors) if (!failures.has(e.productCode)) failures.set(e.productCode, `stock in ${e.countyCode}: ${e.reason}`);
      // a product is written with all its counties or not at all (a county Haier refused leaves its stock as it was)
      const items = toStockInputs(answer.stocks.filter((s) => !failures.has(s.productCode)));
      const out: Reread = { changed: 0, unchanged: 0, failures };
      if (items.length > 0) {
        written(out, (await deps.catalog.updateStock({ items, runId: '' }, { signal })).results);
      }
      const answered = new Set(items.map((i) => i.productCode));
      for (const code of codes) if (!failures.has(code) && !answered.has(code)) failures.set(code, 'stock: Haier returned no stock record for this code');
      return out;
    },
  };
}
