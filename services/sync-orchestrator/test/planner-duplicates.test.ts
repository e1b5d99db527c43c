// Planning a listing that repeats codes, on real Postgres: each code is planned into one batch
// once, the run's total counts it once, the repeats are kept on the run (for its message), and a
// re-plan after a crash adds nothing and does not count the repeats twice. The simulator never
// repeats a code, so the listing here comes from a stand-in for the gateway's StreamAllProducts
// (the only thing stubbed; the database and the planner are the real ones).
import { create } from '@bufbuild/protobuf';
import { gateway } from '@haier-sync/contracts';
import { createLogger } from '@haier-sync/runtime';
import type { RunDeps } from '../src/runs/deps';
import { planBatches } from '../src/runs/planner';
import { getRunRow, insertRun } from '../src/runs/repository';
import { freshSyncDb } from './support/sync-db';

const sync = freshSyncDb('hs_sync_plan_dups');

const product = (code: string): gateway.Product => create(gateway.ProductSchema, { productCode: code, productModel: `M-${code}`, productName: code, productGroupName: 'G', productBrandName: 'B', isSales: true });

function depsWithListing(chunks: string[][]): RunDeps {
  const standIn = {
    async *streamAllProducts() {
      for (const c of chunks) yield create(gateway.StreamAllProductsResponseSchema, { products: c.map(product) });
    },
  } as unknown as RunDeps['gateway'];
  return {
    knex: sync.knex(),
    gateway: standIn,
    catalog: {} as RunDeps['catalog'],
    logger: createLogger('test', { level: 'silent' }),
    settings: { concurrency: 1, leaseSeconds: 30, maxAttempts: 3, maxClaims: 10, counties: [], lowStockThreshold: 5 },
    raiseAlert: async () => undefined,
    kick: () => undefined,
  };
}

test('a listing that repeats codes plans each once and keeps the repeats for the message; a re-plan adds nothing', async () => {
  const run = await insertRun(sync.knex(), { syncType: 'PRODUCTS', mode: 'FULL', trigger: 'MANUAL', kind: 'FULL', scope: { codes: [], category: '', brand: '', limit: 0 }, options: { prices: true, stock: false, counties: [], dryRun: false }, startedBy: 'test' });
  const deps = depsWithListing([
    ['A', 'B', 'A'],
    ['C', 'B'],
  ]);
  await planBatches(run, deps, async () => undefined);
  const codes = (await sync.knex().raw(`select unnest(codes) as code from sync.run_batches where run_id = ? order by seq`, [run.id])).rows.map((r: { code: string }) => r.code);
  expect(codes).toEqual(['A', 'B', 'C']);
  let row = (await getRunRow(sync.knex(), run.id))!;
  expect([Number(row.total), row.listing_duplicates, row.phase]).toEqual([3, ['A', 'B'], 'work']);
  const batches = Number(row.batches_total);

  // the process crashed before planning ended: the next one plans again from the start of the listing
  await sync.knex().raw(`update sync.runs set phase = 'plan' where id = ?`, [run.id]);
  await planBatches((await getRunRow(sync.knex(), run.id))!, deps, async () => undefined);
  row = (await getRunRow(sync.knex(), run.id))!;
  expect([Number(row.total), Number(row.batches_total), row.listing_duplicates]).toEqual([3, batches, ['A', 'B']]);
  expect((await sync.knex().raw(`select unnest(codes) as code from sync.run_batches where run_id = ?`, [run.id])).rows).toHaveLength(3);
});
