// A run's counts add up to its products, through the real gateway, catalog and simulator:
// a 2,000-product FULL run with prices and stock whose batches are retried (Haier answers 503 to
// the first price calls and the gateway does not retry: the engine gives those batches back
// without spending an attempt and tries them again) counts every product once, created on an
// empty catalog; after the simulator moves some products' stock, the next run counts exactly the
// products whose stock changed as updated (and says so), the rest unchanged.
import { sync } from '@haier-sync/contracts';
import { countItems } from '../src/runs/repository';
import { count, runToEnd, startStack, statusName, type Stack } from './stack';
import { knexOf } from '../src/db';

jest.setTimeout(180_000);

const SIZE = 2000;
const COUNTY = '110101';

describe('counts that add up', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      sim: { size: SIZE, seed: 31, latencyMs: 5, rateLimit: 0 },
      // a failed price call fails the batch's try at once: its batch is retried by the engine
      gatewayEnv: { HAIER_MAX_RETRIES: '0', HAIER_RATE_LIMIT: '1000' },
      env: { SYNC_MAX_ATTEMPTS: '6', SYNC_COUNTIES: COUNTY },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  const stockOf = async (): Promise<Map<string, string>> => {
    const r = await stack.pg.query<{ product_code: string; s: string }>(`select product_code, quantity || '|' || best_sec_code || '|' || best_warehouse_grade as s from catalog.product_stock where county_code = $1`, [COUNTY]);
    return new Map(r.rows.map((x) => [x.product_code, x.s]));
  };

  test('retried batches: created + updated + unchanged + failed = distinct codes; then stock changes are counted as updated', async () => {
    const listed = stack.sim.control.products(0, SIZE).filter((p) => p.listed);
    const distinct = new Set(listed.map((p) => p.productCode)).size;

    stack.sim.control.faults({ failNext: { status: 503, count: 8, endpoint: 'prices' } });
    const first = await runToEnd(stack, { mode: sync.RunMode.FULL, options: { stock: true }, startedBy: 'test' }, 150_000);
    expect(statusName(first.status)).toBe('SUCCESS');
    // the batches were retried: Haier refused 8 price calls, and each of those batches was tried
    // again (Haier unavailable is waited out: no attempt spent, issue 17)
    expect(stack.sim.control.stats().byEndpoint['prices']).toMatchObject({ fault_503: 8 });
    expect(await count(stack.pg, `select coalesce(sum(attempts), 0) as n from sync.run_batches where run_id = $1`, [first.id])).toBe(0);
    const c1 = first.counts!;
    expect(Number(c1.total)).toBe(distinct);
    expect(Number(c1.created) + Number(c1.updated) + Number(c1.unchanged) + Number(c1.failed)).toBe(distinct);
    // an empty catalog: every product was created by this run, once
    expect(Number(c1.created)).toBe(distinct);
    expect(await count(stack.pg, `select count(*) as n from catalog.change_log where kind = 'created' and run_id = $1`, [first.id])).toBe(distinct);
    expect(await countItems(knexOf(stack.orch!.orm), first.id)).toMatchObject({ created: distinct, updated: 0, unchanged: 0, failed: 0 });

    // the simulator moves 5% of the products' stock
    const before = await stockOf();
    const moved = stack.sim.control.mutate({ stockMoveShare: 0.05, seed: 7 }).stockMoved;
    expect(moved.length).toBeGreaterThan(50);
    const second = await runToEnd(stack, { mode: sync.RunMode.FULL, options: { stock: true }, startedBy: 'test' }, 150_000);
    expect(statusName(second.status)).toBe('SUCCESS');
    const after = await stockOf();
    const changed = [...after].filter(([code, s]) => before.get(code) !== s).length;
    expect(changed).toBeGreaterThan(0);
    const c2 = second.counts!;
    expect(Number(c2.updated)).toBe(changed);
    expect(Number(c2.unchanged)).toBe(distinct - changed);
    expect(Number(c2.created) + Number(c2.failed)).toBe(0);
    expect(second.message).toContain(`${changed} updated`);
    expect(second.message).toContain(`${changed} with stock changes`);
  });
});
