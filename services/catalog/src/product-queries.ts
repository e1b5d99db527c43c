// Reads: one product, a filtered keyset-paginated list, categories and brands with counts,
// price history (through the ORM), the change log and stats.
import type { EntityManager } from '@mikro-orm/postgresql';
import { decodeCursor, encodeCursor } from './cursor';
import { DecimalError, canonicalDecimal } from './stored-decimal';
import { PriceHistory, type PriceHistoryEntity } from './entities';
import { NotFound } from './errors';
import { BatchRejection } from './product-input';
import type { ProductRow } from './product-table';
import { PRODUCT_FROM, PRODUCT_SELECT, pgArray, query } from './sql';
import { STOCK_SELECT, type CountyStockState } from './stock';

export interface CountyStockRow extends CountyStockState {
  updated_at: Date;
}

export async function getProduct(em: EntityManager, code: string): Promise<{ product: ProductRow; stock: CountyStockRow[] }> {
  const [product] = await query<ProductRow>(em, `select ${PRODUCT_SELECT} from ${PRODUCT_FROM} where p.code = ?`, [code]);
  if (!product) throw new NotFound(`product "${code}" is not in the catalog; check the code or run a sync first`);
  const stock = await query<CountyStockRow>(
    em,
    `select ${STOCK_SELECT}, s.updated_at from catalog.product_stock s where s.product_code = ? order by s.county_code`,
    [code],
  );
  return { product, stock };
}

export type SortKey = 'code' | 'name' | 'display_price' | 'updated_at' | 'stock';

export interface ListFilter {
  category?: string;
  brand?: string;
  isSales?: boolean;
  query?: string;
  minPrice?: string;
  maxPrice?: string;
  changedSince?: Date;
  sort: SortKey;
  descending: boolean;
  pageSize?: number;
  cursor?: string;
  includeDelisted?: boolean;
  /** Also count what the filters match over all pages. */
  withTotal?: boolean;
}

/**
 * Sort key expressions. Nullable keys sort last in both directions (a sentinel), so the
 * keyset (key, code) is total. Sorting by code or name is stable under concurrent updates;
 * sorting by a mutable key (updated_at, display_price, stock) pages over the values as they
 * are when each page is read: a product whose key moves behind the cursor is not seen again
 * in this pass, one that moves ahead of it may be seen twice.
 */
function sortExpr(sort: SortKey, desc: boolean): { expr: string; cast: string } {
  switch (sort) {
    case 'code':
      return { expr: 'p.code', cast: 'text' };
    case 'name':
      return { expr: 'p.name', cast: 'text' };
    case 'display_price':
      return { expr: `coalesce(p.display_price, '${desc ? '-' : ''}Infinity'::numeric)`, cast: 'numeric' };
    case 'stock':
      // parenthesised: -9223372036854775808::bigint is -(9223372036854775808::bigint), out of range
      return { expr: `coalesce(p.stock, (${desc ? '-9223372036854775808' : '9223372036854775807'})::bigint)`, cast: 'bigint' };
    case 'updated_at':
      return { expr: 'p.updated_at', cast: 'timestamptz' };
  }
}

function price(text: string | undefined, field: string): string | undefined {
  if (text === undefined || text === '') return undefined;
  try {
    return canonicalDecimal(text);
  } catch (err) {
    throw new BatchRejection(`${field}: ${err instanceof DecimalError ? err.message : String(err)}`);
  }
}

export async function listProducts(em: EntityManager, f: ListFilter): Promise<{ products: ProductRow[]; nextCursor: string; total?: number }> {
  const size = f.pageSize ?? 50;
  if (!Number.isInteger(size) || size < 1 || size > 500) throw new BatchRejection(`page_size must be 1..500, got ${size}`);
  const where: string[] = [];
  const params: unknown[] = [];
  if (!f.includeDelisted) where.push('p.delisted_at is null');
  if (f.category) (where.push('c.name = ?'), params.push(f.category));
  if (f.brand) (where.push('b.name = ?'), params.push(f.brand));
  if (f.isSales !== undefined) (where.push('p.is_sales = ?'), params.push(f.isSales));
  if (f.query) {
    const like = `%${f.query.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    where.push('(p.name ilike ? or p.product_model ilike ? or p.code ilike ?)');
    params.push(like, like, like);
  }
  const min = price(f.minPrice, 'min_price');
  const max = price(f.maxPrice, 'max_price');
  if (min !== undefined) (where.push('p.display_price >= ?::numeric'), params.push(min));
  if (max !== undefined) (where.push('p.display_price <= ?::numeric'), params.push(max));
  if (f.changedSince) (where.push('p.updated_at >= ?'), params.push(f.changedSince));
  const countSql = `select count(*)::text as n from ${PRODUCT_FROM} ${where.length ? `where ${where.join(' and ')}` : ''}`;
  const countParams = [...params];
  const { expr, cast } = sortExpr(f.sort, f.descending);
  const dir = f.descending ? 'desc' : 'asc';
  if (f.cursor) {
    const c = decodeCursor(f.cursor, f.sort, f.descending);
    where.push(`(${expr}, p.code) ${f.descending ? '<' : '>'} (?::${cast}, ?)`);
    params.push(c.key, c.code);
  }
  const rows = await query<ProductRow & { sort_key: string }>(
    em,
    `select ${PRODUCT_SELECT}, (${expr})::text as sort_key from ${PRODUCT_FROM}
     ${where.length ? `where ${where.join(' and ')}` : ''}
     order by ${expr} ${dir}, p.code ${dir} limit ${size + 1}`,
    params,
  );
  const more = rows.length > size;
  const page = more ? rows.slice(0, size) : rows;
  const last = page[page.length - 1];
  return {
    products: page,
    nextCursor: more && last ? encodeCursor({ sort: f.sort, desc: f.descending, key: last.sort_key, code: last.code }) : '',
    ...(f.withTotal ? { total: Number((await query<{ n: string }>(em, countSql, countParams))[0]?.n ?? 0) } : {}),
  };
}

export async function listNamed(em: EntityManager, table: 'category' | 'brand'): Promise<{ id: string; name: string; count: string }[]> {
  return query(
    em,
    `select t.id::text as id, t.name, count(p.code) filter (where p.delisted_at is null)::text as count
     from catalog.${table} t left join catalog.product p on p.${table}_id = t.id group by t.id, t.name order by t.name`,
  );
}

export async function getPriceHistory(em: EntityManager, code: string, limit: number): Promise<PriceHistoryEntity[]> {
  const lim = limit === 0 ? 100 : Math.min(limit, 1000);
  const exists = await query(em, `select 1 from catalog.product where code = ?`, [code]);
  if (!exists.length) throw new NotFound(`product "${code}" is not in the catalog; check the code`);
  return em.find(PriceHistory, { productCode: code }, { orderBy: { id: 'desc' }, limit: lim });
}

export interface ChangeRow {
  seq: string;
  product_code: string;
  version: string;
  kind: string;
  fields: { field: string; before: string; after: string }[];
  run_id: string;
  occurred_at: Date;
  snapshot: ProductRow;
  traceparent: string | null;
}

export async function readChanges(em: EntityManager, afterSeq: bigint, limit: number): Promise<{ changes: ChangeRow[]; headSeq: string }> {
  const lim = limit === 0 ? 100 : limit;
  if (lim < 1 || lim > 1000) throw new BatchRejection(`limit must be 1..1000, got ${limit}`);
  const changes = await query<ChangeRow>(
    em,
    // order by the bigint column, not the text alias (which would put 100 before 99)
    `select l.seq::text as seq, l.product_code, l.version::text as version, l.kind, l.fields, l.run_id, l.occurred_at, l.snapshot, l.traceparent
     from catalog.change_log l where l.seq > ?::bigint order by l.seq limit ${lim}`,
    [afterSeq.toString()],
  );
  return { changes, headSeq: await changeHead(em) };
}

/** The highest seq committed in the change log now ('0' while it is empty): an index probe. */
export async function changeHead(em: EntityManager): Promise<string> {
  const [head] = await query<{ head: string }>(em, `select coalesce(max(seq), 0)::text as head from catalog.change_log`);
  return head?.head ?? '0';
}

/** The products whose price the freshness sweep keeps fresh: procurable (listed, on sale). */
export const PROCURABLE = 'delisted_at is null and is_sales';
/** Low stock: listed, headline stock strictly below the threshold (one ? parameter); the one definition of the catalog's stock ages and ListStockCheckDue. */
export const LOW_STOCK = 'delisted_at is null and stock is not null and stock < ?::bigint';

/** A set of products whose check time is tracked: its check column and its filter (with the filter's parameters). */
interface CheckedSet {
  checked: 'price_checked_at' | 'stock_checked_at';
  where: string;
  params: unknown[];
}

const pricesSet: CheckedSet = { checked: 'price_checked_at', where: PROCURABLE, params: [] };
const lowStockSet = (below: number): CheckedSet => ({ checked: 'stock_checked_at', where: LOW_STOCK, params: [below] });

/** Ages in seconds (now - the check, first_seen_at when never checked); null when the set is empty. */
export interface AgesRow {
  p50: number | null;
  p99: number | null;
  max: number | null;
  over_max_age: string;
  never_checked: string;
  n: string;
}

/** Two CTEs: `<name>_ages` (each product's age) and `<name>_dist` (its distribution); parameters: the set's, then the max age twice. */
function agesCte(name: string, set: CheckedSet): string {
  return `${name}_ages as (
       select extract(epoch from (now() - coalesce(${set.checked}, first_seen_at)))::float8 as age, ${set.checked} is null as never
       from catalog.product where ${set.where}),
     ${name}_dist as (
       select percentile_cont(0.5) within group (order by age) as p50, percentile_cont(0.99) within group (order by age) as p99, max(age) as max,
         count(*) filter (where ?::float8 is not null and age > ?::float8)::text as over_max_age, count(*) filter (where never)::text as never_checked, count(*)::text as n
       from ${name}_ages)`;
}
const agesParams = (set: CheckedSet, maxAgeMs: number | undefined): unknown[] => {
  const s = maxAgeMs === undefined ? null : maxAgeMs / 1000;
  return [...set.params, s, s];
};

export interface StatsRow {
  products: string;
  listed: string;
  delisted: string;
  procurable: string;
  pinned: string;
  last_synced_at: Date | null;
  categories: string;
  brands: string;
  head_seq: string;
  /** The procurable products' price ages. */
  price_age: AgesRow;
  /** The low-stock products' stock ages. */
  stock_age: AgesRow;
}

/**
 * The catalog's counts, the procurable products' price ages and the low-stock products' (headline
 * stock below `lowStockBelow`) stock ages; `*MaxAgeMs`: count those older (undefined = 0).
 */
export async function stats(em: EntityManager, opts: { priceMaxAgeMs?: number; stockMaxAgeMs?: number; lowStockBelow: number }): Promise<StatsRow> {
  const stock = lowStockSet(opts.lowStockBelow);
  const [row] = await query<StatsRow>(
    em,
    `with ${agesCte('price', pricesSet)}, ${agesCte('stock', stock)}
     select count(*)::text as products,
       count(*) filter (where delisted_at is null)::text as listed,
       count(*) filter (where delisted_at is not null)::text as delisted,
       count(*) filter (where ${PROCURABLE})::text as procurable,
       count(*) filter (where pinned_price is not null)::text as pinned,
       max(last_synced_at) as last_synced_at,
       (select count(*) from catalog.category)::text as categories,
       (select count(*) from catalog.brand)::text as brands,
       (select coalesce(max(seq), 0) from catalog.change_log)::text as head_seq,
       (select row_to_json(d) from price_dist d) as price_age,
       (select row_to_json(d) from stock_dist d) as stock_age
     from catalog.product`,
    [...agesParams(pricesSet, opts.priceMaxAgeMs), ...agesParams(stock, opts.stockMaxAgeMs)],
  );
  if (!row) throw new Error('stats query returned no row');
  return row;
}

export interface CheckDueRow {
  code: string;
  checked_at: Date | null;
}

export interface CheckPace {
  /** Products in the set now (procurable ones, low-stock ones). */
  population: number;
  /** With a target age: the fewest checks a second that, oldest first, meet every product's deadline. */
  neededPerSecond: number;
  overdue: number;
}

/**
 * The set's products, checked longest ago first (never first), without `exclude`; how many are in
 * the set; with `targetAgeMs`, the rate that checks each before it is that old. Checking oldest
 * first at rate r, the i-th oldest is checked i/r seconds from now, so r must be at least
 * i / (target - age_i) for every i (earliest deadline first is optimal); one already past the
 * target counts as due within a second.
 */
async function checkDue(em: EntityManager, set: CheckedSet, limit: number, exclude: readonly string[], targetAgeMs?: number): Promise<{ rows: CheckDueRow[] } & CheckPace> {
  const lim = Math.min(Math.max(limit || 20, 1), 1000);
  const rows = await query<CheckDueRow>(
    em,
    `select code, ${set.checked} as checked_at from catalog.product
      where ${set.where} and not (code = any(?::text[]))
      order by ${set.checked} asc nulls first, code limit ${lim}`,
    [...set.params, pgArray(exclude)],
  );
  if (targetAgeMs === undefined) {
    const [n] = await query<{ n: string }>(em, `select count(*)::text as n from catalog.product where ${set.where}`, set.params);
    return { rows, population: Number(n?.n ?? 0), neededPerSecond: 0, overdue: 0 };
  }
  const target = targetAgeMs / 1000;
  const [pace] = await query<{ n: string; need: number | null; overdue: string }>(
    em,
    `select count(*)::text as n, max(rn / greatest(?::float8 - age, 1)) as need, count(*) filter (where age >= ?::float8)::text as overdue
       from (select row_number() over (order by ${set.checked} asc nulls first, code) as rn,
                    coalesce(extract(epoch from (now() - ${set.checked}))::float8, 'infinity'::float8) as age
               from catalog.product where ${set.where}) x`,
    [target, target, ...set.params],
  );
  return { rows, population: Number(pace?.n ?? 0), neededPerSecond: pace?.need ?? 0, overdue: Number(pace?.overdue ?? 0) };
}

/** Procurable products, price checked longest ago first: what the price-freshness sweep re-reads next. */
export const listPriceCheckDue = (em: EntityManager, limit: number, exclude: readonly string[], targetAgeMs?: number) => checkDue(em, pricesSet, limit, exclude, targetAgeMs);

/** Low-stock products (headline stock below `below`), stock checked longest ago first: what the low-stock sweep re-reads next. */
export const listStockCheckDue = (em: EntityManager, below: number, limit: number, exclude: readonly string[], targetAgeMs?: number) =>
  checkDue(em, lowStockSet(below), limit, exclude, targetAgeMs);
