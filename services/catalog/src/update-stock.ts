// UpdateStock: per product per county stock, with the headline stock from the default county.
// Changed products get one version bump and one stock_changed log row each. A product whose
// entries are bad (stock.ts) or that is not in the catalog is answered FAILED with the reason;
// the rest is written, and every product written (changed or not) has its stock_checked_at moved.
import type { EntityManager } from '@mikro-orm/postgresql';
import { appendChanges, type LogEntry } from './change-log';
import { json, type FieldChange } from './change-detection';
import { STOCK_COLUMNS, STOCK_FIELDS, STOCK_SELECT, stockColumn, type CountyStockState, type StockBatch } from './stock';
import { TEXT_ARRAY, query, unnestAs, unnestParams } from './sql';
import { withRetry } from './transaction';

export interface StockItemResult {
  code: string;
  outcome: 'updated' | 'unchanged' | 'failed';
  changedFields: string[];
  version: number;
  reason: string;
}

export interface StockOutcome {
  results: StockItemResult[];
  updated: number;
  unchanged: number;
  failed: number;
}

type StoredCounty = CountyStockState;

function countyJson(s: StoredCounty | undefined): string {
  return s ? json(Object.fromEntries(STOCK_FIELDS.map((f) => [f, f === 'quantity' ? Number(s[f]) : s[f]]))) : 'null';
}

export async function updateStock(
  em: EntityManager,
  batch: StockBatch,
  opts: { runId: string; dryRun?: boolean; defaultCounty: string },
): Promise<StockOutcome> {
  return withRetry(() =>
    em.transactional(async (tem) => {
      const { entries } = batch;
      const codes = [...new Set(entries.map((e) => e.code))].sort();
      const products = await query<{ code: string; stock: string | null; version: string }>(
        tem,
        `select code, stock::text as stock, version::text as version from catalog.product where code = any(${TEXT_ARRAY}) order by code${opts.dryRun ? '' : ' for update'}`,
        [JSON.stringify(codes)],
      );
      const byCode = new Map(products.map((p) => [p.code, p]));
      const existing = await query<StoredCounty>(
        tem,
        `select ${STOCK_SELECT} from catalog.product_stock s where s.product_code = any(${TEXT_ARRAY})`,
        [JSON.stringify(codes)],
      );
      const stored = new Map(existing.map((s) => [`${s.code}\u0000${s.county_code}`, s]));

      const perProduct = new Map<string, { fields: FieldChange[]; headline?: string }>();
      const rowsToWrite: CountyStockState[] = [];
      const failed = new Map(batch.failures);
      for (const e of entries) {
        const p = byCode.get(e.code);
        if (!p) {
          failed.set(e.code, `unknown product_code "${e.code}": upsert the product before its stock`);
          continue;
        }
        const before = stored.get(`${e.code}\u0000${e.county_code}`);
        const changed = !before || STOCK_FIELDS.some((f) => before[f] !== e[f]);
        const acc = perProduct.get(e.code) ?? { fields: [] };
        perProduct.set(e.code, acc);
        if (!changed) continue;
        rowsToWrite.push(e);
        acc.fields.push({ field: `county_stock.${e.county_code}`, before: countyJson(before), after: countyJson(e) });
        if (e.county_code === opts.defaultCounty && p.stock !== e.quantity) {
          acc.fields.push({ field: 'stock', before: p.stock ?? 'null', after: e.quantity });
          acc.headline = e.quantity;
        }
      }
      const changedCodes = [...perProduct].filter(([, v]) => v.fields.length > 0);
      // every product whose stock Haier answered was checked now, changed or not (the low-stock sweep reads it)
      const checked = [...perProduct.keys()].filter((code) => !failed.has(code)).sort();
      if (!opts.dryRun && checked.length) {
        await query(tem, `update catalog.product set stock_checked_at = now() where code = any(${TEXT_ARRAY})`, [JSON.stringify(checked)]);
      }
      if (!opts.dryRun && rowsToWrite.length) {
        await query(
          tem,
          `insert into catalog.product_stock (${STOCK_COLUMNS.map(([n]) => stockColumn(n)).join(', ')}, updated_at)
           select ${STOCK_COLUMNS.map(([n]) => `x.${n}`).join(', ')}, now() from ${unnestAs('x', STOCK_COLUMNS)}
           order by x.code, x.county_code
           on conflict (product_code, county_code) do update set ${STOCK_FIELDS.map((f) => `${f} = excluded.${f}`).join(', ')}, updated_at = now()`,
          unnestParams(rowsToWrite, STOCK_COLUMNS),
        );
        await query(
          tem,
          `update catalog.product p set stock = case when x.set_stock then x.stock else p.stock end, version = p.version + 1, updated_at = now()
           from json_to_recordset(?::json) as x(code text, stock bigint, set_stock boolean) where p.code = x.code`,
          [JSON.stringify(changedCodes.map(([code, v]) => ({ code, stock: v.headline ?? null, set_stock: v.headline !== undefined })))],
        );
        const log: LogEntry[] = changedCodes.map(([code, v]) => ({ code, kind: 'stock_changed', fields: v.fields }));
        await appendChanges(tem, log, opts.runId);
      }
      const out: StockOutcome = { results: [], updated: 0, unchanged: 0, failed: 0 };
      for (const code of [...new Set([...codes, ...batch.failures.keys()])].sort()) {
        const why = failed.get(code);
        const p = byCode.get(code);
        if (why || !p) {
          out.failed++;
          out.results.push({ code, outcome: 'failed', changedFields: [], version: 0, reason: why ?? 'unknown product' });
          continue;
        }
        const fields = perProduct.get(code)?.fields ?? [];
        if (fields.length) {
          out.updated++;
          out.results.push({ code, outcome: 'updated', changedFields: fields.map((f) => f.field), version: Number(p.version) + 1, reason: '' });
        } else {
          out.unchanged++;
          out.results.push({ code, outcome: 'unchanged', changedFields: [], version: Number(p.version), reason: '' });
        }
      }
      return out;
    }),
  );
}
