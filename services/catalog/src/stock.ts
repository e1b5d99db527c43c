// Stock per product per county: entries for the same product and county (one per warehouse)
// are summed; the warehouse with the most stock is the one shown. Pure.
import { rules, type catalog } from '@haier-sync/contracts';
import { BatchRejection } from './product-input';

/** One stock entry as sent: the generated catalog.StockInput, without protobuf-es bookkeeping. */
export type StockInputData = Omit<catalog.StockInput, '$typeName' | '$unknown'>;

/**
 * catalog.product_stock, described once: [column, Postgres type] in order (product_code is `code`
 * in the rows, updated_at is set by the writes). The writes and reads take their lists from it.
 */
export const STOCK_COLUMNS = [
  ['code', 'text'],
  ['county_code', 'text'],
  ['quantity', 'bigint'],
  ['best_sec_code', 'text'],
  ['best_warehouse_grade', 'text'],
  ['cut_time', 'text'],
  ['achieve_user_order_cut', 'text'],
  ['hour', 'text'],
] as const;

type StockColumn = (typeof STOCK_COLUMNS)[number][0];
/** One product's stock in one county; quantity is int8 as decimal text (exact). */
export type CountyStockState = Record<StockColumn, string>;

/** The columns compared to decide whether a county's stock changed. */
export const STOCK_FIELDS = STOCK_COLUMNS.map(([n]) => n).filter((n): n is Exclude<StockColumn, 'code' | 'county_code'> => n !== 'code' && n !== 'county_code');

/** The stored column of a stock field (`code` is product_code). */
export const stockColumn = (n: StockColumn): string => (n === 'code' ? 'product_code' : n);

/** The select list of product_stock rows `s` as CountyStockState (quantity as text). */
export const STOCK_SELECT = STOCK_COLUMNS.map(([n, t]) => `s.${stockColumn(n)}${t === 'bigint' ? '::text' : ''} as ${n}`).join(', ');

/** A stock batch summed per product and county, and the products that cannot be written. */
export interface StockBatch {
  entries: CountyStockState[];
  /** product code -> why none of its stock is written (the first bad entry of it). */
  failures: Map<string, string>;
}

/** Why one stock entry cannot be written, or undefined. */
function entryProblem(it: StockInputData, index: number, code: string, county: string): string | undefined {
  if (!code) return `item ${index}: product_code is empty; every stock entry needs Haier's productCode`;
  const codeProblem = rules.checkText(rules.productCode, code);
  if (codeProblem) return `item ${index}: product_code ${codeProblem}; check the code Haier sent`;
  const countyProblem = rules.checkText(rules.countyCode, county);
  if (countyProblem) return `item ${index}: county_code ${countyProblem}; check the county the stock was asked for`;
  if (it.quantity < 0n) return `item ${index}: quantity ${it.quantity} is negative; check the stock Haier sent`;
  return undefined;
}

/**
 * Sums a batch per product and county. Only a batch over the size limit is rejected as a whole
 * (BatchRejection); a bad entry (empty or malformed code, a bad county code, a negative
 * quantity) fails its product alone: none of that product's stock is written, the rest is.
 */
export function aggregateStock(items: readonly StockInputData[], maxBatch = rules.MAX_STOCK_ITEMS_PER_WRITE): StockBatch {
  if (items.length > maxBatch) {
    throw new BatchRejection(`batch of ${items.length} stock entries is larger than the limit of ${maxBatch}; split it into smaller batches`);
  }
  const groups = new Map<string, { state: CountyStockState; best: bigint; total: bigint }>();
  const failures = new Map<string, string>();
  items.forEach((it, index) => {
    const code = it.productCode.trim();
    const county = it.countyCode.trim();
    const problem = entryProblem(it, index, code, county);
    if (problem) {
      if (!failures.has(code)) failures.set(code, problem);
      return;
    }
    const key = `${code}\u0000${county}`;
    const g = groups.get(key);
    const detail = {
      best_sec_code: it.bestSecCode,
      best_warehouse_grade: it.bestWarehouseGrade,
      cut_time: it.cutTime,
      achieve_user_order_cut: it.achieveUserOrderCut,
      hour: it.hour,
    };
    if (!g) {
      groups.set(key, { state: { code, county_code: county, quantity: '', ...detail }, best: it.quantity, total: it.quantity });
    } else {
      g.total += it.quantity;
      if (it.quantity > g.best) {
        g.best = it.quantity;
        Object.assign(g.state, detail);
      }
    }
  });
  const entries = [...groups.values()].filter((g) => !failures.has(g.state.code)).map((g) => ({ ...g.state, quantity: g.total.toString() }));
  return { entries, failures };
}
