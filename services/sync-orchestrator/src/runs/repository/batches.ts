// A run's batches (sync.run_batches): planning them, claiming them under a lease, completing
// them, retrying them, and failing them for good. The limits and the allowed moves are those of
// lifecycle.ts: a worker's death spends a claim, only a try that ran and failed spends an attempt.
import type { Knex } from '../../db';
import { deadBatchReason, sqlBatchClaimable, sqlBatchDead, sqlBatchesClaimable, sqlBatchFrom, sqlBatchTo, type BatchLimits } from '../lifecycle';
import { itemRecords, unansweredFailures, type BatchOutcome } from '../item-outcomes';
import type { FailureRow, RunRow } from '../model';
import { ADD_ITEM_COUNTS, itemRows, recordFailedItems, recordItemsSql } from './items';
import { batchesDoneSets, getRunRow, PLANNED_CHANGES_CAP, plannedChangesSets } from './runs';
import { rows, type Db } from './sql';

export type { BatchOutcome };

/** Codes already planned into batches (a re-plan after a crash skips them) and the next seq. */
export async function plannedSoFar(db: Db, runId: string): Promise<{ codes: Set<string>; nextSeq: number }> {
  const list = await rows<{ code: string }>(db, `select unnest(codes) as code from sync.run_batches where run_id = ?`, [runId]);
  const [m] = await rows<{ s: number | null }>(db, `select max(seq) as s from sync.run_batches where run_id = ?`, [runId]);
  return { codes: new Set(list.map((r) => r.code)), nextSeq: (m?.s ?? -1) + 1 };
}

export interface NewBatch {
  seq: number;
  codes: string[];
  payload?: unknown;
}

/** Inserts planned batches and grows the run's totals, in one statement each. */
export async function insertBatches(trx: Knex.Transaction, runId: string, batches: NewBatch[], upstreamCalls = 0): Promise<void> {
  if (batches.length) {
    await trx.raw(
      `insert into sync.run_batches (run_id, seq, codes, payload)
       select ?, (b->>'seq')::int, array(select jsonb_array_elements_text(b->'codes')), b->'payload'
       from jsonb_array_elements(?::jsonb) as b
       on conflict (run_id, seq) do nothing`,
      [runId, JSON.stringify(batches.map((b) => ({ seq: b.seq, codes: b.codes, payload: b.payload ?? null })))],
    );
  }
  const codes = batches.reduce((n, b) => n + b.codes.length, 0);
  await trx.raw(
    `update sync.runs set batches_total = batches_total + ?, total = total + ?, upstream_calls = upstream_calls + ?, updated_at = now() where id = ?`,
    [batches.length, codes, upstreamCalls, runId],
  );
}

/** Failures found while planning (e.g. malformed listing rows): counted in total and failed, once each. */
export async function recordPlanFailures(trx: Knex.Transaction, runId: string, failures: FailureRow[]): Promise<void> {
  await recordFailedItems(trx, runId, failures, 'listing', true);
}

export interface ClaimedBatch {
  run_id: string;
  seq: number;
  codes: string[];
  payload: unknown;
  /** Tries of this batch that ran and failed before this one. */
  attempts: number;
  /** This claim's number: it holds the batch while the batch's `claims` still equals it. */
  claim: number;
  run: RunRow;
}

/**
 * Claims the next workable batch of any PROCESSING run: pending and due, or claimed by a worker
 * whose lease expired (it died: no attempt is spent), within the limits. FOR UPDATE SKIP LOCKED.
 */
export async function claimBatch(
  db: Db,
  leaseSeconds: number,
  limits: BatchLimits,
  runs?: Map<string, RunRow>,
  /** Only this run's batches (the engine turns between active runs so none starves). */
  onlyRun?: string,
): Promise<ClaimedBatch | undefined> {
  return (await claimBatches(db, leaseSeconds, limits, 1, runs, onlyRun))[0];
}

/** Claims up to `n` workable batches in one statement (in run and seq order), each under its own lease. */
export async function claimBatches(db: Db, leaseSeconds: number, limits: BatchLimits, n: number, runs?: Map<string, RunRow>, onlyRun?: string): Promise<ClaimedBatch[]> {
  const [claimable, bindings] = sqlBatchClaimable('b2', limits);
  const claimed = await rows<Omit<ClaimedBatch, 'run'>>(
    db,
    `update sync.run_batches b set ${sqlBatchTo('claim')}, lease_until = now() + make_interval(secs => ?), claims = b.claims + 1, updated_at = now()
     from (select b2.run_id, b2.seq from sync.run_batches b2 join sync.runs r on r.id = b2.run_id
           where ${sqlBatchesClaimable('r')}${onlyRun ? ' and b2.run_id = ?' : ''} and ${claimable}
           order by b2.run_id, b2.seq limit ? for update of b2 skip locked) as pick
     where b.run_id = pick.run_id and b.seq = pick.seq
     returning b.run_id, b.seq, b.codes, b.payload, b.attempts, b.claims as claim`,
    [leaseSeconds, ...(onlyRun ? [onlyRun] : []), ...bindings, n],
  );
  // RETURNING has no order; run ids are bigints (text here): compare them as numbers
  claimed.sort((a, b) => (a.run_id === b.run_id ? a.seq - b.seq : BigInt(a.run_id) < BigInt(b.run_id) ? -1 : 1));
  const out: ClaimedBatch[] = [];
  for (const b of claimed) {
    // scope and options never change: a run's row is read once per process
    const run = runs?.get(b.run_id) ?? (await getRunRow(db, b.run_id));
    if (!run) continue;
    if (runs && !runs.has(b.run_id)) {
      if (runs.size > 100) runs.clear();
      runs.set(b.run_id, run);
    }
    out.push({ ...b, run });
  }
  return out;
}

/** Keeps a batch being worked on owned (its worker is alive). */
export async function renewBatchLease(db: Db, runId: string, seq: number, claim: number, leaseSeconds: number): Promise<void> {
  await db.raw(
    `update sync.run_batches set lease_until = now() + make_interval(secs => ?) where run_id = ? and seq = ? and ${sqlBatchFrom('complete')} and claims = ?`,
    [leaseSeconds, runId, seq, claim],
  );
}

export interface BatchCompletion {
  seq: number;
  /** The claim that worked on it (ClaimedBatch.claim). */
  claim: number;
  /** The batch's codes (each gets one item record). */
  codes: readonly string[];
  outcome: BatchOutcome;
  result: unknown;
}

/**
 * Marks claimed batches of one run done, records their items and failures and adds the change
 * of the counts to the run in ONE statement (atomic, and the run row is locked only for that
 * statement): each batch's result, items and "done" mark commit together, and only batches
 * still held by that claim count (a batch whose lease expired and was taken over is left
 * alone). Returns the run's phase when at least one batch counted, and which seqs did.
 */
export async function completeBatches(db: Db, runId: string, done: readonly BatchCompletion[]): Promise<{ phase: string; seqs: Set<number> } | undefined> {
  if (done.length === 0) return undefined;
  const [row] = await rows<{ phase: string; seqs: number[] }>(
    db,
    `with x as (
       select * from jsonb_to_recordset(?::jsonb) as x(seq int, claim int, result jsonb, failures jsonb, items jsonb, calls int, changes jsonb, changes_count int)),
     b as (
       update sync.run_batches rb set ${sqlBatchTo('complete')}, lease_until = null, result = x.result, updated_at = now()
       from x where rb.run_id = ? and rb.seq = x.seq and ${sqlBatchFrom('complete', 'rb')} and rb.claims = x.claim
       returning rb.seq),
     xb as materialized (select x.* from x join b on b.seq = x.seq),
     f as (
       insert into sync.run_failures (run_id, code, reason, stage)
       select distinct on (y->>'code') ?, y->>'code', left(y->>'reason', 1000), 'batch' from xb, jsonb_array_elements(xb.failures) as y
       on conflict (run_id, code) do update set reason = excluded.reason
       returning code),
     it0 as (select i.code, i.outcome, i.stock_changed from xb, jsonb_to_recordset(xb.items) as i(code text, outcome text, stock_changed boolean)),
     ${recordItemsSql()},
     n as (select count(*)::int as batches, coalesce(sum(calls), 0)::int as calls,
       coalesce(sum(changes_count), 0)::int as changes_count, array_agg(seq) as seqs from xb),
     c as (select coalesce(jsonb_agg(ch), '[]'::jsonb) as changes from (select ch from xb, jsonb_array_elements(xb.changes) as ch limit ?) s)
     update sync.runs r set ${ADD_ITEM_COUNTS}, upstream_calls = r.upstream_calls + n.calls,
       batches_done = r.batches_done + n.batches,
       ${plannedChangesSets('r', 'c.changes', 'n.changes_count')},
       ${batchesDoneSets('r.batches_done + n.batches', 'r')},
       updated_at = now()
     from n, c, dn
     where r.id = ? and n.batches > 0
     returning r.phase, n.seqs`,
    [
      JSON.stringify(
        done.map((d) => {
          const failures = [...d.outcome.failures, ...unansweredFailures(d.codes, d.outcome)];
          return {
            seq: d.seq,
            claim: d.claim,
            result: d.result ?? null,
            failures,
            items: itemRows(itemRecords(d.codes, { ...d.outcome, failures })),
            calls: d.outcome.upstreamCalls,
            changes: d.outcome.changes.slice(0, PLANNED_CHANGES_CAP),
            changes_count: d.outcome.changes.length,
          };
        }),
      ),
      runId,
      runId,
      runId,
      runId,
      PLANNED_CHANGES_CAP,
      runId,
    ],
  );
  return row ? { phase: row.phase, seqs: new Set(row.seqs.map(Number)) } : undefined;
}

/** One batch: completeBatches of one. */
export async function completeBatch(db: Db, runId: string, c: BatchCompletion): Promise<{ phase: string } | undefined> {
  const r = await completeBatches(db, runId, [c]);
  return r?.seqs.has(c.seq) ? { phase: r.phase } : undefined;
}

/**
 * A try that ran and failed: one attempt spent; the batch goes back to the queue and is due
 * again after `retryAfterSeconds` (any worker takes it then).
 */
export async function retryBatchLater(db: Db, runId: string, seq: number, claim: number, error: string, retryAfterSeconds: number): Promise<void> {
  await db.raw(
    `update sync.run_batches set ${sqlBatchTo('retry')}, attempts = attempts + 1, lease_until = now() + make_interval(secs => ?), last_error = left(?, 1000), updated_at = now()
     where run_id = ? and seq = ? and ${sqlBatchFrom('retry')} and claims = ?`,
    [retryAfterSeconds, error, runId, seq, claim],
  );
}

/**
 * A try that could not run because a dependency was unavailable (runs/dependencies.ts): the batch
 * goes back to the queue at once, and the claim it took is given back (no attempt, no claim spent).
 */
export async function returnBatchUnspent(db: Db, runId: string, seq: number, claim: number, why: string): Promise<void> {
  await db.raw(
    `update sync.run_batches set ${sqlBatchTo('giveBack')}, claims = greatest(claims - 1, 0), lease_until = null, last_error = left(?, 1000), updated_at = now()
     where run_id = ? and seq = ? and ${sqlBatchFrom('giveBack')} and claims = ?`,
    [why, runId, seq, claim],
  );
}

/**
 * Batches out of attempts, or poison (their workers kept dying): their codes fail with the
 * reason and they count as done. Returns the runs touched (for progress/finalise).
 */
export async function exhaustBatches(
  trx: Knex.Transaction,
  limits: BatchLimits,
  /** Called for each batch given up, in the same transaction (the run's log lines). */
  onGivenUp?: (runId: string, batch: { seq: number; codes: string[]; attempts: number }, reason: string) => Promise<void>,
): Promise<RunRow[]> {
  const [dead, bindings] = sqlBatchDead('d', limits);
  const list = await rows<{ run_id: string; seq: number; codes: string[]; attempts: number; claims: number; last_error: string | null }>(
    trx,
    `update sync.run_batches b set ${sqlBatchTo('exhaust')}, lease_until = null, updated_at = now()
     from (select run_id, seq from sync.run_batches d where ${dead}
           order by run_id, seq limit 100 for update skip locked) as pick
     where b.run_id = pick.run_id and b.seq = pick.seq
     returning b.run_id, b.seq, b.codes, b.attempts, b.claims, b.last_error`,
    bindings,
  );
  const out: RunRow[] = [];
  for (const d of list) {
    const reason = deadBatchReason(d, limits);
    await recordFailedItems(trx, d.run_id, d.codes.map((code) => ({ code, reason })), 'batch', false);
    const [r] = await rows<RunRow>(
      trx,
      `update sync.runs r set batches_done = r.batches_done + 1, ${batchesDoneSets('r.batches_done + 1', 'r')}, updated_at = now() where r.id = ? returning r.*`,
      [d.run_id],
    );
    if (r) out.push(r);
    await onGivenUp?.(d.run_id, d, reason);
  }
  return out;
}

/** Every code a run's listing held (batch codes + listing rows that failed to map). */
export async function listingCodes(db: Db, runId: string): Promise<string[]> {
  const r = await rows<{ code: string }>(
    db,
    `select unnest(codes) as code from sync.run_batches where run_id = ?
     union select code from sync.run_failures where run_id = ? and stage = 'listing'`,
    [runId, runId],
  );
  return r.map((x) => x.code);
}

/** The run's image counts: the sum of its completed batches' `result.images` (runs with the images option; worker.ts). */
export async function imageTotals(db: Db, runId: string): Promise<{ stored: number; unchanged: number; recent: number; failed: number; bytes: number; productsChanged: number } | undefined> {
  const [r] = await rows<{ n: string; stored: string; unchanged: string; recent: string; failed: string; bytes: string; changed: string }>(
    db,
    `select count(*) as n, coalesce(sum((result->'images'->>'stored')::bigint), 0) as stored, coalesce(sum((result->'images'->>'unchanged')::bigint), 0) as unchanged,
            coalesce(sum((result->'images'->>'recent')::bigint), 0) as recent,
            coalesce(sum((result->'images'->>'failed')::bigint), 0) as failed, coalesce(sum((result->'images'->>'bytes')::bigint), 0) as bytes,
            coalesce(sum((result->'images'->>'productsChanged')::bigint), 0) as changed
     from sync.run_batches where run_id = ? and result->'images' is not null`,
    [runId],
  );
  if (!r || Number(r.n) === 0) return undefined;
  return { stored: Number(r.stored), unchanged: Number(r.unchanged), recent: Number(r.recent), failed: Number(r.failed), bytes: Number(r.bytes), productsChanged: Number(r.changed) };
}
