// UpsertProducts: compare a batch with what is stored and write only what changed, in one
// transaction with a handful of statements per batch (never a query per row).
import type { EntityManager } from '@mikro-orm/postgresql';
import { appendChanges, appendPriceHistory, type LogEntry } from './change-log';
import { decide, type Decision, type StoredState } from './change-detection';
import { canonicalOrNull } from './decimal';
import type { NormalisedInput } from './product-input';
import { PRODUCT_FROM, PRODUCT_SELECT, TEXT_ARRAY, query, type ProductRow } from './sql';
import { withRetry } from './transaction';

export interface UpsertItemResult {
  code: string;
  outcome: 'created' | 'updated' | 'unchanged' | 'failed';
  changedFields: string[];
  version: number;
  reason: string;
}

export interface UpsertOutcome {
  results: UpsertItemResult[];
  created: number;
  updated: number;
  unchanged: number;
  failed: number;
}

/** Thrown when another batch created one of our new codes first; the transaction is retried. */
export class ConcurrentInsert extends Error {}

export function storedFromRow(r: ProductRow): StoredState {
  return {
    code: r.code,
    product_model: r.product_model,
    name: r.name,
    category: r.category,
    brand: r.brand,
    product_image_url: r.product_image_url,
    product_page_urls: r.product_page_urls,
    is_sales: r.is_sales,
    no_sales_reason: r.no_sales_reason,
    supply_price: canonicalOrNull(r.supply_price),
    invoice_price: canonicalOrNull(r.invoice_price),
    market_price: canonicalOrNull(r.market_price),
    stock_rebate: canonicalOrNull(r.stock_rebate),
    rebate_money: canonicalOrNull(r.rebate_money),
    rebate_type: r.rebate_type,
    pinned_price: canonicalOrNull(r.pinned_price),
    display_price: canonicalOrNull(r.display_price),
    version: Number(r.version),
    content_hash: r.content_hash,
  };
}

/** Get-or-create by name, race-safe: insert what is missing (sorted, so concurrent batches lock in one order), then read all. */
export async function ensureNames(em: EntityManager, table: 'category' | 'brand', names: Iterable<string>): Promise<Map<string, string>> {
  const list = [...new Set([...names].filter((n) => n !== ''))].sort();
  const ids = new Map<string, string>();
  if (list.length === 0) return ids;
  const json = JSON.stringify(list);
  await query(em, `insert into catalog.${table} (name) select n from unnest(${TEXT_ARRAY}) as n order by n on conflict (name) do nothing`, [json]);
  const rows = await query<{ id: string; name: string }>(em, `select id::text as id, name from catalog.${table} where name = any(${TEXT_ARRAY})`, [json]);
  for (const r of rows) ids.set(r.name, r.id);
  return ids;
}

function rowFor(d: Extract<Decision, { outcome: 'created' | 'updated' }>, cats: Map<string, string>, brands: Map<string, string>) {
  const s = d.state;
  return {
    code: d.code,
    product_model: s.product_model,
    name: s.name,
    category_id: cats.get(s.category) ?? null,
    brand_id: brands.get(s.brand) ?? null,
    product_image_url: s.product_image_url,
    product_page_urls: s.product_page_urls,
    supply_price: s.supply_price,
    invoice_price: s.invoice_price,
    market_price: s.market_price,
    stock_rebate: s.stock_rebate,
    rebate_money: s.rebate_money,
    rebate_type: s.rebate_type,
    is_sales: s.is_sales,
    no_sales_reason: s.no_sales_reason,
    display_price: d.display_price,
    content_hash: d.content_hash,
  };
}

const RECORD = `x(code text, product_model text, name text, category_id bigint, brand_id bigint, product_image_url text,
  product_page_urls jsonb, supply_price numeric, invoice_price numeric, market_price numeric, stock_rebate numeric,
  rebate_money numeric, rebate_type text, is_sales boolean, no_sales_reason text, display_price numeric, content_hash text)`;

export async function upsertProducts(
  em: EntityManager,
  items: readonly NormalisedInput[],
  opts: { runId: string; dryRun?: boolean; warnings?: Map<string, string> },
): Promise<UpsertOutcome> {
  const decisions = await withRetry(() =>
    em.transactional(async (tem) => {
      const codes = items.map((i) => i.code);
      const stored = await query<ProductRow>(
        tem,
        `select ${PRODUCT_SELECT} from ${PRODUCT_FROM} where p.code = any(${TEXT_ARRAY}) order by p.code${opts.dryRun ? '' : ' for update of p'}`,
        [JSON.stringify(codes)],
      );
      const byCode = new Map(stored.map((r) => [r.code, storedFromRow(r)]));
      const decisions = items.map((i) => decide(i, byCode.get(i.code)));
      const writes = decisions.filter((d): d is Extract<Decision, { outcome: 'created' | 'updated' }> => d.outcome !== 'unchanged');
      if (opts.dryRun || writes.length === 0) return decisions;

      const cats = await ensureNames(tem, 'category', writes.map((d) => d.state.category));
      const brands = await ensureNames(tem, 'brand', writes.map((d) => d.state.brand));

      const created = writes.filter((d) => d.outcome === 'created').sort((a, b) => (a.code < b.code ? -1 : 1));
      if (created.length) {
        const inserted = await query<{ code: string }>(
          tem,
          `insert into catalog.product (code, product_model, name, category_id, brand_id, product_image_url, product_page_urls,
             supply_price, invoice_price, market_price, stock_rebate, rebate_money, rebate_type, is_sales, no_sales_reason,
             display_price, content_hash, last_synced_at)
           select x.code, x.product_model, x.name, x.category_id, x.brand_id, x.product_image_url, x.product_page_urls,
             x.supply_price, x.invoice_price, x.market_price, x.stock_rebate, x.rebate_money, x.rebate_type, x.is_sales,
             x.no_sales_reason, x.display_price, x.content_hash, now()
           from json_to_recordset(?::json) as ${RECORD}
           on conflict (code) do nothing returning code`,
          [JSON.stringify(created.map((d) => rowFor(d, cats, brands)))],
        );
        if (inserted.length !== created.length) throw new ConcurrentInsert('a concurrent batch created some of these products first');
      }
      const updated = writes.filter((d) => d.outcome === 'updated');
      if (updated.length) {
        await query(
          tem,
          `update catalog.product p set product_model = x.product_model, name = x.name, category_id = x.category_id,
             brand_id = x.brand_id, product_image_url = x.product_image_url, product_page_urls = x.product_page_urls,
             supply_price = x.supply_price, invoice_price = x.invoice_price, market_price = x.market_price,
             stock_rebate = x.stock_rebate, rebate_money = x.rebate_money, rebate_type = x.rebate_type,
             is_sales = x.is_sales, no_sales_reason = x.no_sales_reason, display_price = x.display_price,
             content_hash = x.content_hash, version = p.version + 1, last_synced_at = now(), updated_at = now()
           from json_to_recordset(?::json) as ${RECORD}
           where p.code = x.code`,
          [JSON.stringify(updated.map((d) => rowFor(d, cats, brands)))],
        );
      }
      const entries: LogEntry[] = writes.map((d) => ({ code: d.code, kind: d.outcome === 'created' ? 'created' : d.kind, fields: d.outcome === 'created' ? [] : d.fields }));
      await appendChanges(tem, entries, opts.runId);
      await appendPriceHistory(tem, entries.filter((e) => e.kind !== 'created'), opts.runId);
      return decisions;
    }),
  );

  const out: UpsertOutcome = { results: [], created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const d of decisions) {
    const reason = opts.warnings?.get(d.code) ?? '';
    if (d.outcome === 'created') {
      out.created++;
      out.results.push({ code: d.code, outcome: 'created', changedFields: [], version: 1, reason });
    } else if (d.outcome === 'updated') {
      out.updated++;
      out.results.push({ code: d.code, outcome: 'updated', changedFields: d.fields.map((f) => f.field), version: d.version, reason });
    } else {
      out.unchanged++;
      out.results.push({ code: d.code, outcome: 'unchanged', changedFields: [], version: d.version, reason });
    }
  }
  return out;
}
