// SQL for runs and their batches (schema "sync"). Every function takes the knex handle or the
// transaction it must run in; the callers decide what commits together.
import type { Knex } from '../db';
import type { FailureRow, RunOptionsJson, RunRow, RunScopeJson } from './model';

type Db = Knex | Knex.Transaction;

async function rows<T>(db: Db, sql: string, bindings: readonly unknown[] = []): Promise<T[]> {
  const r = (await db.raw(sql, bindings as Knex.RawBinding[])) as { rows: T[] };
  return r.rows;
}

export interface NewRun {
  syncType: string;
  mode: string;
  trigger: string;
  kind: string;
  scope: RunScopeJson;
  options: RunOptionsJson;
  startedBy: string;
  status?: string;
  message?: string;
}

export async function insertRun(db: Db, r: NewRun): Promise<RunRow> {
  const [row] = await rows<RunRow>(
    db,
    `insert into sync.runs (sync_type, mode, status, trigger, kind, scope, options, started_by, message)
     values (?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, ?) returning *`,
    [r.syncType, r.mode, r.status ?? 'PENDING', r.trigger, r.kind, JSON.stringify(r.scope), JSON.stringify(r.options), r.startedBy, r.message ?? ''],
  );
  return row!;
}

export interface RecordedOperation {
  syncType: string;
  status: string;
  message: string;
  startedBy: string;
  total: number;
  succeeded: number;
  failed: number;
  startedAt: Date;
  completedAt: Date | null;
}

/** A live operation (a REST call to Haier) stored as a finished run row. */
export async function insertOperation(db: Db, op: RecordedOperation): Promise<RunRow> {
  const [row] = await rows<RunRow>(
    db,
    `insert into sync.runs (sync_type, mode, status, trigger, kind, scope, options, started_by, message, phase,
       total, succeeded, failed, started_at, completed_at)
     values (?, 'INCREMENTAL', ?, 'MANUAL', ?, '{"codes":[],"category":"","brand":"","limit":0}'::jsonb,
       '{"prices":false,"stock":false,"counties":[],"dryRun":false}'::jsonb, ?, ?, 'done', ?, ?, ?, ?, ?) returning *`,
    [op.syncType, op.status, `OPERATION:${op.syncType}`, op.startedBy, op.message, op.total, op.succeeded, op.failed, op.startedAt, op.completedAt],
  );
  return row!;
}

/** Locks the kind for this transaction (a second StartRun of the same kind waits, then sees the first). */
export async function lockKind(trx: Knex.Transaction, kind: string): Promise<void> {
  await trx.raw(`select pg_advisory_xact_lock(hashtext(?))`, [`sync.run:${kind}`]);
}

export async function findActiveRun(db: Db, kind: string): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(db, `select * from sync.runs where kind = ? and status in ('PENDING', 'PROCESSING') order by id limit 1`, [kind]);
  return row;
}

export async function getRunRow(db: Db, id: string, forUpdate = false): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(db, `select * from sync.runs where id = ?${forUpdate ? ' for update' : ''}`, [id]);
  return row;
}

export async function getFailures(db: Db, runId: string, limit = 1000): Promise<FailureRow[]> {
  return rows<FailureRow>(db, `select code, reason from sync.run_failures where run_id = ? order by created_at, code limit ?`, [runId, limit]);
}

export interface RunFilter {
  syncType?: string;
  status?: string;
  trigger?: string;
  since?: Date;
  until?: Date;
  /** Rows with id below this (the cursor). */
  beforeId?: string;
}

export async function listRunRows(db: Db, f: RunFilter, limit: number): Promise<{ rows: RunRow[]; total: number }> {
  const where: string[] = [];
  const b: unknown[] = [];
  if (f.syncType) (where.push('sync_type = ?'), b.push(f.syncType));
  if (f.status) (where.push('status = ?'), b.push(f.status));
  if (f.trigger) (where.push('trigger = ?'), b.push(f.trigger));
  if (f.since) (where.push('created_at >= ?'), b.push(f.since));
  if (f.until) (where.push('created_at < ?'), b.push(f.until));
  const filter = where.length ? `where ${where.join(' and ')}` : '';
  const [count] = await rows<{ n: string }>(db, `select count(*) as n from sync.runs ${filter}`, b);
  const page = f.beforeId ? (where.length ? `${filter} and id < ?` : 'where id < ?') : filter;
  const list = await rows<RunRow>(db, `select * from sync.runs ${page} order by id desc limit ?`, [...b, ...(f.beforeId ? [f.beforeId] : []), limit]);
  return { rows: list, total: Number(count?.n ?? 0) };
}

// ----------------------------------------------------------------------------------------------
// The run's own phases (planning, finalising) are owned through a lease on the run row.

/** Claims a run that needs planning or finalising and whose lease is free (or expired). */
export async function claimRunPhase(db: Db, owner: string, leaseSeconds: number): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    db,
    `update sync.runs set lease_until = now() + make_interval(secs => ?), owner = ?, phase_attempts = phase_attempts + 1, updated_at = now()
     where id = (select id from sync.runs
                 where status in ('PENDING', 'PROCESSING') and phase in ('plan', 'finalize')
                   and (lease_until is null or lease_until < now())
                 order by id limit 1 for update skip locked)
     returning *`,
    [leaseSeconds, owner],
  );
  return row;
}

export async function renewRunLease(db: Db, runId: string, owner: string, leaseSeconds: number): Promise<boolean> {
  const r = await rows<{ id: string }>(
    db,
    `update sync.runs set lease_until = now() + make_interval(secs => ?) where id = ? and owner = ? and status in ('PENDING', 'PROCESSING') returning id`,
    [leaseSeconds, runId, owner],
  );
  return r.length > 0;
}

/** A failed planning/finalising attempt: its error is kept for the message when attempts run out. */
export async function recordPhaseError(db: Db, runId: string, owner: string, error: string): Promise<void> {
  await db.raw(`update sync.runs set last_error = left(?, 1000) where id = ? and owner = ?`, [error, runId, owner]);
}

/**
 * A planning/finalising try that could not run because a dependency was unavailable: the attempt
 * its claim counted is given back; the lease is kept `retryAfterSeconds` as the back-off.
 */
export async function returnPhaseUnspent(db: Db, runId: string, owner: string, error: string, retryAfterSeconds: number): Promise<void> {
  await db.raw(
    `update sync.runs set phase_attempts = greatest(phase_attempts - 1, 0), last_error = left(?, 1000), lease_until = now() + make_interval(secs => ?)
     where id = ? and owner = ?`,
    [error, retryAfterSeconds, runId, owner],
  );
}

/** Keeps a batch being worked on owned (its worker is alive). */
export async function renewBatchLease(db: Db, runId: string, seq: number, attempts: number, leaseSeconds: number): Promise<void> {
  await db.raw(
    `update sync.run_batches set lease_until = now() + make_interval(secs => ?) where run_id = ? and seq = ? and status = 'claimed' and attempts = ?`,
    [leaseSeconds, runId, seq, attempts],
  );
}

export async function releaseRunLease(db: Db, runId: string, owner: string): Promise<void> {
  await db.raw(`update sync.runs set lease_until = null where id = ? and owner = ?`, [runId, owner]);
}

/** Runs whose batches may be claimed now. */
export async function workableRunIds(db: Db): Promise<string[]> {
  const r = await rows<{ id: string }>(db, `select id from sync.runs where status = 'PROCESSING' and phase in ('plan', 'work') order by id`);
  return r.map((x) => x.id);
}

/** PENDING -> PROCESSING (returns undefined when it was not pending). */
export async function markStarted(trx: Knex.Transaction, runId: string): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    trx,
    `update sync.runs set status = 'PROCESSING', started_at = now(), updated_at = now() where id = ? and status = 'PENDING' returning *`,
    [runId],
  );
  return row;
}

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

/** Failures found while planning (e.g. malformed listing rows): counted in total and failed. */
export async function recordPlanFailures(trx: Knex.Transaction, runId: string, failures: FailureRow[]): Promise<void> {
  if (!failures.length) return;
  const inserted = await insertFailures(trx, runId, failures, 'listing');
  await trx.raw(`update sync.runs set total = total + ?, failed = failed + ?, updated_at = now() where id = ?`, [inserted, inserted, runId]);
}

/** Planning is over: workers may finish the run (or finalise it now when it has no batches). */
export async function endPlanning(trx: Knex.Transaction, runId: string): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    trx,
    `update sync.runs set phase = case when batches_done >= batches_total then 'finalize' else 'work' end,
       lease_until = null, phase_attempts = 0, last_error = null, updated_at = now()
     where id = ? and status = 'PROCESSING' and phase = 'plan' returning *`,
    [runId],
  );
  return row;
}

async function insertFailures(trx: Db, runId: string, failures: FailureRow[], stage: string): Promise<number> {
  if (!failures.length) return 0;
  const r = await rows<{ code: string }>(
    trx,
    `insert into sync.run_failures (run_id, code, reason, stage)
     select ?, f->>'code', left(f->>'reason', 1000), ? from jsonb_array_elements(?::jsonb) as f
     on conflict (run_id, code) do update set reason = excluded.reason
     returning code`,
    [runId, stage, JSON.stringify(failures)],
  );
  return r.length;
}

// ----------------------------------------------------------------------------------------------
// Batches

export interface ClaimedBatch {
  run_id: string;
  seq: number;
  codes: string[];
  payload: unknown;
  attempts: number;
  run: RunRow;
}

/**
 * Claims the next open batch of any PROCESSING run: pending, or claimed with an expired lease
 * (its worker died or asked for a retry) and attempts left. FOR UPDATE SKIP LOCKED.
 */
export async function claimBatch(
  db: Db,
  leaseSeconds: number,
  maxAttempts: number,
  runs?: Map<string, RunRow>,
  /** Only this run's batches (the engine turns between active runs so none starves). */
  onlyRun?: string,
): Promise<ClaimedBatch | undefined> {
  return (await claimBatches(db, leaseSeconds, maxAttempts, 1, runs, onlyRun))[0];
}

/** Claims up to `n` workable batches in one statement (in run and seq order), each under its own lease. */
export async function claimBatches(
  db: Db,
  leaseSeconds: number,
  maxAttempts: number,
  n: number,
  runs?: Map<string, RunRow>,
  onlyRun?: string,
): Promise<ClaimedBatch[]> {
  const claimed = await rows<Omit<ClaimedBatch, 'run'>>(
    db,
    `update sync.run_batches b set status = 'claimed', lease_until = now() + make_interval(secs => ?), attempts = b.attempts + 1, updated_at = now()
     from (select b2.run_id, b2.seq from sync.run_batches b2 join sync.runs r on r.id = b2.run_id
           where r.status = 'PROCESSING' and r.phase in ('plan', 'work')${onlyRun ? ' and b2.run_id = ?' : ''}
             and (b2.status = 'pending' or (b2.status = 'claimed' and b2.lease_until < now() and b2.attempts < ?))
           order by b2.run_id, b2.seq limit ? for update of b2 skip locked) as pick
     where b.run_id = pick.run_id and b.seq = pick.seq
     returning b.run_id, b.seq, b.codes, b.payload, b.attempts`,
    onlyRun ? [leaseSeconds, onlyRun, maxAttempts, n] : [leaseSeconds, maxAttempts, n],
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

export interface BatchOutcome {
  succeeded: number;
  failed: number;
  created: number;
  updated: number;
  unchanged: number;
  upstreamCalls: number;
  failures: FailureRow[];
  changes: string[];
}

export const PLANNED_CHANGES_CAP = 2000;

export interface BatchCompletion {
  seq: number;
  attempts: number;
  outcome: BatchOutcome;
  result: unknown;
}

/**
 * Marks claimed batches of one run done, records their failed items and adds their counts to the
 * run in ONE statement (atomic, and the run row is locked only for that statement): each batch's
 * result, failures and "done" mark commit together, and only batches still claimed by that
 * attempt count (a batch whose lease expired and was taken over is left alone). Returns the run's
 * phase when at least one batch counted, and which seqs did.
 */
export async function completeBatches(db: Db, runId: string, done: readonly BatchCompletion[]): Promise<{ phase: string; seqs: Set<number> } | undefined> {
  if (done.length === 0) return undefined;
  const [row] = await rows<{ phase: string; seqs: number[] }>(
    db,
    `with x as (
       select * from jsonb_to_recordset(?::jsonb) as x(seq int, attempts int, result jsonb, failures jsonb, succeeded int,
         created int, updated int, unchanged int, calls int, changes jsonb, changes_count int)),
     b as (
       update sync.run_batches rb set status = 'done', lease_until = null, result = x.result, updated_at = now()
       from x where rb.run_id = ? and rb.seq = x.seq and rb.status = 'claimed' and rb.attempts = x.attempts
       returning rb.seq),
     xb as materialized (select x.* from x join b on b.seq = x.seq),
     f as (
       insert into sync.run_failures (run_id, code, reason, stage)
       select ?, y->>'code', left(y->>'reason', 1000), 'batch' from xb, jsonb_array_elements(xb.failures) as y
       on conflict (run_id, code) do update set reason = excluded.reason
       returning code),
     n as (select count(*)::int as batches, coalesce(sum(succeeded), 0)::int as succeeded, coalesce(sum(created), 0)::int as created,
       coalesce(sum(updated), 0)::int as updated, coalesce(sum(unchanged), 0)::int as unchanged, coalesce(sum(calls), 0)::int as calls,
       coalesce(sum(changes_count), 0)::int as changes_count, array_agg(seq) as seqs from xb),
     c as (select coalesce(jsonb_agg(ch), '[]'::jsonb) as changes from (select ch from xb, jsonb_array_elements(xb.changes) as ch limit ?) s)
     update sync.runs r set succeeded = r.succeeded + n.succeeded, failed = r.failed + (select count(*) from f), created = r.created + n.created,
       updated = r.updated + n.updated, unchanged = r.unchanged + n.unchanged, upstream_calls = r.upstream_calls + n.calls,
       batches_done = r.batches_done + n.batches,
       planned_changes = case when jsonb_array_length(r.planned_changes) < ? then r.planned_changes || c.changes else r.planned_changes end,
       planned_changes_count = r.planned_changes_count + n.changes_count,
       phase = case when r.phase = 'work' and r.batches_done + n.batches >= r.batches_total then 'finalize' else r.phase end,
       phase_attempts = case when r.phase = 'work' and r.batches_done + n.batches >= r.batches_total then 0 else r.phase_attempts end,
       updated_at = now()
     from n, c
     where r.id = ? and n.batches > 0
     returning r.phase, n.seqs`,
    [
      JSON.stringify(
        done.map((d) => ({
          seq: d.seq,
          attempts: d.attempts,
          result: d.result ?? null,
          failures: d.outcome.failures,
          succeeded: d.outcome.succeeded,
          created: d.outcome.created,
          updated: d.outcome.updated,
          unchanged: d.outcome.unchanged,
          calls: d.outcome.upstreamCalls,
          changes: d.outcome.changes.slice(0, PLANNED_CHANGES_CAP),
          changes_count: d.outcome.changes.length,
        })),
      ),
      runId,
      runId,
      PLANNED_CHANGES_CAP,
      PLANNED_CHANGES_CAP,
      runId,
    ],
  );
  return row ? { phase: row.phase, seqs: new Set(row.seqs.map(Number)) } : undefined;
}

/** One batch: completeBatches of one. */
export async function completeBatch(db: Db, runId: string, seq: number, attempts: number, o: BatchOutcome, result: unknown): Promise<{ phase: string } | undefined> {
  const r = await completeBatches(db, runId, [{ seq, attempts, outcome: o, result }]);
  return r?.seqs.has(seq) ? { phase: r.phase } : undefined;
}

async function addCounts(trx: Knex.Transaction, runId: string, o: Omit<BatchOutcome, 'failures'>): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    trx,
    `update sync.runs r set succeeded = r.succeeded + ?, failed = r.failed + ?, created = r.created + ?, updated = r.updated + ?,
       unchanged = r.unchanged + ?, upstream_calls = r.upstream_calls + ?, batches_done = r.batches_done + 1,
       phase = case when r.phase = 'work' and r.batches_done + 1 >= r.batches_total then 'finalize' else r.phase end,
       phase_attempts = case when r.phase = 'work' and r.batches_done + 1 >= r.batches_total then 0 else r.phase_attempts end,
       updated_at = now()
     where r.id = ? returning r.*`,
    [o.succeeded, o.failed, o.created, o.updated, o.unchanged, o.upstreamCalls, runId],
  );
  return row;
}

/**
 * Numbers the next progress event of a run when the last one is at least ~1 s old (any process
 * may call it; at most one wins per second). Returns the row and the number, in the caller's
 * transaction (the event is appended in the same one).
 */
export async function nextProgress(trx: Knex.Transaction, runId: string): Promise<{ run: RunRow; n: number } | undefined> {
  const [row] = await rows<RunRow & { progress_events: string }>(
    trx,
    `update sync.runs set progress_events = progress_events + 1, last_progress_at = now()
     where id = ? and status = 'PROCESSING' and (last_progress_at is null or last_progress_at < now() - interval '900 milliseconds')
     returning *`,
    [runId],
  );
  return row ? { run: row, n: Number(row.progress_events) } : undefined;
}

/** A failed attempt: the batch stays claimed until `retryAfterSeconds`, then any worker retries it. */
export async function retryBatchLater(db: Db, runId: string, seq: number, attempts: number, error: string, retryAfterSeconds: number): Promise<void> {
  await db.raw(
    `update sync.run_batches set lease_until = now() + make_interval(secs => ?), last_error = left(?, 1000), updated_at = now()
     where run_id = ? and seq = ? and status = 'claimed' and attempts = ?`,
    [retryAfterSeconds, error, runId, seq, attempts],
  );
}

/**
 * A try that could not run because a dependency was unavailable (runs/dependencies.ts): the batch
 * goes back to the queue at once and the attempt its claim counted is given back.
 */
export async function returnBatchUnspent(db: Db, runId: string, seq: number, attempts: number, why: string): Promise<void> {
  await db.raw(
    `update sync.run_batches set status = 'pending', attempts = greatest(attempts - 1, 0), lease_until = null, last_error = left(?, 1000), updated_at = now()
     where run_id = ? and seq = ? and status = 'claimed' and attempts = ?`,
    [why, runId, seq, attempts],
  );
}

/**
 * Batches whose last allowed attempt expired: their codes are failed with the last error and they
 * count as done. Returns the runs touched (for progress/finalise).
 */
export async function exhaustBatches(trx: Knex.Transaction, maxAttempts: number): Promise<RunRow[]> {
  const dead = await rows<{ run_id: string; seq: number; codes: string[]; last_error: string | null }>(
    trx,
    `update sync.run_batches b set status = 'failed', lease_until = null, updated_at = now()
     from (select run_id, seq from sync.run_batches where status = 'claimed' and lease_until < now() and attempts >= ?
           order by run_id, seq limit 100 for update skip locked) as d
     where b.run_id = d.run_id and b.seq = d.seq
     returning b.run_id, b.seq, b.codes, b.last_error`,
    [maxAttempts],
  );
  const out: RunRow[] = [];
  for (const d of dead) {
    const reason = `failed after ${maxAttempts} attempts: ${d.last_error ?? 'the worker stopped (lease expired)'}`;
    const n = await insertFailures(trx, d.run_id, d.codes.map((code) => ({ code, reason })), 'batch');
    const r = await addCounts(trx, d.run_id, { succeeded: 0, failed: n, created: 0, updated: 0, unchanged: 0, upstreamCalls: 0, changes: [] });
    if (r) out.push(r);
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

export interface FinalUpdate {
  status: string;
  message: string;
  delisted?: number;
  changes?: string[];
}

/** Ends a run (from the finalize phase, or a fatal error at any time). */
export async function finishRun(trx: Knex.Transaction, runId: string, f: FinalUpdate): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    trx,
    `update sync.runs set status = ?, message = left(?, 4000), phase = 'done', lease_until = null,
       delisted = delisted + ?, completed_at = now(), started_at = coalesce(started_at, now()),
       planned_changes = case when jsonb_array_length(planned_changes) < ? then planned_changes || ?::jsonb else planned_changes end,
       planned_changes_count = planned_changes_count + ?, updated_at = now()
     where id = ? and status in ('PENDING', 'PROCESSING') returning *`,
    [f.status, f.message, f.delisted ?? 0, PLANNED_CHANGES_CAP, JSON.stringify((f.changes ?? []).slice(0, PLANNED_CHANGES_CAP)), f.changes?.length ?? 0, runId],
  );
  return row;
}

export async function addUpstreamCalls(db: Db, runId: string, n: number): Promise<void> {
  if (n) await db.raw(`update sync.runs set upstream_calls = upstream_calls + ? where id = ?`, [n, runId]);
}
