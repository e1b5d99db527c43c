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

export function aggregateStock(items: readonly StockInputData[], maxBatch = rules.MAX_STOCK_ITEMS_PER_WRITE): CountyStockState[] {
  if (items.length > maxBatch) {
    throw new BatchRejection(`batch of ${items.length} stock entries is larger than the limit of ${maxBatch}; split it into smaller batches`);
  }
  const groups = new Map<string, { state: CountyStockState; best: bigint; total: bigint }>();
  items.forEach((it, index) => {
    const code = it.productCode.trim();
    if (!code) throw new BatchRejection(`item ${index}: product_code is empty`, index, '');
    const county = it.countyCode.trim();
    const countyProblem = rules.checkText(rules.countyCode, county);
    if (countyProblem) throw new BatchRejection(`item ${index} (product_code "${code}"): county_code ${countyProblem}`, index, code);
    if (it.quantity < 0n) {
      throw new BatchRejection(`item ${index} (product_code "${code}"): quantity ${it.quantity} is negative`, index, code);
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
  return [...groups.values()].map((g) => ({ ...g.state, quantity: g.total.toString() }));
}
