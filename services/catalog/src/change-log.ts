// Appending to the change log and price history, inside the caller's transaction. One
// statement per batch; each log row carries the product snapshot after the change.
import type { EntityManager } from '@mikro-orm/postgresql';
import { activeTraceparent } from '@haier-sync/runtime';
import type { ChangeKind, FieldChange } from './change-detection';
import { HISTORY_FIELDS } from './change-detection';
import { PRODUCT_SNAPSHOT, lockChangeLog, query, unnestAs, unnestParams } from './sql';

export interface LogEntry {
  code: string;
  kind: ChangeKind;
  fields: FieldChange[];
}

/** Appends one row per entry (the version is read from the product row, already bumped), with the active trace context. Returns seq per code. */
export async function appendChanges(em: EntityManager, entries: readonly LogEntry[], runId: string, actor = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (entries.length === 0) return out;
  await lockChangeLog(em);
  const rows = await query<{ seq: string; product_code: string }>(
    em,
    `insert into catalog.change_log (product_code, version, kind, fields, run_id, actor, traceparent, snapshot)
     select x.code, p.version, x.kind, x.fields, ?, ?, ?, ${PRODUCT_SNAPSHOT}
     from json_to_recordset(?::json) as x(code text, kind text, fields jsonb, ord int)
     join catalog.product p on p.code = x.code
     left join catalog.category c on c.id = p.category_id
     left join catalog.brand b on b.id = p.brand_id
     order by x.ord
     returning seq::text as seq, product_code`,
    [runId, actor, activeTraceparent(), JSON.stringify(entries.map((e, ord) => ({ code: e.code, kind: e.kind, fields: e.fields, ord })))],
  );
  for (const r of rows) out.set(r.product_code, r.seq);
  return out;
}

/** JSON text of a decimal field change back to plain text for price history (null stays null). */
function plain(jsonText: string): string | null {
  const v: unknown = JSON.parse(jsonText);
  return v === null ? null : String(v);
}

/** The price_history columns a write supplies (run_id is a parameter), as unnest() takes them. */
export const HISTORY_COLUMNS = [
  ['code', 'text'],
  ['field', 'text'],
  ['from_value', 'text'],
  ['to_value', 'text'],
] as const;

/** Inserts price history rows: parameters are the run id, then unnestParams(rows, HISTORY_COLUMNS). */
export const HISTORY_INSERT = `insert into catalog.price_history (product_code, field, from_value, to_value, run_id)
  select h.code, h.field, h.from_value, h.to_value, ? from ${unnestAs('h', HISTORY_COLUMNS)}`;

export interface PriceHistoryRow {
  code: string;
  field: string;
  from_value: string | null;
  to_value: string | null;
}

/** The price_history rows for the entries: one per changed price field. */
export function priceHistoryRows(entries: readonly LogEntry[]): PriceHistoryRow[] {
  return entries.flatMap((e) =>
    e.fields.filter((f) => HISTORY_FIELDS.has(f.field)).map((f) => ({ code: e.code, field: f.field, from_value: plain(f.before), to_value: plain(f.after) })),
  );
}

/** One price_history row per changed price field in the entries. */
export async function appendPriceHistory(em: EntityManager, entries: readonly LogEntry[], runId: string): Promise<number> {
  const rows = priceHistoryRows(entries);
  if (rows.length === 0) return 0;
  await query(
    em,
HISTORY_INSERT, [runId, ...unnestParams(rows, HISTORY_COLUMNS)]
  );
  return rows.length;
}
