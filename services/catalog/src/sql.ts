// Raw SQL through the ORM's connection (knex, inside the EntityManager's transaction when
// there is one), for the bulk paths. Batches travel as one JSON parameter read with
// json_to_recordset, so a batch is one statement whatever its size.
import type { EntityManager } from '@mikro-orm/postgresql';
import { PRODUCT_TABLE, readExpr, type ProductColumn } from './product-table';

export async function query<T = Record<string, unknown>>(em: EntityManager, sql: string, params: unknown[] = []): Promise<T[]> {
  const knex = em.getTransactionContext() ?? em.getConnection().getKnex();
  const res = (await knex.raw(sql, params as never)) as { rows: T[] };
  return res.rows;
}

/**
 * A Postgres array literal ('{"a","b",NULL}') for a `?::text[]`-style parameter: how bulk
 * statements take their columns (unnest of typed arrays parses several times faster than JSON).
 * Objects are sent as their JSON text (for jsonb[]).
 */
export function pgArray(values: readonly unknown[]): string {
  // a plain loop and no regex for the common text without quotes or backslashes: this runs for
  // every column of every row of a batch write
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) {
      out += 'NULL';
      continue;
    }
    const text = typeof v === 'object' ? JSON.stringify(v) : String(v);
    out += text.includes('"') || text.includes('\\') ? `"${text.replace(/[\\"]/g, (m) => `\\${m}`)}"` : `"${text}"`;
  }
  return out + '}';
}

/** `unnest(?::t1[], ?::t2[], …) as alias(c1, c2, …)` for columns [name, type]; pass pgArray() of each column in order. */
export function unnestAs(alias: string, columns: readonly (readonly [string, string])[]): string {
  return `unnest(${columns.map(([, t]) => `?::${t}[]`).join(', ')}) as ${alias}(${columns.map(([n]) => n).join(', ')})`;
}

/** The parameters for unnestAs: one array literal per column, taken from each row. */
export function unnestParams<R>(rows: readonly R[], columns: readonly (readonly [string, string])[]): string[] {
  return columns.map(([n]) => pgArray(rows.map((r) => (r as Record<string, unknown>)[n])));
}

/** A JSON text list as a Postgres text[] expression, e.g. `code = any(${textArray})`. */
export const TEXT_ARRAY = `array(select json_array_elements_text(?::json))`;

/**
 * Serialises writers of the change log: taken (transaction-scoped) right before appending,
 * so seq allocation and commit happen in lock order and the visible log is always a prefix.
 * A reader that has seen seq N will never later see a row below N appear.
 */
export async function lockChangeLog(em: EntityManager): Promise<void> {
  await query(em, `select pg_advisory_xact_lock(${CHANGE_LOG_LOCK})`);
}

/** The advisory lock key of lockChangeLog (statements that take it themselves use this). */
export const CHANGE_LOG_LOCK = '7346201052';

const PRODUCT_COLUMNS = Object.keys(PRODUCT_TABLE) as ProductColumn[];

export const PRODUCT_SELECT = PRODUCT_COLUMNS.map((k) => `${readExpr(k)} as ${k}`).join(', ');
export const PRODUCT_FROM = `catalog.product p left join catalog.category c on c.id = p.category_id left join catalog.brand b on b.id = p.brand_id`;
/**
 * jsonb snapshot of a product row, same keys as ProductRow: `alias` names the product row,
 * `category`/`brand` are the expressions giving the names.
 */
export function productSnapshot(alias: string, category: string, brand: string): string {
  const expr = (k: ProductColumn) => (k === 'category' ? category : k === 'brand' ? brand : readExpr(k, alias));
  return `jsonb_build_object(${PRODUCT_COLUMNS.map((k) => `'${k}', ${expr(k)}`).join(', ')})`;
}
/** jsonb snapshot of the product row `p` (joined with c and b). */
export const PRODUCT_SNAPSHOT = productSnapshot('p', "coalesce(c.name, '')", "coalesce(b.name, '')");
