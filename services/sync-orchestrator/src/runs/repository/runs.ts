// The run row (sync.runs): creating it, finding it, listing, the leased phases (planning and
// finalising), progress numbering and the end of a run. Every move of its status or phase is a
// transition of lifecycle.ts.
import { activeTraceparent } from '@haier-sync/runtime';
import type { Knex } from '../../db';
import { NEW_RUN, sqlActive, sqlWorking, sqlBatchesClaimable, sqlPhaseAfterBatches, sqlPhaseClaimable, sqlRunFrom, sqlRunTo, type OutcomeStatus } from '../lifecycle';
import type { FailureRow, RunOptionsJson, RunRow, RunScopeJson } from '../model';
import { rows, type Db } from './sql';

/** Items of the planned-changes preview kept on the run row (the count goes on). */
export const PLANNED_CHANGES_CAP = 2000;

export interface NewRun {
  syncType: string;
  mode: string;
  trigger: string;
  kind: string;
  scope: RunScopeJson;
  options: RunOptionsJson;
  startedBy: string;
  /** The run whose failed products this one retries. */
  retryOf?: string;
}

/** A new run row; it keeps the trace context of the call that started it (the run's trace). */
export async function insertRun(db: Db, r: NewRun): Promise<RunRow> {
  const [row] = await rows<RunRow>(
    db,
    `insert into sync.runs (sync_type, mode, status, phase, trigger, kind, scope, options, started_by, message, retry_of, traceparent)
     values (?, ?, ?, ?, ?, ?, ?::jsonb, ?::jsonb, ?, '', ?, ?) returning *`,
    [r.syncType, r.mode, NEW_RUN.status, NEW_RUN.phase, r.trigger, r.kind, JSON.stringify(r.scope), JSON.stringify(r.options), r.startedBy, r.retryOf ?? null, activeTraceparent()],
  );
  return row!;
}

/** Gives a run no traced call started (a scheduled one) the trace of its first planning. */
export async function adoptRunTrace(db: Db, runId: string, traceparent: string): Promise<void> {
  await db.raw(`update sync.runs set traceparent = ? where id = ? and traceparent is null`, [traceparent, runId]);
}

/** Locks the kind for this transaction (a second StartRun of the same kind waits, then sees the first). */
export async function lockKind(trx: Knex.Transaction, kind: string): Promise<void> {
  await trx.raw(`select pg_advisory_xact_lock(hashtext(?))`, [`sync.run:${kind}`]);
}

export async function findActiveRun(db: Db, kind: string): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(db, `select * from sync.runs where kind = ? and ${sqlActive()} order by id limit 1`, [kind]);
  return row;
}

export async function getRunRow(db: Db, id: string, forUpdate = false): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(db, `select * from sync.runs where id = ?${forUpdate ? ' for update' : ''}`, [id]);
  return row;
}

/** Every code that failed in a run (RetryFailed), in code order. */
export async function failedCodes(db: Db, runId: string): Promise<string[]> {
  return (await rows<{ code: string }>(db, `select code from sync.run_failures where run_id = ? order by code`, [runId])).map((r) => r.code);
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
  /** Recorded live operations (kind OPERATION:*) too; sync runs only when unset. */
  includeOperations?: boolean;
}

export async function listRunRows(db: Db, f: RunFilter, limit: number): Promise<{ rows: RunRow[]; total: number }> {
  const where: string[] = [];
  const b: unknown[] = [];
  if (f.syncType) (where.push('sync_type = ?'), b.push(f.syncType));
  if (f.status) (where.push('status = ?'), b.push(f.status));
  if (f.trigger) (where.push('trigger = ?'), b.push(f.trigger));
  if (f.since) (where.push('created_at >= ?'), b.push(f.since));
  if (f.until) (where.push('created_at < ?'), b.push(f.until));
  if (!f.includeOperations) where.push("kind not like 'OPERATION:%'");
  const filter = where.length ? `where ${where.join(' and ')}` : '';
  const [count] = await rows<{ n: string }>(db, `select count(*) as n from sync.runs ${filter}`, b);
  const page = f.beforeId ? (where.length ? `${filter} and id < ?` : 'where id < ?') : filter;
  const list = await rows<RunRow>(db, `select * from sync.runs ${page} order by id desc limit ?`, [...b, ...(f.beforeId ? [f.beforeId] : []), limit]);
  return { rows: list, total: Number(count?.n ?? 0) };
}

// ----------------------------------------------------------------------------------------------
// The run's leased phases (planning, finalising) are owned through a lease on the run row.

/** Claims a run that needs planning or finalising and whose lease is free (or expired): one more phase claim. */
export async function claimRunPhase(db: Db, owner: string, leaseSeconds: number): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    db,
    `update sync.runs set lease_until = now() + make_interval(secs => ?), owner = ?, phase_claims = phase_claims + 1, updated_at = now()
     where id = (select id from sync.runs
                 where ${sqlPhaseClaimable()} and (lease_until is null or lease_until < now())
                 order by id limit 1 for update skip locked)
     returning *`,
    [leaseSeconds, owner],
  );
  return row;
}

export async function renewRunLease(db: Db, runId: string, owner: string, leaseSeconds: number): Promise<boolean> {
  const r = await rows<{ id: string }>(
    db,
    `update sync.runs set lease_until = now() + make_interval(secs => ?) where id = ? and owner = ? and ${sqlActive()} returning id`,
    [leaseSeconds, runId, owner],
  );
  return r.length > 0;
}

/** A planning/finalising try that ran and failed: one more phase attempt; its error is kept for the message. */
export async function recordPhaseError(db: Db, runId: string, owner: string, error: string): Promise<void> {
  await db.raw(`update sync.runs set last_error = left(?, 1000), phase_attempts = phase_attempts + 1 where id = ? and owner = ?`, [error, runId, owner]);
}

/**
 * A planning/finalising try that could not run because a dependency was unavailable: no attempt
 * is spent and the claim it took is given back; the lease is kept `retryAfterSeconds` as the back-off.
 */
export async function returnPhaseUnspent(db: Db, runId: string, owner: string, error: string, retryAfterSeconds: number): Promise<void> {
  await db.raw(
    `update sync.runs set phase_claims = greatest(phase_claims - 1, 0), last_error = left(?, 1000), lease_until = now() + make_interval(secs => ?)
     where id = ? and owner = ?`,
    [error, retryAfterSeconds, runId, owner],
  );
}

/** Runs whose batches may be claimed now. */
export async function workableRunIds(db: Db): Promise<string[]> {
  const r = await rows<{ id: string }>(db, `select id from sync.runs where ${sqlBatchesClaimable()} order by id`);
  return r.map((x) => x.id);
}

/** PENDING -> PROCESSING (returns undefined when it was not pending). */
export async function markStarted(trx: Knex.Transaction, runId: string): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    trx,
    `update sync.runs set ${sqlRunTo('start')}, started_at = now(), updated_at = now() where id = ? and ${sqlRunFrom('start')} returning *`,
    [runId],
  );
  return row;
}

/** Codes the listing repeated: each is planned once; the run's message names how many. */
export async function recordListingDuplicates(trx: Knex.Transaction, runId: string, codes: readonly string[]): Promise<void> {
  if (!codes.length) return;
  // a re-plan after a crash sees the same repeats again: the set stays distinct
  await trx.raw(
    `update sync.runs set listing_duplicates = (select coalesce(jsonb_agg(distinct v order by v), '[]'::jsonb)
       from jsonb_array_elements_text(listing_duplicates || ?::jsonb) as v), updated_at = now() where id = ?`,
    [JSON.stringify(codes), runId],
  );
}

/** Planning is over: workers may finish the run (or finalise it now when it has no batches). */
export async function endPlanning(trx: Knex.Transaction, runId: string): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    trx,
    `update sync.runs set ${sqlPhaseAfterBatches('planned', 'batches_done')}, lease_until = null, last_error = null, updated_at = now()
     where id = ? and ${sqlRunFrom('planned')} returning *`,
    [runId],
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
     where id = ? and ${sqlWorking()} and (last_progress_at is null or last_progress_at < now() - interval '900 milliseconds')
     returning *`,
    [runId],
  );
  return row ? { run: row, n: Number(row.progress_events) } : undefined;
}

export interface FinalUpdate {
  status: OutcomeStatus;
  message: string;
  delisted?: number;
  changes?: string[];
}

/**
 * Ends a run: from the finalize phase with its outcome (`finish`), or FAILED from any active
 * state (`fail`: a fatal error).
 */
export async function finishRun(trx: Knex.Transaction, runId: string, f: FinalUpdate): Promise<RunRow | undefined> {
  const how = f.status === 'FAILED' ? 'fail' : 'finish';
  const [row] = await rows<RunRow>(
    trx,
    `update sync.runs set ${sqlRunTo(how, f.status)}, message = left(?, 4000),
       delisted = delisted + ?, completed_at = now(), started_at = coalesce(started_at, now()),
       ${plannedChangesSets('', '?::jsonb', '?')}, updated_at = now()
     where id = ? and ${sqlRunFrom(how)} returning *`,
    [f.message, f.delisted ?? 0, JSON.stringify((f.changes ?? []).slice(0, PLANNED_CHANGES_CAP)), f.changes?.length ?? 0, runId],
  );
  return row;
}

/** An operator cancels an active run; what was done stays done (its open batches are no longer claimed). */
export async function cancelRunRow(trx: Knex.Transaction, runId: string, message: string): Promise<RunRow | undefined> {
  const [row] = await rows<RunRow>(
    trx,
    `update sync.runs set ${sqlRunTo('cancel')}, completed_at = now(), started_at = coalesce(started_at, now()), updated_at = now(), message = left(?, 4000)
     where id = ? and ${sqlRunFrom('cancel')} returning *`,
    [message, runId],
  );
  return row;
}

/**
 * SET clauses adding change lines to a run's preview (kept at PLANNED_CHANGES_CAP lines; whole
 * additions only) and their number to its count. `alias` qualifies the run's columns ('' for none).
 */
export function plannedChangesSets(alias: string, changes: string, count: string): string {
  const col = (c: string) => (alias ? `${alias}.${c}` : c);
  return `planned_changes = case when jsonb_array_length(${col('planned_changes')}) < ${PLANNED_CHANGES_CAP} then ${col('planned_changes')} || ${changes} else ${col('planned_changes')} end,
       planned_changes_count = ${col('planned_changes_count')} + ${count}`;
}

/** The run phase's counters after batches are done (the `batchesDone` transition), for SET lists. */
export function batchesDoneSets(doneExpr: string, alias: string): string {
  return sqlPhaseAfterBatches('batchesDone', doneExpr, alias);
}
