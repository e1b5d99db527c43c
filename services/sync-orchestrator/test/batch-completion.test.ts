// Batches on real Postgres, through the repository the engine uses: grouped claims hold their
// own lease; grouped completions count exactly once each and a batch taken over by another claim
// is left out; a worker's death spends a claim, not an attempt, and only the poison limit fails
// a batch whose workers keep dying; a failed try spends an attempt; and the run's counts come
// from one record per product, so they add up to the distinct products whatever was retried.
import { emptyOutcome, type BatchOutcome } from '../src/runs/item-outcomes';
import type { BatchLimits } from '../src/runs/lifecycle';
import {
  claimBatches,
  completeBatches,
  countItems,
  endPlanning,
  exhaustBatches,
  getRunRow,
  insertBatches,
  insertRun,
  markStarted,
  recordPlanFailures,
  recordWritten,
  retryBatchLater,
} from '../src/runs/repository';
import { freshSyncDb } from './support/sync-db';

const sync = freshSyncDb('hs_sync_completion');

const LIMITS: BatchLimits = { maxAttempts: 3, maxClaims: 5 };
const outcome = (o: Partial<BatchOutcome>): BatchOutcome => ({ ...emptyOutcome(), upstreamCalls: 1, ...o });

async function newRun(batches: string[][]): Promise<string> {
  const run = await insertRun(sync.knex(), { syncType: 'FULL', mode: 'FULL', trigger: 'MANUAL', kind: `FULL:${Math.random()}`, scope: { codes: [], category: '', brand: '', limit: 0 }, options: { prices: true, stock: false, counties: [], dryRun: false }, startedBy: 'test' });
  await sync.knex().transaction(async (trx) => {
    await markStarted(trx, run.id);
    await insertBatches(trx, run.id, batches.map((codes, seq) => ({ seq, codes })));
    await endPlanning(trx, run.id);
  });
  return run.id;
}

const expire = (runId: string, seq: number): Promise<unknown> => sync.knex().raw(`update sync.run_batches set lease_until = now() - interval '1 second' where run_id = ? and seq = ?`, [runId, seq]);
const batchRow = async (runId: string, seq: number): Promise<{ status: string; attempts: number; claims: number }> =>
  (await sync.knex().raw(`select status, attempts, claims from sync.run_batches where run_id = ? and seq = ?`, [runId, seq])).rows[0];

it('claims several batches in one statement and completes them together, counting only the claims still holding their batch', async () => {
  const runId = await newRun([0, 1, 2, 3].map((seq) => [`C${seq}a`, `C${seq}b`]));

  const claimed = await claimBatches(sync.knex(), 30, LIMITS, 3, undefined, runId);
  expect(claimed.map((b) => [b.seq, b.attempts, b.claim])).toEqual([
    [0, 0, 1],
    [1, 0, 1],
    [2, 0, 1],
  ]);
  expect(claimed.every((b) => b.run.id === runId)).toBe(true);
  // batch 1's lease expires and another process takes it: claim 2 now holds it
  await expire(runId, 1);
  const [retaken] = await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId);
  expect([retaken!.seq, retaken!.attempts, retaken!.claim]).toEqual([1, 0, 2]);

  const r = await completeBatches(sync.knex(), runId, [
    { seq: 0, claim: 1, codes: ['C0a', 'C0b'], outcome: outcome({ items: { C0a: 'created', C0b: 'created' }, changes: ['C0a created', 'C0b created'] }), result: { created: 2 } },
    { seq: 1, claim: 1, codes: ['C1a', 'C1b'], outcome: outcome({ items: { C1a: 'created' }, failures: [{ code: 'C1b', reason: 'stale claim' }] }), result: {} },
    { seq: 2, claim: 1, codes: ['C2a', 'C2b'], outcome: outcome({ items: { C2a: 'unchanged' }, failures: [{ code: 'C2b', reason: 'no price' }] }), result: {} },
  ]);
  expect(r).toBeDefined();
  expect([...r!.seqs].sort()).toEqual([0, 2]);
  expect(r!.phase).toBe('work');

  const row = (await getRunRow(sync.knex(), runId))!;
  expect({ done: Number(row.batches_done), succeeded: Number(row.succeeded), failed: Number(row.failed), created: Number(row.created), unchanged: Number(row.unchanged), calls: Number(row.upstream_calls) }).toEqual({
    done: 2,
    succeeded: 3,
    failed: 1,
    created: 2,
    unchanged: 1,
    calls: 2,
  });
  expect(row.planned_changes).toEqual(['C0a created', 'C0b created']);
  const failures = await sync.knex().raw(`select code, reason from sync.run_failures where run_id = ? order by code`, [runId]);
  expect(failures.rows).toEqual([{ code: 'C2b', reason: 'no price' }]);
  const statuses = await sync.knex().raw(`select seq, status, attempts, claims from sync.run_batches where run_id = ? order by seq`, [runId]);
  expect(statuses.rows).toEqual([
    { seq: 0, status: 'done', attempts: 0, claims: 1 },
    { seq: 1, status: 'claimed', attempts: 0, claims: 2 },
    { seq: 2, status: 'done', attempts: 0, claims: 1 },
    { seq: 3, status: 'pending', attempts: 0, claims: 0 },
  ]);

  // the same completions again (a retried flush) change nothing
  expect(await completeBatches(sync.knex(), runId, [{ seq: 0, claim: 1, codes: ['C0a', 'C0b'], outcome: outcome({ items: { C0a: 'updated', C0b: 'updated' } }), result: {} }])).toBeUndefined();
  expect(Number((await getRunRow(sync.knex(), runId))!.succeeded)).toBe(3);

  // the last two batches complete: the run moves on to finalising
  const [last] = await claimBatches(sync.knex(), 30, LIMITS, 5, undefined, runId);
  expect(last!.seq).toBe(3);
  const end = await completeBatches(sync.knex(), runId, [
    { seq: 1, claim: 2, codes: ['C1a', 'C1b'], outcome: outcome({ items: { C1a: 'created', C1b: 'created' } }), result: {} },
    { seq: 3, claim: 1, codes: ['C3a', 'C3b'], outcome: outcome({ items: { C3a: 'updated', C3b: 'unchanged' }, stockChanged: ['C3b'] }), result: {} },
  ]);
  expect(end!.phase).toBe('finalize');
  const fin = (await getRunRow(sync.knex(), runId))!;
  expect(Number(fin.batches_done)).toBe(4);
  // C3b: its record unchanged, its stock changed: updated, and counted as a stock change
  expect({ created: Number(fin.created), updated: Number(fin.updated), unchanged: Number(fin.unchanged), failed: Number(fin.failed), stock: Number(fin.stock_changed) }).toEqual({ created: 4, updated: 2, unchanged: 1, failed: 1, stock: 1 });
  expect(await countItems(sync.knex(), runId)).toEqual({ created: 4, updated: 2, unchanged: 1, failed: 1, stock_changed: 1 });
});

it("a worker's death spends a claim, not an attempt; a failed try spends an attempt; the attempt limit fails the batch's codes with the last error", async () => {
  const runId = await newRun([['D1', 'D2']]);
  // two workers die with the batch (their leases expire): no attempt spent
  for (let i = 1; i <= 2; i++) {
    const [b] = await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId);
    expect([b!.attempts, b!.claim]).toEqual([0, i]);
    await expire(runId, 0);
  }
  // three tries that ran and failed: three attempts
  for (let i = 0; i < 3; i++) {
    const [b] = await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId);
    expect(b!.attempts).toBe(i);
    await retryBatchLater(sync.knex(), runId, 0, b!.claim, `gateway said no (${i + 1})`, 0);
    await sync.knex().raw(`update sync.run_batches set lease_until = now() - interval '1 second' where run_id = ?`, [runId]);
  }
  expect(await batchRow(runId, 0)).toEqual({ status: 'pending', attempts: 3, claims: 5 });
  // out of attempts: not claimable, and the reaper fails its codes
  expect(await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId)).toEqual([]);
  const touched = await sync.knex().transaction((trx) => exhaustBatches(trx, LIMITS));
  expect(touched.map((r) => [r.id, r.phase])).toContainEqual([runId, 'finalize']);
  const failures = await sync.knex().raw(`select code, reason from sync.run_failures where run_id = ? order by code`, [runId]);
  expect(failures.rows).toEqual([
    { code: 'D1', reason: 'failed after 3 attempts: gateway said no (3)' },
    { code: 'D2', reason: 'failed after 3 attempts: gateway said no (3)' },
  ]);
  const row = (await getRunRow(sync.knex(), runId))!;
  expect([Number(row.failed), Number(row.succeeded), Number(row.batches_done)]).toEqual([2, 0, 1]);
});

it('a batch whose workers keep dying is failed at the poison limit (claims), not before', async () => {
  const runId = await newRun([['P1']]);
  for (let i = 1; i <= LIMITS.maxClaims; i++) {
    // before the limit, the reaper leaves it alone
    expect((await sync.knex().transaction((trx) => exhaustBatches(trx, LIMITS))).map((r) => r.id)).not.toContain(runId);
    const [b] = await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId);
    expect([b!.attempts, b!.claim]).toEqual([0, i]);
    await expire(runId, 0);
  }
  expect(await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId)).toEqual([]);
  await sync.knex().transaction((trx) => exhaustBatches(trx, LIMITS));
  expect(await batchRow(runId, 0)).toEqual({ status: 'failed', attempts: 0, claims: 5 });
  const [f] = (await sync.knex().raw(`select reason from sync.run_failures where run_id = ?`, [runId])).rows;
  expect(f.reason).toBe('its worker stopped 5 times while working on this batch (lease expired each time); it is not tried again (SYNC_MAX_CLAIMS=5)');
});

it('counts each product once: a listing failure later written, and a code a batch gave no answer for, still add up to the distinct codes', async () => {
  const runId = await newRun([['L1', 'L2', 'L3']]);
  await sync.knex().transaction((trx) =>
    recordPlanFailures(trx, runId, [
      { code: 'L9', reason: 'listing: bad row' },
      { code: 'L9', reason: 'listing: bad row again' },
    ]),
  );
  const [b] = await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId);
  // L3: neither written nor failed by the batch: failed with a reason, not lost
  await completeBatches(sync.knex(), runId, [{ seq: 0, claim: b!.claim, codes: b!.codes, outcome: outcome({ items: { L1: 'created', L2: 'unchanged' } }), result: {} }]);
  const row = (await getRunRow(sync.knex(), runId))!;
  const counts = await countItems(sync.knex(), runId);
  expect(counts).toEqual({ created: 1, updated: 0, unchanged: 1, failed: 2, stock_changed: 0 });
  expect(Number(row.total)).toBe(4);
  expect(Number(row.created) + Number(row.updated) + Number(row.unchanged) + Number(row.failed)).toBe(4);
  const reasons = (await sync.knex().raw(`select code, reason from sync.run_failures where run_id = ? order by code`, [runId])).rows;
  expect(reasons).toEqual([
    { code: 'L3', reason: 'the batch gave no result for this product; run again to retry it' },
    { code: 'L9', reason: 'listing: bad row again' },
  ]);
});

it('a batch retried after its write committed counts what the first try wrote, not the "unchanged" the retry hears; a batch that fails for good counts failed', async () => {
  const runId = await newRun([['W1', 'W2', 'W3'], ['X1']]);
  // try 1 of batch 0: the catalog created W1 and updated W2, then the try failed (e.g. the stock call)
  const [b] = await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId);
  await recordWritten(sync.knex(), runId, [
    { code: 'W1', outcome: 'created' },
    { code: 'W2', outcome: 'updated' },
  ]);
  // nothing is counted before the batch completes
  expect(await countItems(sync.knex(), runId)).toEqual({ created: 0, updated: 0, unchanged: 0, failed: 0, stock_changed: 0 });
  await retryBatchLater(sync.knex(), runId, 0, b!.claim, 'stock call failed', 0);
  await sync.knex().raw(`update sync.run_batches set lease_until = now() - interval '1 second' where run_id = ?`, [runId]);
  // try 2: the catalog now finds all three as they are
  const [again] = await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId);
  expect([again!.seq, again!.attempts]).toEqual([0, 1]);
  await completeBatches(sync.knex(), runId, [{ seq: 0, claim: again!.claim, codes: again!.codes, outcome: outcome({ items: { W1: 'unchanged', W2: 'unchanged', W3: 'unchanged' } }), result: {} }]);
  expect(await countItems(sync.knex(), runId)).toEqual({ created: 1, updated: 1, unchanged: 1, failed: 0, stock_changed: 0 });

  // batch 1 wrote X1, then ran out of attempts: X1 did not sync in full, it counts failed
  const [x] = await claimBatches(sync.knex(), 30, LIMITS, 1, undefined, runId);
  await recordWritten(sync.knex(), runId, [{ code: 'X1', outcome: 'created' }]);
  await sync.knex().raw(`update sync.run_batches set status = 'pending', attempts = 3, lease_until = null, last_error = 'stock call failed' where run_id = ? and seq = ?`, [runId, x!.seq]);
  await sync.knex().transaction((trx) => exhaustBatches(trx, LIMITS));
  const row = (await getRunRow(sync.knex(), runId))!;
  expect({ created: Number(row.created), updated: Number(row.updated), unchanged: Number(row.unchanged), failed: Number(row.failed), total: Number(row.total), phase: row.phase }).toEqual({
    created: 1,
    updated: 1,
    unchanged: 1,
    failed: 1,
    total: 4,
    phase: 'finalize',
  });
});
