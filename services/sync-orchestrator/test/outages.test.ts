// Runs that ride out outages (issue 17, items 1 and 3): the catalog or the gateway stopped
// mid-run (real processes, started again on the same port), and Haier answering 503 to
// everything, each for OUTAGE_MS (20 s, over six times what the engine's old 1 s + 2 s batch retries
// survived): the run ends SUCCESS, the catalog is exact, no batch spent a second attempt, and the
// change log and the run's lifecycle events hold each event once. An outage longer than
// SYNC_DEPENDENCY_PATIENCE fails the run naming the dependency; a rerun completes. A stock call
// failing twice then succeeding leaves its product synced, not failed.
import { DEFAULT_CREDENTIALS, startSimulator, type SimHandle } from '@haier-sync/haier-sim';
import { sync } from '@haier-sync/contracts';
import { CALLERS, closeGrpcClients, createLogger } from '@haier-sync/runtime';
import { createTestDatabase, startCatalogProcess, startGatewayProcess, testAuth, testClient, waitFor, type CatalogProcess, type GatewayProcess, type TestDatabase } from '@haier-sync/runtime/testing';
import type { Client } from '@connectrpc/connect';
import { Client as PgClient } from 'pg';
import { startOrchestrator, type Orchestrator } from '../src/app';
import { count, statusName, waitForRun } from './stack';

jest.setTimeout(240_000);

const SIZE = 400;
const OUTAGE_MS = 20_000;

const GATEWAY_ENV = {
  HAIER_CLIENT_ID: DEFAULT_CREDENTIALS.clientId,
  HAIER_CLIENT_SECRET: DEFAULT_CREDENTIALS.clientSecret,
  HAIER_CUSTOMER_CODE: DEFAULT_CREDENTIALS.customerCode,
  HAIER_SEND_TO_CODE: DEFAULT_CREDENTIALS.sendToCode,
  HAIER_PASSWORD: DEFAULT_CREDENTIALS.passWord,
  HAIER_SELLER_PASSWORD: DEFAULT_CREDENTIALS.sellerPassword,
  HAIER_CUSTOMER_PASSWORD: DEFAULT_CREDENTIALS.customerPassword,
  HAIER_MAX_RETRIES: '1',
  HAIER_TIMEOUT_MS: '5000',
};

let db: TestDatabase;
let pg: PgClient;
let sim: SimHandle;
let cat: CatalogProcess;
let gw: GatewayProcess;
let orch: Orchestrator | undefined;
let client: Client<typeof sync.SyncService>;
const logger = createLogger('outages', { level: process.env.STACK_LOG_LEVEL ?? 'silent' });

async function startOrch(extra: Record<string, string> = {}): Promise<void> {
  orch = await startOrchestrator({
    env: {
      DATABASE_URL: db.url,
      GATEWAY_URL: gw.url,
      CATALOG_URL: cat.url,
      SYNC_SCHEDULER_ENABLED: 'false',
      SYNC_FIRST_DEPLOY: 'false',
      SYNC_PUBLISHER_ENABLED: 'false',
      // this test counts one change-log row per product: no image step in its FULL runs
      SYNC_IMAGES_IN_FULL: 'false',
      SYNC_LEASE_SECONDS: '5',
      SYNC_CONCURRENCY: '2',
      LOG_LEVEL: 'error',
      ...testAuth().env(CALLERS.orchestrator),
      ...extra,
    },
    logger,
    port: 0,
    host: '127.0.0.1',
    idlePollMs: 100,
  });
  client = testClient(sync.SyncService, orch.url, { timeoutMs: 30_000 });
}

beforeAll(async () => {
  db = await createTestDatabase('hs_outage');
  pg = new PgClient({ connectionString: db.url });
  await pg.connect();
  sim = await startSimulator({ quiet: true, size: SIZE, seed: 17, latencyMs: 60 });
  [cat, gw] = await Promise.all([startCatalogProcess(db.url), startGatewayProcess(sim.url, { env: GATEWAY_ENV })]);
  await startOrch();
});

afterAll(async () => {
  await orch?.close();
  await Promise.all([cat?.stop(), gw?.stop()]);
  await sim?.close();
  await pg?.end();
  closeGrpcClients();
  await db?.drop();
});

const listed = (): Array<{ productCode: string; supplyPrice?: string }> => sim.control.products(0, SIZE).filter((p) => p.listed);

/** Starts a FULL run and waits until `batches` of its batches are done. */
async function fullRunUnderWay(batches = 3): Promise<string> {
  sim.control.mutate({ priceChangeShare: 1 }); // every product changes: each run writes every one
  const id = (await client.startRun({ mode: sync.RunMode.FULL, startedBy: 'outage-test' })).run!.id;
  await waitFor(async () => Number((await client.getRun({ id })).run?.counts?.batchesDone ?? 0) >= batches, { timeoutMs: 60_000, intervalMs: 50, what: `${batches} batches done` });
  return id;
}

/** What every outage test asserts once the run ended: SUCCESS, exact catalog, one attempt per batch, each event once. */
async function expectRodeItOut(id: string, dependency: RegExp): Promise<void> {
  const run = await waitForRun(client, id, 120_000);
  expect({ status: statusName(run.status), message: run.message }).toEqual({ status: 'SUCCESS', message: expect.any(String) });
  const want = listed();
  expect(run.counts?.failed).toBe(0n);
  expect(run.counts?.total).toBe(BigInt(want.length));
  expect(run.counts?.batchesDone).toBe(run.counts?.batchesTotal);
  // the outage was met (a batch waited for the dependency), yet no batch needed a second attempt
  const waited = await pg.query<{ last_error: string }>(`select last_error from sync.run_batches where run_id = $1 and last_error is not null`, [id]);
  expect(waited.rows.some((r) => dependency.test(r.last_error))).toBe(true);
  expect(await count(pg, `select count(*) as n from sync.run_batches where run_id = $1 and attempts > 1`, [id])).toBe(0);
  expect(await count(pg, `select count(*) as n from sync.run_batches where run_id = $1 and status <> 'done'`, [id])).toBe(0);
  expect(await count(pg, `select count(*) as n from sync.run_failures where run_id = $1`, [id])).toBe(0);
  // the catalog is exact: every listed product once, with Haier's supply price
  const rows = await pg.query<{ code: string; supply_price: string | null }>(`select code, supply_price::text from catalog.product`);
  expect(rows.rows).toHaveLength(want.length);
  const byCode = new Map(rows.rows.map((r) => [r.code, r.supply_price]));
  for (const p of want) expect({ code: p.productCode, price: byCode.get(p.productCode) === null ? undefined : Number(byCode.get(p.productCode)) }).toEqual({ code: p.productCode, price: p.supplyPrice === undefined ? undefined : Number(p.supplyPrice) });
  // events: one change-log entry per product (each changed once by this run), one started and one completed event
  expect(await count(pg, `select count(*) as n from catalog.change_log where run_id = $1`, [id])).toBe(want.length);
  expect(await count(pg, `select count(distinct product_code) as n from catalog.change_log where run_id = $1`, [id])).toBe(want.length);
  expect(await count(pg, `select count(*) as n from sync.run_events where msg_id = $1`, [`run:${id}:started`])).toBe(1);
  expect(await count(pg, `select count(*) as n from sync.run_events where msg_id = $1`, [`run:${id}:completed`])).toBe(1);
  expect(await count(pg, `select count(*) as n from sync.run_events where msg_id = $1`, [`run:${id}:failed`])).toBe(0);
}

test('the catalog stopped mid-run and started again: the run waits, then completes; no attempt spent', async () => {
  const id = await fullRunUnderWay();
  await cat.stop();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  expect(statusName((await client.getRun({ id })).run!.status)).toBe('PROCESSING');
  expect(orch!.engine!.dependencies().catalog.state).not.toBe('closed');
  cat = await startCatalogProcess(db.url, { port: cat.port });
  await expectRodeItOut(id, /the catalog service is unavailable/);
  expect(orch!.engine!.dependencies().catalog.state).toBe('closed');
});

test('the gateway stopped mid-run and started again: the run waits, then completes; no attempt spent', async () => {
  const id = await fullRunUnderWay();
  await gw.stop();
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  expect(statusName((await client.getRun({ id })).run!.status)).toBe('PROCESSING');
  gw = await startGatewayProcess(sim.url, { env: GATEWAY_ENV, port: gw.port });
  await expectRodeItOut(id, /the haier-gateway is unavailable/);
});

test('Haier answering 503 to everything for a while: the run waits, then completes; no attempt spent', async () => {
  const id = await fullRunUnderWay();
  sim.control.faults({ rate503: 1 });
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  expect(statusName((await client.getRun({ id })).run!.status)).toBe('PROCESSING');
  expect(orch!.engine!.dependencies().haier.state).not.toBe('closed');
  expect(orch!.engine!.dependencies().gateway.state).toBe('closed');
  sim.control.clearFaults();
  await expectRodeItOut(id, /Haier \(through the gateway\) is unavailable.*HTTP 503/);
});

test('a stock call failing twice then succeeding: the product is synced, not failed', async () => {
  const code = listed()[0]!.productCode;
  // the gateway tries each stock call twice (HAIER_MAX_RETRIES=1): 4 answers of 503 fail its GetStocks twice
  sim.control.resetStats();
  sim.control.faults({ failNext: { status: 503, count: 4, endpoint: 'stock' } });
  const id = (await client.startRun({ syncType: sync.SyncType.MANUAL, scope: { productCodes: [code] }, options: { stock: true, countyCodes: ['110101'] }, startedBy: 'outage-test' })).run!.id;
  const run = await waitForRun(client, id, 60_000);
  sim.control.clearFaults();
  expect({ status: statusName(run.status), failed: run.counts?.failed, items: run.failedItems }).toEqual({ status: 'SUCCESS', failed: 0n, items: [] });
  expect(sim.control.stats().byEndpoint['stock']).toEqual({ fault_503: 4, ok: 1 });
  expect(await count(pg, `select count(*) as n from sync.run_batches where run_id = $1 and attempts > 1`, [id])).toBe(0);
  const stock = await pg.query<{ quantity: string }>(`select quantity::text from catalog.product_stock where product_code = $1 and county_code = '110101'`, [code]);
  expect(stock.rows).toHaveLength(1);
});

test('an outage longer than SYNC_DEPENDENCY_PATIENCE fails the run naming the dependency and since when; a rerun completes', async () => {
  await orch!.close();
  await startOrch({ SYNC_DEPENDENCY_PATIENCE: '8s' }); // more than the breaker's longest wait between probes (5 s)
  const id = await fullRunUnderWay(2);
  const before = Date.now();
  await cat.stop();
  const run = await waitForRun(client, id, 60_000);
  expect(statusName(run.status)).toBe('FAILED');
  expect(run.message).toMatch(/the catalog service has been unavailable since \d{4}-\d\d-\d\dT[\d:.]+Z \(longer than SYNC_DEPENDENCY_PATIENCE, 8 s\).*bring it back and start the run again/);
  const since = Date.parse(/since (\S+) /.exec(run.message)![1]!);
  expect(since).toBeGreaterThanOrEqual(before - 1_000);
  expect(Date.now() - since).toBeLessThan(30_000);
  // the products it did not reach are not failed for it
  expect(await count(pg, `select count(*) as n from sync.run_failures where run_id = $1`, [id])).toBe(0);

  cat = await startCatalogProcess(db.url, { port: cat.port });
  const rerun = await waitForRun(client, (await client.startRun({ mode: sync.RunMode.FULL, startedBy: 'outage-test' })).run!.id, 120_000);
  expect(statusName(rerun.status)).toBe('SUCCESS');
  expect(await count(pg, `select count(*) as n from catalog.product`)).toBe(listed().length);
});
