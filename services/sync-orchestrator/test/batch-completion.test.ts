// Grouped batch claims and completions on real Postgres: batches claimed in one statement each
// hold their own lease; batches completed in one statement count exactly once each, and a batch
// whose lease was taken over (its attempt no longer matches) is left out, counts and failures alike.
import { createTestDatabase, type TestDatabase } from '@haier-sync/runtime/testing';
import type { MikroORM } from '@mikro-orm/postgresql';
import { knexOf, type Knex } from '../src/db';
import { claimBatches, completeBatches, endPlanning, getRunRow, insertBatches, insertRun, markStarted, type BatchOutcome } from '../src/runs/repository';
import { syncOrm } from './support/sync-db';

let db: TestDatabase;
let orm: MikroORM;
let knex: Knex;

beforeAll(async () => {
  db = await createTestDatabase('hs_sync_completion');
  orm = await syncOrm(db.url);
  knex = knexOf(orm);
});

afterAll(async () => {
  await orm?.close(true);
  await db?.drop();
});

const outcome = (o: Partial<BatchOutcome>): BatchOutcome => ({ succeeded: 0, failed: 0, created: 0, updated: 0, unchanged: 0, upstreamCalls: 1, failures: [], changes: [], ...o });

it('claims several batches in one statement and completes them together, counting only the attempts still holding their batch', async () => {
  const run = await insertRun(knex, { syncType: 'FULL', mode: 'FULL', trigger: 'MANUAL', kind: 'FULL', scope: { codes: [], category: '', brand: '', limit: 0 }, options: { prices: true, stock: false, counties: [], dryRun: false }, startedBy: 'test' });
  await knex.transaction(async (trx) => {
    await markStarted(trx, run.id);
    await insertBatches(trx, run.id, [0, 1, 2, 3].map((seq) => ({ seq, codes: [`C${seq}a`, `C${seq}b`] })));
    await endPlanning(trx, run.id);
  });

  const claimed = await claimBatches(knex, 30, 3, 3);
  expect(claimed.map((b) => [b.seq, b.attempts])).toEqual([
    [0, 1],
    [1, 1],
    [2, 1],
  ]);
  expect(claimed.every((b) => b.run.id === run.id)).toBe(true);
  // batch 1's lease expires and another process takes it: attempt 2 now owns it
  await knex.raw(`update sync.run_batches set lease_until = now() - interval '1 second' where run_id = ? and seq = 1`, [run.id]);
  const [retaken] = await claimBatches(knex, 30, 3, 1, undefined, run.id);
  expect([retaken!.seq, retaken!.attempts]).toEqual([1, 2]);

  const r = await completeBatches(knex, run.id, [
    { seq: 0, attempts: 1, outcome: outcome({ succeeded: 2, created: 2, changes: ['C0a created', 'C0b created'] }), result: { created: 2 } },
    { seq: 1, attempts: 1, outcome: outcome({ succeeded: 1, failed: 1, created: 1, failures: [{ code: 'C1b', reason: 'stale attempt' }] }), result: { created: 1 } },
    { seq: 2, attempts: 1, outcome: outcome({ succeeded: 1, failed: 1, unchanged: 1, failures: [{ code: 'C2b', reason: 'no price' }] }), result: { unchanged: 1 } },
  ]);
  expect(r).toBeDefined();
  expect([...r!.seqs].sort()).toEqual([0, 2]);
  expect(r!.phase).toBe('work');

  const row = (await getRunRow(knex, run.id))!;
  expect({ done: Number(row.batches_done), succeeded: Number(row.succeeded), failed: Number(row.failed), created: Number(row.created), unchanged: Number(row.unchanged), calls: Number(row.upstream_calls) }).toEqual({
    done: 2,
    succeeded: 3,
    failed: 1,
    created: 2,
    unchanged: 1,
    calls: 2,
  });
  expect(row.planned_changes).toEqual(['C0a created', 'C0b created']);
  const failures = await knex.raw(`select code, reason from sync.run_failures where run_id = ? order by code`, [run.id]);
  expect(failures.rows).toEqual([{ code: 'C2b', reason: 'no price' }]);
  const statuses = await knex.raw(`select seq, status, attempts from sync.run_batches where run_id = ? order by seq`, [run.id]);
  expect(statuses.rows).toEqual([
    { seq: 0, status: 'done', attempts: 1 },
    { seq: 1, status: 'claimed', attempts: 2 },
    { seq: 2, status: 'done', attempts: 1 },
    { seq: 3, status: 'pending', attempts: 0 },
  ]);

  // the same completions again (a retried flush) change nothing
  expect(await completeBatches(knex, run.id, [{ seq: 0, attempts: 1, outcome: outcome({ succeeded: 2 }), result: {} }])).toBeUndefined();
  expect(Number((await getRunRow(knex, run.id))!.succeeded)).toBe(3);

  // the last two batches complete: the run moves on to finalising
  const [last] = await claimBatches(knex, 30, 3, 5, undefined, run.id);
  expect(last!.seq).toBe(3);
  const end = await completeBatches(knex, run.id, [
    { seq: 1, attempts: 2, outcome: outcome({ succeeded: 2, created: 2 }), result: {} },
    { seq: 3, attempts: 1, outcome: outcome({ succeeded: 2, updated: 2 }), result: {} },
  ]);
  expect(end!.phase).toBe('finalize');
  expect(Number((await getRunRow(knex, run.id))!.batches_done)).toBe(4);
});
