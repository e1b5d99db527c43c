// What happened to each product of a run (sync.run_items: one row per run and code) and the run's
// counters derived from it. Recording is idempotent: a code recorded again (a retried or resumed
// batch, a listing row that also came as a good record) keeps its best outcome, and the counters
// move by the difference, so created + updated + unchanged + failed is the number of distinct
// codes the run touched.
import type { Knex } from '../../db';
import { ITEM_OUTCOMES, type ItemRecord } from '../item-outcomes';
import type { FailureRow } from '../model';
import { rows } from './sql';

const rank = (expr: string): string => `array_position(array[${ITEM_OUTCOMES.map((o) => `'${o}'`).join(', ')}]::text[], ${expr})`;

/**
 * CTEs recording the items of CTE `it0(code, outcome, stock_changed)` for the run bound (twice,
 * at the `?`s) and answering `dn`: the change of each counter. Embed after `it0`.
 */
export function recordItemsSql(): string {
  const count = (cte: string, where: string): string => `(select count(*) from ${cte} where ${where})`;
  const delta = (where: string): string => `${count('up', where)} - ${count('old', where)}`;
  return `it as (select distinct on (code) code, outcome, stock_changed from it0 order by code, ${rank('outcome')} desc),
     old as materialized (select ri.code, ri.outcome, ri.stock_changed from sync.run_items ri where ri.run_id = ? and ri.outcome is not null and ri.code in (select code from it)),
     up as (
       insert into sync.run_items as ri (run_id, code, outcome, stock_changed)
       select ?, code, outcome, stock_changed from it
       on conflict (run_id, code) do update set
         -- the best of: what was counted before, this outcome, and (for a product this outcome
         -- found as it is) what the catalog wrote for this run on an earlier try
         outcome = (select o from unnest(array[ri.outcome, excluded.outcome,
             case when excluded.outcome in ('unchanged', 'updated') then ri.written end]) as o
           where o is not null order by ${rank('o')} desc limit 1),
         stock_changed = ri.stock_changed or excluded.stock_changed
       returning ri.code, ri.outcome, ri.stock_changed),
     dn as (select ${ITEM_OUTCOMES.map((o) => `${delta(`outcome = '${o}'`)} as ${o}`).join(', ')},
       ${delta('stock_changed')} as stock_changed, ${count('up', 'true')} - ${count('old', 'true')} as added)`;
}

/** SET assignments adding `dn` to the run row (alias `r`). */
export const ADD_ITEM_COUNTS = `created = r.created + dn.created, updated = r.updated + dn.updated, unchanged = r.unchanged + dn.unchanged,
       failed = r.failed + dn.failed, succeeded = r.succeeded + dn.created + dn.updated + dn.unchanged, stock_changed = r.stock_changed + dn.stock_changed`;

/** Item records as the SQL reads them (jsonb_to_recordset). */
export function itemRows(items: readonly ItemRecord[]): Array<{ code: string; outcome: string; stock_changed: boolean }> {
  return items.map((i) => ({ code: i.code, outcome: i.outcome, stock_changed: i.stockChanged }));
}

/** CTE `it0` from a JSON binding of itemRows. */
export const ITEMS_FROM_JSON = `it0 as (select * from jsonb_to_recordset(?::jsonb) as i(code text, outcome text, stock_changed boolean))`;

/**
 * Failed items outside a batch completion (listing rows that could not be mapped, batches out of
 * attempts): their reasons, their items and the run's counters, in one statement. `addTotal`
 * also grows the run's total by the new codes (codes no batch holds). Returns the new items.
 */
export async function recordFailedItems(trx: Knex.Transaction, runId: string, failures: readonly FailureRow[], stage: string, addTotal: boolean): Promise<number> {
  if (!failures.length) return 0;
  // one row per code (the listing may repeat a bad row): the last reason stands
  const byCode = [...new Map(failures.map((f) => [f.code, f])).values()];
  const items = byCode.map((f) => ({ code: f.code, outcome: 'failed' as const, stockChanged: false }));
  const [row] = await rows<{ added: number }>(
    trx,
    `with f as (
       insert into sync.run_failures (run_id, code, reason, stage)
       select ?, f->>'code', left(f->>'reason', 1000), ? from jsonb_array_elements(?::jsonb) as f
       on conflict (run_id, code) do update set reason = excluded.reason
       returning code),
     ${ITEMS_FROM_JSON},
     ${recordItemsSql()}
     update sync.runs r set ${ADD_ITEM_COUNTS}, total = r.total + case when ? then dn.added else 0 end, updated_at = now()
     from dn where r.id = ? returning dn.added`,
    [runId, stage, JSON.stringify(byCode), JSON.stringify(itemRows(items)), runId, runId, addTotal, runId],
  );
  return Number(row?.added ?? 0);
}

/**
 * What the catalog wrote for a run (created or updated products), noted the moment it answered:
 * if the rest of the batch then fails and is retried, the retry finds these products unchanged,
 * and the completion counts them as written here. Counters do not move until the batch completes.
 */
export async function recordWritten(db: Knex | Knex.Transaction, runId: string, written: ReadonlyArray<{ code: string; outcome: 'created' | 'updated' }>): Promise<void> {
  if (!written.length) return;
  await db.raw(
    `insert into sync.run_items as ri (run_id, code, written)
     select distinct on (w.code) ?, w.code, w.outcome from jsonb_to_recordset(?::jsonb) as w(code text, outcome text) order by w.code, ${rank('w.outcome')} desc
     on conflict (run_id, code) do update set written = case when ri.written is null or ${rank('excluded.written')} > ${rank('ri.written')} then excluded.written else ri.written end`,
    [runId, JSON.stringify(written)],
  );
}

/** A run's counts straight from its items (for tests and checks: the run row must agree). */
export async function countItems(db: Knex | Knex.Transaction, runId: string): Promise<Record<string, number>> {
  const r = await rows<{ outcome: string; n: number; stock: number }>(
    db,
    `select outcome, count(*)::int as n, count(*) filter (where stock_changed)::int as stock from sync.run_items where run_id = ? and outcome is not null group by outcome`,
    [runId],
  );
  const out: Record<string, number> = { failed: 0, unchanged: 0, updated: 0, created: 0, stock_changed: 0 };
  for (const x of r) {
    out[x.outcome] = x.n;
    out.stock_changed! += x.stock;
  }
  return out;
}
