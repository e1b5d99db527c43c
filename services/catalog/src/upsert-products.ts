// UpsertProducts: compare a batch with what is stored and write only what changed. An unchanged
// batch is one read; a batch with changes is one transaction of a few statements (never a query per row).
import type { EntityManager } from '@mikro-orm/postgresql';
import { priceHistoryRows, type LogEntry } from './change-log';
import { decide, isUnchanged, type Decision, type StoredDigest, type StoredState } from './change-detection';
import { canonicalOrNull } from './stored-decimal';
import type { NormalisedInput } from './product-input';
import { CHANGE_LOG_LOCK, PRODUCT_FROM, PRODUCT_SELECT, TEXT_ARRAY, pgArray, productSnapshot, query, unnestAs, unnestParams, type ProductRow } from './sql';
import { RetryableConflict, withRetry } from './transaction';

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
export class ConcurrentInsert extends RetryableConflict {}

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

type NameTable = 'category' | 'brand';

/**
 * Name -> id of categories and brands, per ORM instance. Names are created on their own (never
 * inside a batch's transaction), so a cached id is committed; rows are never deleted, and if one
 * is anyway, the foreign-key failure clears the cache and the write is retried.
 */
const nameCaches = new WeakMap<object, Record<NameTable, Map<string, string>>>();

function nameCache(em: EntityManager): Record<NameTable, Map<string, string>> {
  const key = em.config as object;
  let c = nameCaches.get(key);
  if (!c) nameCaches.set(key, (c = { category: new Map(), brand: new Map() }));
  return c;
}

/** Get-or-create by name, race-safe: insert what is missing (sorted, so concurrent batches lock in one order), then read all. */
export async function ensureNames(em: EntityManager, table: NameTable, names: Iterable<string>, known?: ReadonlyMap<string, string>): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  const missing: string[] = [];
  for (const n of new Set(names)) {
    if (n === '') continue;
    const id = known?.get(n);
    if (id !== undefined) ids.set(n, id);
    else missing.push(n);
  }
  if (missing.length === 0) return ids;
  const json = JSON.stringify(missing.sort());
  await query(em, `insert into catalog.${table} (name) select n from unnest(${TEXT_ARRAY}) as n order by n on conflict (name) do nothing`, [json]);
  const rows = await query<{ id: string; name: string }>(em, `select id::text as id, name from catalog.${table} where name = any(${TEXT_ARRAY})`, [json]);
  for (const r of rows) ids.set(r.name, r.id);
  return ids;
}

type Write = Extract<Decision, { outcome: 'created' | 'updated' }>;

function rowFor(d: Write, ord: number, cats: Map<string, string>, brands: Map<string, string>) {
  const s = d.state;
  return {
    op: d.outcome === 'created' ? 'c' : 'u',
    ord,
    kind: d.outcome === 'created' ? 'created' : d.kind,
    fields: d.outcome === 'created' ? [] : d.fields,
    category: s.category,
    brand: s.brand,
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

/** The columns of one write, as unnest() takes them. */
const WRITE_COLUMNS = [
  ['op', 'text'],
  ['ord', 'int'],
  ['kind', 'text'],
  ['fields', 'jsonb'],
  ['category', 'text'],
  ['brand', 'text'],
  ['code', 'text'],
  ['product_model', 'text'],
  ['name', 'text'],
  ['category_id', 'bigint'],
  ['brand_id', 'bigint'],
  ['product_image_url', 'text'],
  ['product_page_urls', 'jsonb'],
  ['supply_price', 'numeric'],
  ['invoice_price', 'numeric'],
  ['market_price', 'numeric'],
  ['stock_rebate', 'numeric'],
  ['rebate_money', 'numeric'],
  ['rebate_type', 'text'],
  ['is_sales', 'boolean'],
  ['no_sales_reason', 'text'],
  ['display_price', 'numeric'],
  ['content_hash', 'text'],
] as const;

const HISTORY_COLUMNS = [
  ['code', 'text'],
  ['field', 'text'],
  ['from_value', 'text'],
  ['to_value', 'text'],
] as const;

/**
 * Every write of a batch in one statement: take the change-log lock (before any row is written:
 * every write below depends on it), insert the new products, update the changed ones, append their
 * change-log rows (snapshot of the row as written) and price history. Atomic on its own, so a batch
 * of new products needs no explicit transaction. Fails as a whole (HS409) when a concurrent batch
 * created one of the new codes first.
 */
export const WRITE_BATCH = `with x as (select * from ${unnestAs('x', WRITE_COLUMNS)}),
  lk as materialized (select pg_advisory_xact_lock(${CHANGE_LOG_LOCK}) as locked),
  ins as (
    insert into catalog.product (code, product_model, name, category_id, brand_id, product_image_url, product_page_urls,
      supply_price, invoice_price, market_price, stock_rebate, rebate_money, rebate_type, is_sales, no_sales_reason,
      display_price, content_hash, last_synced_at)
    select x.code, x.product_model, x.name, x.category_id, x.brand_id, x.product_image_url, x.product_page_urls,
      x.supply_price, x.invoice_price, x.market_price, x.stock_rebate, x.rebate_money, x.rebate_type, x.is_sales,
      x.no_sales_reason, x.display_price, x.content_hash, now()
    from x cross join lk where x.op = 'c' order by x.code
    on conflict (code) do nothing returning *),
  upd as (
    update catalog.product p set product_model = x.product_model, name = x.name, category_id = x.category_id,
      brand_id = x.brand_id, product_image_url = x.product_image_url, product_page_urls = x.product_page_urls,
      supply_price = x.supply_price, invoice_price = x.invoice_price, market_price = x.market_price,
      stock_rebate = x.stock_rebate, rebate_money = x.rebate_money, rebate_type = x.rebate_type,
      is_sales = x.is_sales, no_sales_reason = x.no_sales_reason, display_price = x.display_price,
      content_hash = x.content_hash, version = p.version + 1, last_synced_at = now(), updated_at = now()
    from x cross join lk where x.op = 'u' and p.code = x.code returning p.*),
  w as (select * from ins union all select * from upd),
  log as (
    insert into catalog.change_log (product_code, version, kind, fields, run_id, snapshot)
    select w.code, w.version, x.kind, x.fields, ?, ${productSnapshot('w', 'x.category', 'x.brand')}
    from w join x on x.code = w.code order by x.ord returning 1),
  hist as (
    insert into catalog.price_history (product_code, field, from_value, to_value, run_id)
    select h.code, h.field, h.from_value, h.to_value, ? from ${unnestAs('h', HISTORY_COLUMNS)}
    returning 1)
  select catalog.assert_all_inserted(?::int, (select count(*) from ins)::int) as inserted, (select count(*) from upd)::int as updated,
    (select count(*) from log)::int as logged, (select count(*) from hist)::int as history`;

async function readStored(em: EntityManager, codes: readonly string[], lock: boolean): Promise<Map<string, StoredState>> {
  if (codes.length === 0) return new Map();
  const rows = await query<ProductRow>(
    em,
    `select ${PRODUCT_SELECT} from ${PRODUCT_FROM} where p.code = any(${TEXT_ARRAY}) order by p.code${lock ? ' for update of p' : ''}`,
    [JSON.stringify(codes)],
  );
  return new Map(rows.map((r) => [r.code, storedFromRow(r)]));
}

/** The few columns the unchanged-check needs, without locks. */
async function readDigests(em: EntityManager, codes: readonly string[]): Promise<Map<string, StoredDigest & { version: number }>> {
  const rows = await query<Record<keyof StoredDigest | 'code' | 'version', string | null>>(
    em,
    `select code, supply_price::text as supply_price, invoice_price::text as invoice_price, market_price::text as market_price,
       stock_rebate::text as stock_rebate, rebate_money::text as rebate_money, rebate_type, pinned_price::text as pinned_price,
       display_price::text as display_price, content_hash, version::text as version
     from catalog.product where code = any(?::text[])`,
    [pgArray(codes)],
  );
  return new Map(
    rows.map((r) => [
      r.code!,
      {
        supply_price: canonicalOrNull(r.supply_price),
        invoice_price: canonicalOrNull(r.invoice_price),
        market_price: canonicalOrNull(r.market_price),
        stock_rebate: canonicalOrNull(r.stock_rebate),
        rebate_money: canonicalOrNull(r.rebate_money),
        rebate_type: r.rebate_type ?? '',
        pinned_price: canonicalOrNull(r.pinned_price),
        display_price: canonicalOrNull(r.display_price),
        content_hash: r.content_hash ?? '',
        version: Number(r.version),
      },
    ]),
  );
}

interface NameIds {
  cats: Map<string, string>;
  brands: Map<string, string>;
}

/** Category and brand ids for the items, created if new: on their own (autocommit), before any batch transaction. */
async function resolveNames(em: EntityManager, items: readonly NormalisedInput[]): Promise<NameIds> {
  const cache = nameCache(em);
  const cats = await ensureNames(em, 'category', items.map((i) => i.category), cache.category);
  const brands = await ensureNames(em, 'brand', items.map((i) => i.brand), cache.brand);
  for (const [n, id] of cats) cache.category.set(n, id);
  for (const [n, id] of brands) cache.brand.set(n, id);
  return { cats, brands };
}

/** Runs WRITE_BATCH for the decided writes; conflicts it can meet are turned into retryable errors. */
async function writeBatch(em: EntityManager, writes: readonly Write[], ids: NameIds, runId: string): Promise<void> {
  const entries: LogEntry[] = writes.map((d) => ({ code: d.code, kind: d.outcome === 'created' ? 'created' : d.kind, fields: d.outcome === 'created' ? [] : d.fields }));
  try {
    await query(em, WRITE_BATCH, [
      ...unnestParams(writes.map((d, ord) => rowFor(d, ord, ids.cats, ids.brands)), WRITE_COLUMNS),
      runId,
      runId,
      ...unnestParams(priceHistoryRows(entries.filter((e) => e.kind !== 'created')), HISTORY_COLUMNS),
      writes.filter((d) => d.outcome === 'created').length,
    ]);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'HS409') throw new ConcurrentInsert('a concurrent batch created some of these products first');
    if (code === '23503') {
      // a cached category or brand id no longer exists (someone deleted it): forget the cache and redo
      const cache = nameCache(em);
      cache.category.clear();
      cache.brand.clear();
      throw new RetryableConflict('a cached category or brand no longer exists');
    }
    throw err;
  }
}

/**
 * First a quick unlocked check of what is stored: a batch with nothing to write ends there (one
 * query, no transaction, no row touched). A batch of only new products is then written by one
 * statement, atomic on its own. Otherwise (or when another batch created some of the codes
 * meanwhile) one transaction locks the rows, decides exactly on the locked state and writes the
 * whole batch in one statement. Either way a batch is written entirely or not at all.
 */
export async function upsertProducts(
  em: EntityManager,
  items: readonly NormalisedInput[],
  opts: { runId: string; dryRun?: boolean; warnings?: Map<string, string> },
): Promise<UpsertOutcome> {
  const digests = await readDigests(em, items.map((i) => i.code));
  const pending = items.filter((i) => {
    const d = digests.get(i.code);
    return !d || !isUnchanged(i, d);
  });
  const decided = new Map<string, Decision>();
  if (opts.dryRun) {
    const stored = await readStored(em, pending.map((i) => i.code), false);
    for (const i of pending) decided.set(i.code, decide(i, stored.get(i.code)));
  } else if (pending.length > 0) {
    let done = false;
    if (pending.every((i) => !digests.has(i.code))) {
      // all new a moment ago: one statement, no transaction; if another batch created one of them
      // meanwhile, the statement writes nothing and the transaction below decides again
      const creates = pending.map((i) => decide(i, undefined) as Write);
      done = await withRetry(async () => {
        try {
          await writeBatch(em, creates, await resolveNames(em, pending), opts.runId);
          return true;
        } catch (err) {
          if (err instanceof ConcurrentInsert) return false; // not worth retrying as all-new
          throw err;
        }
      });
      if (done) for (const d of creates) decided.set(d.code, d);
    }
    if (!done) {
      const redecided = await withRetry(async () => {
        const ids = await resolveNames(em, pending);
        return em.transactional(async (tem) => {
          const stored = await readStored(tem, pending.map((i) => i.code), true);
          const again = new Map(pending.map((i) => [i.code, decide(i, stored.get(i.code))]));
          const writes = [...again.values()].filter((d): d is Write => d.outcome !== 'unchanged');
          if (writes.length > 0) await writeBatch(tem, writes, ids, opts.runId);
          return again;
        });
      });
      for (const [code, d] of redecided) decided.set(code, d);
    }
  }
  const decisions: Decision[] = items.map((i) => decided.get(i.code) ?? { outcome: 'unchanged', code: i.code, version: digests.get(i.code)?.version ?? 0 });

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
