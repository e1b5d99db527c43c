// The worker against the real catalog (a built process), the gateway and the simulator: a bad item
// fails alone with the catalog's own per-item reason (FAILED in UpsertProducts and UpdateStock),
// its neighbours in the same batch and in a batch combined with it are written, and nothing is
// re-sent item by item.
import { create } from '@bufbuild/protobuf';
import { catalog, gateway } from '@haier-sync/contracts';
import { createLogger } from '@haier-sync/runtime';
import type { RunDeps } from '../src/runs/deps';
import type { RunRow } from '../src/runs/model';
import { createUpsertCoalescer, upsertThroughCatalog } from '../src/runs/upsert-coalescer';
import { processBatch } from '../src/runs/worker';
import { count, startStack, type Stack } from './stack';

jest.setTimeout(120_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ orchestrator: 'none' });
});
afterAll(async () => {
  await stack?.close();
});

const none = { codes: [], category: '', brand: '', limit: 0 };
/** The part of a run row a batch reads (its plan and options). */
const runRow = (syncType: string, options: Partial<RunRow['options']>): RunRow =>
  ({ id: '1', sync_type: syncType, mode: 'FULL', scope: none, options: { prices: false, stock: false, counties: [], dryRun: false, ...options } }) as Partial<RunRow> as RunRow;

function deps(upsert?: RunDeps['upsert']): RunDeps {
  return {
    knex: undefined as never, // a batch's work touches no run tables
    gateway: stack.gateway,
    catalog: stack.catalog,
    logger: createLogger('worker-items', { level: 'silent' }),
    settings: { concurrency: 2, leaseSeconds: 5, counties: [], lowStockThreshold: 10, maxAttempts: 3, maxClaims: 3 },
    raiseAlert: async () => undefined,
    kick: () => undefined,
    upsert,
  };
}

const listed = (code: string) => create(gateway.ProductSchema, { productCode: code, productModel: `M-${code}`, productName: `Name ${code}`, productGroupName: 'G', productBrandName: 'B', isSales: true });

test('a product the catalog answers FAILED fails alone, with its reason; the rest of its batch and a batch written with it are stored', async () => {
  const long = `W${'x'.repeat(40)}`; // 41 characters: not a product code the catalog stores
  const first = ['WI01', long, 'WI02'];
  const second = ['WI11', 'WI12'];
  const coalescer = createUpsertCoalescer(upsertThroughCatalog(stack.catalog), { maxInFlight: 1 });
  const d = deps(coalescer.upsert);
  const run = runRow('PRODUCTS', {});
  const blocker = processBatch({ runId: 'wi', run, codes: ['WI00'], payload: [listed('WI00')] }, d);
  const [, a, b] = await Promise.all([
    blocker,
    processBatch({ runId: 'wi', run, codes: first, payload: first.map(listed) }, d),
    processBatch({ runId: 'wi', run, codes: second, payload: second.map(listed) }, d),
  ]);
  expect(a.result).toEqual({ created: 2, updated: 0, unchanged: 0, failed: 1 });
  expect(a.outcome.failures).toEqual([
    {
      code: long,
      reason: `catalog: product_code ${JSON.stringify(long)} is not a Haier product code: 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. GA0SZC00U); check the code Haier sent`,
    },
  ]);
  expect(b.result).toEqual({ created: 2, updated: 0, unchanged: 0, failed: 0 });
  // the two waiting batches went out as one call and were not sent again one by one
  expect(coalescer.stats()).toEqual({ flushes: 2, items: 3, fallbacks: 0 });
  expect(await count(stack.pg, `select count(*) as n from catalog.product where code like 'WI%'`)).toBe(5);
});

test('a product whose stock the catalog answers FAILED fails alone; the stock of the others is written', async () => {
  const codes = stack.sim.control
    .products(0, 50)
    .filter((p) => p.listed)
    .slice(0, 2)
    .map((p) => p.productCode);
  expect(codes).toHaveLength(2);
  const [known, unknown] = codes as [string, string];
  await stack.catalog.upsertProducts({ products: [create(catalog.ProductInputSchema, { productCode: known, productName: 'known' })], runId: 'ws-setup' });
  const r = await processBatch({ runId: 'ws', run: runRow('STOCK', { stock: true, counties: ['110101'] }), codes, payload: null }, deps());
  expect(r.outcome.failures).toEqual([{ code: unknown, reason: `catalog stock: unknown product_code "${unknown}": upsert the product before its stock` }]);
  expect(r.outcome.stockChanged).toEqual([known]);
  expect(r.result).toEqual({ created: 0, updated: 1, unchanged: 0, failed: 1 });
  expect(await count(stack.pg, `select count(*) as n from catalog.product_stock where product_code = $1`, [known])).toBe(1);
  expect(await count(stack.pg, `select count(*) as n from catalog.product_stock where product_code = $1`, [unknown])).toBe(0);
});
