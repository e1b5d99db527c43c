// Stock per product per county: entries for the same product and county (one per warehouse)
// are summed; the warehouse with the most stock is the one shown. Pure.
import { rules } from '@haier-sync/contracts';
import { BatchRejection } from './product-input';

export interface StockInputLike {
  productCode: string;
  countyCode: string;
  quantity: bigint;
  bestSecCode: string;
  bestWarehouseGrade: string;
  cutTime: string;
  achieveUserOrderCut: string;
  hour: string;
}

export interface CountyStockState {
  code: string;
  county_code: string;
  quantity: string; // int8 as decimal text (exact)
  best_sec_code: string;
  best_warehouse_grade: string;
  cut_time: string;
  achieve_user_order_cut: string;
  hour: string;
}

export const STOCK_FIELDS = ['quantity', 'best_sec_code', 'best_warehouse_grade', 'cut_time', 'achieve_user_order_cut', 'hour'] as const;

export function aggregateStock(items: readonly StockInputLike[], maxBatch = rules.MAX_STOCK_ITEMS_PER_WRITE): CountyStockState[] {
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
