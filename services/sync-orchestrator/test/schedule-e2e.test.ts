// The triggers with the real engine (A's startOrchestrator over the simulator, gateway, catalog,
// Postgres and NATS): an empty catalog at start gets a FIRST_DEPLOY FULL that fills it and
// publishes one `created` per product; activating a config runs a CONFIG_CHANGE FULL that writes
// nothing on an unchanged catalog; a catalog broken behind the service's back fails its integrity
// check, and the INTEGRITY FULL repairs it.
import { sync } from '@haier-sync/contracts';
import { TEST_NATS_URL, waitFor } from '@haier-sync/runtime/testing';
import { connect, type NatsConnection } from 'nats';
import { deleteStreams, streamSpecs } from '../src/events';
import { startStack, waitForRun, type Stack } from './stack';
import { allMessages, streamCount } from './support/streams';

jest.setTimeout(300_000);

let stack: Stack;
let nc: NatsConnection;

beforeAll(async () => {
  stack = await startStack({ sim: { size: 40, seed: 4242 }, env: { SYNC_FIRST_DEPLOY: 'true', SYNC_PUBLISHER_ENABLED: 'true' } });
  nc = await connect({ servers: TEST_NATS_URL });
});

afterAll(async () => {
  await stack?.close();
  if (nc) {
    await deleteStreams(nc, stack?.prefix ?? '').catch(() => undefined);
    await nc.close();
  }
});

async function onlyRun(trigger: sync.RunTrigger): Promise<sync.Run> {
  const runs = await waitFor(
    async () => {
      const r = (await stack.sync.listRuns({ trigger })).runs;
      return r.length > 0 ? r : undefined;
    },
    { timeoutMs: 60_000, what: `a run with trigger ${sync.RunTrigger[trigger]}` },
  );
  expect(runs).toHaveLength(1);
  return waitForRun(stack.sync, runs[0]!.id, 180_000);
}

/** Waits until the publisher has put every catalog change on NATS (lag 0), so a count of the stream is final. */
async function catalogLogDrained(): Promise<void> {
  await waitFor(
    async () => {
      const log = (await stack.sync.getEventsStatus({})).logs.find((l) => l.name === 'catalog');
      return log && !log.error && log.headSeq > 0n && log.lag === 0n ? true : undefined;
    },
    { timeoutMs: 60_000, what: 'the catalog change log on NATS (lag 0)' },
  );
}

test('empty catalog at start -> FIRST_DEPLOY FULL fills it, one created event per product', async () => {
  const run = await onlyRun(sync.RunTrigger.FIRST_DEPLOY);
  expect(run.status).toBe(sync.RunStatus.SUCCESS);
  expect(run.mode).toBe(sync.RunMode.FULL);
  const stats = await stack.catalog.stats({});
  expect(stats.products).toBeGreaterThan(0n);
  expect(run.counts?.created).toBe(stats.products);

  const jsm = await nc.jetstreamManager();
  const specs = streamSpecs(stack.prefix);
  await waitFor(async () => (await streamCount(jsm, specs.catalog.name).catch(() => 0)) >= Number(stats.products), { timeoutMs: 60_000, what: 'the created events' });
  const created = (await allMessages(jsm, specs.catalog.name)).filter((m) => m.subject.endsWith('catalog.product.created'));
  expect(created).toHaveLength(Number(stats.products));
  expect(new Set(created.map((m) => m.header?.get('Nats-Msg-Id'))).size).toBe(created.length);
  await waitFor(async () => (await allMessages(jsm, specs.sync.name).catch(() => [])).some((m) => m.header?.get('Nats-Msg-Id') === `run:${run.id}:completed`), {
    timeoutMs: 60_000,
    what: 'the run completed event',
  });
});

test('activating a config -> CONFIG_CHANGE FULL by the engine; unchanged catalog: nothing written, no catalog event', async () => {
  const jsm = await nc.jetstreamManager();
  const specs = streamSpecs(stack.prefix);
  // the FIRST_DEPLOY run's price and stock events may still be on their way
  await catalogLogDrained();
  const before = await streamCount(jsm, specs.catalog.name);
  const cfg = (await stack.sync.createConfig({ name: 'sim', environment: 'test', settings: { base_url: stack.sim.url, client_secret_env: 'HAIER_CLIENT_SECRET' } })).config!;
  const res = await stack.sync.activateConfig({ id: cfg.id });
  expect(res.triggeredRunId).not.toBe('');
  const run = await waitForRun(stack.sync, res.triggeredRunId, 180_000);
  expect(run.trigger).toBe(sync.RunTrigger.CONFIG_CHANGE);
  expect(run.status).toBe(sync.RunStatus.SUCCESS);
  expect(run.counts?.created).toBe(0n);
  expect(run.counts?.updated).toBe(0n);
  await waitFor(async () => (await allMessages(jsm, specs.sync.name)).some((m) => m.header?.get('Nats-Msg-Id') === `run:${run.id}:completed`), { timeoutMs: 60_000, what: 'the run completed event' });
  await catalogLogDrained();
  expect(await streamCount(jsm, specs.catalog.name)).toBe(before);
});

test('a catalog broken behind the service fails its integrity check -> INTEGRITY FULL repairs it', async () => {
  // break one product's display price in the database directly (what integrity checks exist for)
  const row = await stack.pg.query<{ code: string }>(`select code from catalog.product where delisted_at is null and display_price is not null order by code limit 1`);
  const code = row.rows[0]!.code;
  await stack.pg.query(`update catalog.product set display_price = display_price + 100 where code = $1`, [code]);
  // and another's invoice price: the content hash still says "as Haier sent it", so only marking
  // it for repair makes the FULL rewrite it
  const other = await stack.pg.query<{ code: string; invoice_price: string }>(
    `select code, invoice_price::text from catalog.product where delisted_at is null and invoice_price is not null and supply_price is not null and code <> $1 order by code limit 1`,
    [code],
  );
  const invoiceCode = other.rows[0]!.code;
  const goodInvoice = other.rows[0]!.invoice_price;
  await stack.pg.query(`update catalog.product set invoice_price = invoice_price + 7 where code = $1`, [invoiceCode]);
  const broken = await stack.catalog.checkIntegrity({});
  expect(broken.ok).toBe(false);
  expect(broken.findings.map((f) => f.check)).toEqual(expect.arrayContaining(['display_price_priority', 'invoice_price_formula']));

  const fired = await stack.orch!.scheduler!.fire('integrity');
  expect(fired.fired).toBe(true);
  expect(fired.runId).toBeTruthy();
  const run = await waitForRun(stack.sync, fired.runId!, 180_000);
  expect(run.trigger).toBe(sync.RunTrigger.INTEGRITY);
  expect(run.mode).toBe(sync.RunMode.FULL);
  expect(run.status).toBe(sync.RunStatus.SUCCESS);
  expect(run.counts?.updated).toBeGreaterThanOrEqual(1n);
  expect((await stack.catalog.checkIntegrity({})).ok).toBe(true);
  const repaired = await stack.pg.query<{ invoice_price: string }>(`select invoice_price::text from catalog.product where code = $1`, [invoiceCode]);
  expect(repaired.rows[0]!.invoice_price).toBe(goodInvoice);
});
