// CheckIntegrity: finds data that cannot be right and answers a verdict the orchestrator can
// act on (ok=false -> run a full sync). Every check is one SQL query over listed products.
import type { EntityManager } from '@mikro-orm/postgresql';
import { query } from './sql';

export interface Finding {
  check: string;
  count: number;
  sampleCodes: string[];
  message: string;
}

/** Invoice price may differ from the formula by at most this (Haier rounds to cents). */
export const INVOICE_TOLERANCE = '0.01';

const CHECKS: { check: string; where: string; message: string }[] = [
  {
    check: 'invoice_price_formula',
    where: `p.supply_price is not null and p.invoice_price is not null
      and abs(p.invoice_price - (p.supply_price * (1 - coalesce(p.stock_rebate, 0)) - coalesce(p.rebate_money, 0))) > ${INVOICE_TOLERANCE}`,
    message: `invoice_price differs from supply_price × (1 − stock_rebate) − rebate_money by more than ${INVOICE_TOLERANCE}; re-sync these prices`,
  },
  { check: 'missing_brand', where: 'p.brand_id is null', message: 'products without a brand; re-sync them (Haier sends productBrandName)' },
  { check: 'missing_category', where: 'p.category_id is null', message: 'products without a category; re-sync them (Haier sends productGroupNamd)' },
  {
    check: 'negative_stock',
    where: 'p.stock < 0 or exists (select 1 from catalog.product_stock s where s.product_code = p.code and s.quantity < 0)',
    message: 'negative stock quantities; re-sync stock for these products',
  },
  {
    check: 'display_price_priority',
    where: 'p.display_price is distinct from coalesce(p.pinned_price, p.supply_price, p.invoice_price, p.market_price)',
    message: 'display_price does not follow pinned > supply > invoice > market; re-sync or re-pin these products',
  },
];

export async function checkIntegrity(em: EntityManager, sampleLimit: number, markForRepair = false): Promise<{ ok: boolean; findings: Finding[]; checked: number; marked: number }> {
  const limit = sampleLimit === 0 ? 20 : Math.min(sampleLimit, 1000);
  const findings: Finding[] = [];
  for (const c of CHECKS) {
    const [row] = await query<{ count: string; codes: string[] | null }>(
      em,
      `select count(*)::text as count, (array_agg(code order by code))[1:${limit}] as codes
       from catalog.product p where p.delisted_at is null and (${c.where})`,
    );
    const count = Number(row?.count ?? 0);
    if (count > 0) findings.push({ check: c.check, count, sampleCodes: row?.codes ?? [], message: `${count} ${c.message}` });
  }
  const [total] = await query<{ n: string }>(em, `select count(*)::text as n from catalog.product where delisted_at is null`);
  let marked = 0;
  if (markForRepair && findings.length > 0) {
    // an empty hash never equals a computed one: the next upsert of these products diffs them field
    // by field against Haier's data and writes (and logs) whatever was wrong
    const flagged = CHECKS.filter((c) => findings.some((f) => f.check === c.check)).map((c) => `(${c.where})`).join(' or ');
    const rows = await query<{ code: string }>(em, `update catalog.product p set content_hash = '' where p.delisted_at is null and (${flagged}) returning p.code`);
    marked = rows.length;
  }
  return { ok: findings.length === 0, findings, checked: Number(total?.n ?? 0), marked };
}
