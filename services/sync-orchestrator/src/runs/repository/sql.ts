// The one way the run repositories run SQL: knex raw with `?` bindings, rows back.
import type { Knex } from '../../db';

export type Db = Knex | Knex.Transaction;

export async function rows<T>(db: Db, sql: string, bindings: readonly unknown[] = []): Promise<T[]> {
  const r = (await db.raw(sql, bindings as Knex.RawBinding[])) as { rows: T[] };
  return r.rows;
}
