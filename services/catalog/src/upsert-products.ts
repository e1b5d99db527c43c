// UpsertProducts: compare a batch with what is stored and write only what changed. An unchanged
// batch is one read (and, when it carries prices, one statement moving price_checked_at); a batch
// with changes is one transaction of a few statements (never a query per row).
import type { EntityManager } from '@mikro-orm/postgresql';
import { activeTraceparent } from '@haier-sync/runtime';
import { HISTORY_COLUMNS, HISTORY_INSERT, priceHistoryRows, type LogEntry } from './change-log';
import { decide, isUnchanged, type Decision, type StoredDigest, type StoredState } from './change-detection';
import { canonicalOrNull } from './stored-decimal';
import type { NormalisedInput } from './product-input';
import { DECIMAL_COLUMNS, PRICE_COLUMNS, SYNCED_FIELDS, readExpr, storedColumn, writeType, type ProductColumn, type ProductRow } from './product-table';
import { CHANGE_LOG_LOCK, PRODUCT_FROM, PRODUCT_SELECT, TEXT_ARRAY, pgArray, productSnapshot, query, unnestAs, unnestParams } from './sql';
import { RetryableConflict, withRetry } from './transaction';

export interface UpsertItemResult {
  code: string;
  /** failed: a prices-only input of a product the catalog does not have. */
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

/** Why a prices-only input of an unknown product is not written. */
export const PRICES_ONLY_UNKNOWN = 'is not in the catalog: a prices-only write (the price-freshness sweep) only updates stored products; sync the product first';

/** Thrown when another batch created one of our new codes first; the transaction is retried. */
export class ConcurrentInsert extends RetryableConflict {}

/** A read row as change detection compares it: decimals canonical, version a number. */
export function storedFromRow(r: ProductRow): StoredState {
  const out: Record<string, unknown> = {};
  for (const k in r) out[k] = r[k as ProductColumn];
  out['version'] = Number(r.version);
  for (const n of DECIMAL_COLUMNS) if (n in r) out[n] = canonicalOrNull(r[n] as string | null);
  return out as unknown as StoredState;
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

/** The synced fields as written: category and brand as their ids. */
const WRITTEN_FIELDS = SYNCED_FIELDS.map((n) => [storedColumn(n), writeType(n)] as const);

/** The columns of one write, as unnest() takes them: what the statement needs, then every stored column. */
const WRITE_COLUMNS = [
  ['op', 'text'],
  ['ord', 'int'],
  ['kind', 'text'],
  ['fields', 'jsonb'],
  ['category', 'text'],
  ['brand', 'text'],
  ['code', 'text'],
  ...WRITTEN_FIELDS,
  ['display_price', 'numeric'],
  ['content_hash', 'text'],
  ['checked', 'boolean'],
  ['log', 'boolean'],
] as const;

/** Columns the batch write sets from x (in insert and update alike). */
const SET_COLUMNS = [...WRITTEN_FIELDS.map(([n]) => n), 'display_price', 'content_hash'];

function rowFor(d: Write, ord: number, cats: Map<string, string>, brands: Map<string, string>, withPrices: ReadonlySet<string>, deferLog?: ReadonlySet<string>): Record<string, unknown> {
  const s = d.state;
  const row: Record<string, unknown> = {
    op: d.outcome === 'created' ? 'c' : 'u',
    ord,
    kind: d.outcome === 'created' ? 'created' : d.kind,
    fields: d.outcome === 'created' ? [] : d.fields,
    code: d.code,
  };
  for (const f of SYNCED_FIELDS) row[f] = s[f];
  row['category_id'] = cats.get(s.category) ?? null;
  row['brand_id'] = brands.get(s.brand) ?? null;
  row['display_price'] = d.display_price;
  row['content_hash'] = d.content_hash;
  row['checked'] = withPrices.has(d.code);
  row['log'] = !deferLog?.has(d.code);
  return row;
}

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
    insert into catalog.product (code, ${SET_COLUMNS.join(', ')}, last_synced_at, price_checked_at)
    select x.code, ${SET_COLUMNS.map((n) => `x.${n}`).join(', ')}, now(), case when x.checked then now() end
    from x cross join lk where x.op = 'c' order by x.code
    on conflict (code) do nothing returning *),
  upd as (
    update catalog.product p set ${SET_COLUMNS.map((n) => `${n} = x.${n}`).join(', ')},
      version = p.version + 1, last_synced_at = now(), updated_at = now(),
      price_checked_at = case when x.checked then now() else p.price_checked_at end
    from x cross join lk where x.op = 'u' and p.code = x.code returning p.*),
  w as (select * from ins union all select * from upd),
  log as (
    insert into catalog.change_log (product_code, version, kind, fields, run_id, traceparent, snapshot)
    select w.code, w.version, x.kind, x.fields, ?, ?, ${productSnapshot('w', 'x.category', 'x.brand')}
    from w join x on x.code = w.code where x.log order by x.ord returning 1),
  hist as (
    ${HISTORY_INSERT}
    returning 1)
  select catalog.assert_all_inserted(?::int, (select count(*) from ins)::int) as inserted, (select count(*) from upd)::int as updated,
    (select count(*) from log)::int as logged, (select count(*) from hist)::int as history`;

/** Moves price_checked_at of unchanged products whose price was just checked; rows locked in code order, like every batch (no deadlock between concurrent batches). */
const MARK_CHECKED = `update catalog.product p set price_checked_at = now()
  from (select code from catalog.product where code = any(?::text[]) order by code for no key update) l where p.code = l.code`;

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
const DIGEST_COLUMNS = ['code', ...PRICE_COLUMNS, 'pinned_price', 'display_price', 'content_hash', 'version'] satisfies (ProductColumn & keyof StoredState)[];

async function readDigests(em: EntityManager, codes: readonly string[]): Promise<Map<string, StoredDigest & { version: number }>> {
  const rows = await query<ProductRow>(em, `select ${DIGEST_COLUMNS.map((n) => `${readExpr(n)} as ${n}`).join(', ')} from catalog.product p where p.code = any(?::text[])`, [
    pgArray(codes),
  ]);
  return new Map(rows.map((r) => [r.code, storedFromRow(r)]));
}

interface NameIds {
  cats: Map<string, string>;
  brands: Map<string, string>;
}

/** Category and brand ids for the items, created if new: on their own (autocommit), before any batch transaction. */
export async function resolveNames(em: EntityManager, items: readonly NormalisedInput[]): Promise<NameIds> {
  const cache = nameCache(em);
  const cats = await ensureNames(em, 'category', items.map((i) => i.category), cache.category);
  const brands = await ensureNames(em, 'brand', items.map((i) => i.brand), cache.brand);
  for (const [n, id] of cats) cache.category.set(n, id);
  for (const [n, id] of brands) cache.brand.set(n, id);
  return { cats, brands };
}

/**
 * Runs WRITE_BATCH for the decided writes; conflicts it can meet are turned into retryable errors.
 * The change-log rows of the codes in `deferLog` are not appended: they are returned for the caller
 * to append later in the same transaction (upsert-with-images.ts: with the images' fields).
 */
async function writeBatch(em: EntityManager, writes: readonly Write[], ids: NameIds, runId: string, withPrices: ReadonlySet<string>, deferLog?: ReadonlySet<string>): Promise<LogEntry[]> {
  const entries: LogEntry[] = writes.map((d) => ({ code: d.code, kind: d.outcome === 'created' ? 'created' : d.kind, fields: d.outcome === 'created' ? [] : d.fields }));
  try {
    await query(em, WRITE_BATCH, [
      ...unnestParams(writes.map((d, ord) => rowFor(d, ord, ids.cats, ids.brands, withPrices, deferLog)), WRITE_COLUMNS),
      runId,
      // the change-log rows keep the trace context of the call that wrote them (the relay links to it)
      activeTraceparent(),
      runId,
      ...unnestParams(priceHistoryRows(entries.filter((e) => e.kind !== 'created')), HISTORY_COLUMNS),
      writes.filter((d) => d.outcome === 'created').length,
    ]);
    return entries.filter((e) => deferLog?.has(e.code));
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
 * query, no transaction, no row touched but price_checked_at of the prices it carries). A batch of only new products is then written by one
 * statement, atomic on its own. Otherwise (or when another batch created some of the codes
 * meanwhile) one transaction locks the rows, decides exactly on the locked state and writes the
 * whole batch in one statement. Either way the items given are written entirely or not at all
 * (items that fail validation never get here: normaliseProducts answers them FAILED).
 */
export async function upsertProducts(
  em: EntityManager,
  items: readonly NormalisedInput[],
  opts: {
    runId: string;
    dryRun?: boolean;
    warnings?: Map<string, string>;
    /**
     * The caller's transaction holds this write (upsertWithImages): no autocommit shortcut. The
     * change-log rows of the codes in `deferLog` are not appended but put in `deferred`, for the
     * caller to append (once) in the same transaction.
     */
    inTransaction?: boolean;
    deferLog?: ReadonlySet<string>;
    deferred?: Map<string, LogEntry>;
  },
): Promise<UpsertOutcome> {
  // a prices-only input is merged with the stored listing: its unchanged-check reads the whole row
  const digests: Map<string, StoredDigest & Partial<StoredState> & { version: number }> = await readDigests(em, items.filter((i) => !i.pricesOnly).map((i) => i.code));
  if (items.some((i) => i.pricesOnly)) for (const [code, row] of await readStored(em, items.filter((i) => i.pricesOnly).map((i) => i.code), false)) digests.set(code, row);
  const unknown = new Set(items.filter((i) => i.pricesOnly && !digests.has(i.code)).map((i) => i.code));
  const withPrices = new Set(items.filter((i) => i.prices !== null && !unknown.has(i.code)).map((i) => i.code));
  const pending = items.filter((i) => {
    if (unknown.has(i.code)) return false;
    const d = digests.get(i.code);
    return !d || !isUnchanged(i, d);
  });
  const decided = new Map<string, Decision>();
  if (opts.dryRun) {
    const stored = await readStored(em, pending.map((i) => i.code), false);
    for (const i of pending) decided.set(i.code, decide(i, stored.get(i.code)));
  } else if (pending.length > 0) {
    let done = false;
    const logged = (entries: LogEntry[]): void => {
      for (const e of entries) opts.deferred?.set(e.code, e);
    };
    if (!opts.inTransaction && pending.every((i) => !digests.has(i.code))) {
      // all new a moment ago: one statement, no transaction; if another batch created one of them
      // meanwhile, the statement writes nothing and the transaction below decides again
      const creates = pending.map((i) => decide(i, undefined) as Write);
      done = await withRetry(async () => {
        try {
          logged(await writeBatch(em, creates, await resolveNames(em, pending), opts.runId, withPrices, opts.deferLog));
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
          // a prices-only input whose product is not stored (products are never deleted: a guard) is not written
          for (const i of pending) if (i.pricesOnly && !stored.has(i.code)) unknown.add(i.code);
          const again = new Map(pending.filter((i) => !unknown.has(i.code)).map((i) => [i.code, decide(i, stored.get(i.code))]));
          const writes = [...again.values()].filter((d): d is Write => d.outcome !== 'unchanged');
          // a prices-only write keeps the stored (locked) category and brand, which exist: look their ids up here
          for (const [table, map] of [['category', ids.cats], ['brand', ids.brands]] as const) {
            const names = writes.map((d) => d.state[table]).filter((n) => n !== '' && !map.has(n));
            if (names.length > 0) for (const [n, id] of await ensureNames(tem, table, names)) map.set(n, id);
          }
          if (writes.length > 0) logged(await writeBatch(tem, writes, ids, opts.runId, withPrices, opts.deferLog));
          return again;
        });
      });
      for (const [code, d] of redecided) decided.set(code, d);
    }
  }
  const decisions: Decision[] = items.map((i) => decided.get(i.code) ?? { outcome: 'unchanged', code: i.code, version: digests.get(i.code)?.version ?? 0 });
  if (!opts.dryRun) {
    // an unchanged price was still checked: only its price_checked_at moves (written ones moved it in WRITE_BATCH)
    const checked = decisions.filter((d) => d.outcome === 'unchanged' && withPrices.has(d.code) && !unknown.has(d.code)).map((d) => d.code);
    if (checked.length > 0) await withRetry(() => query(em, MARK_CHECKED, [pgArray(checked)]));
  }

  const out: UpsertOutcome = { results: [], created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const d of decisions) {
    const reason = opts.warnings?.get(d.code) ?? '';
    if (unknown.has(d.code)) {
      out.failed++;
      out.results.push({ code: d.code, outcome: 'failed', changedFields: [], version: 0, reason: `${d.code} ${PRICES_ONLY_UNKNOWN}` });
    } else if (d.outcome === 'created') {
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
