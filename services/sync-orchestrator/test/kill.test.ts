// kill -9 of the orchestrator process in the middle of a full sync, then a restart: the run is
// taken up again (its leases expire), completes, the catalog is exact, and the event streams
// hold one `created` event per product and one lifecycle event of each kind: none missing, none
// twice (counted by Nats-Msg-Id); Haier served no more calls than the run reports beyond its
// retries and the batches cut off by the kill.
import { sync } from '@haier-sync/contracts';
import { waitFor } from '@haier-sync/runtime/testing';
import type { NatsConnection } from 'nats';
import { streamSpecs } from '../src/events';
import { count, readStream, startStack, statusName, waitForRun, type Stack } from './stack';

jest.setTimeout(180_000);

const SIZE = 2000;

describe('kill -9 in the middle of a full sync', () => {
  let stack: Stack;
  let nc: NatsConnection;
  beforeAll(async () => {
    stack = await startStack({
      orchestrator: 'child',
      sim: { size: SIZE, seed: 21, latencyMs: 100 },
      env: { SYNC_PUBLISHER_ENABLED: 'true', SYNC_CONCURRENCY: '4', SYNC_LEASE_SECONDS: '4' },
    });
    nc = await stack.nats();
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('the run completes after a restart; catalog exact; every event once', async () => {
    const started = await stack.sync.startRun({ mode: sync.RunMode.FULL, startedBy: 'test' });
    const id = started.run!.id;
    await waitFor(async () => Number((await stack.sync.getRun({ id })).run?.counts?.batchesDone ?? 0) >= 20, { timeoutMs: 90_000, intervalMs: 100, what: '20 batches done' });
    await stack.killChild();
    const mid = await stack.pg.query<{ status: string; batches_done: string; batches_total: string }>(`select status, batches_done, batches_total from sync.runs where id = $1`, [id]);
    expect(mid.rows[0]!.status).toBe('PROCESSING');
    expect(Number(mid.rows[0]!.batches_done)).toBeLessThan(Number(mid.rows[0]!.batches_total));
    const openAtKill = await count(stack.pg, `select count(*) as n from sync.run_batches where run_id = $1 and status <> 'done'`, [id]);
    expect(openAtKill).toBeGreaterThan(0);

    await stack.startChild();
    const run = await waitForRun(stack.sync, id, 120_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    const listed = stack.sim.control.products(0, SIZE).filter((p) => p.listed);
    expect(run.counts?.total).toBe(BigInt(listed.length));
    expect(run.counts?.succeeded).toBe(BigInt(listed.length));
    // a batch cut off after its upsert committed comes back UNCHANGED on retry
    expect(Number(run.counts?.created) + Number(run.counts?.unchanged)).toBe(listed.length);
    expect(run.counts?.batchesDone).toBe(run.counts?.batchesTotal);

    // the catalog is exact: every listed product, once, with Haier's prices
    expect(await count(stack.pg, `select count(*) as n from catalog.product`)).toBe(listed.length);
    const rows = await stack.pg.query<{ code: string; supply_price: string | null; invoice_price: string | null }>(`select code, supply_price::text, invoice_price::text from catalog.product`);
    const byCode = new Map(rows.rows.map((r) => [r.code, r]));
    for (const s of listed) {
      const r = byCode.get(s.productCode);
      expect(r).toBeDefined();
      expect(r!.supply_price === null ? undefined : Number(r!.supply_price)).toBe(s.supplyPrice === undefined ? undefined : Number(s.supplyPrice));
      expect(r!.invoice_price === null ? undefined : Number(r!.invoice_price)).toBe(s.invoicePrice === undefined ? undefined : Number(s.invoicePrice));
    }
    expect(await count(stack.pg, `select count(*) as n from catalog.change_log where kind = 'created'`)).toBe(listed.length);

    // Haier served the calls the run reports, plus the gateway's logged retries, plus at most the
    // calls of the batches in flight at the kill (SYNC_CONCURRENCY of them, one prices call each):
    // the calls the dead orchestrator had queued at the gateway were abandoned, not made
    const served = stack.sim.control.stats().total;
    const reported = Number(run.counts?.upstreamCalls);
    const retries = Number((await stack.gateway.getUsage({})).retries);
    expect(served).toBeGreaterThanOrEqual(reported);
    expect(served - reported).toBeLessThanOrEqual(retries + 4);

    // events: wait until the publisher has relayed the whole change log and the run's end
    const specs = streamSpecs(stack.prefix);
    const jsm = await nc.jetstreamManager();
    const changes = await count(stack.pg, `select count(*) as n from catalog.change_log`);
    await waitFor(
      async () => {
        const c = await jsm.streams.info(specs.catalog.name).catch(() => undefined);
        const s = await jsm.streams.info(specs.sync.name).catch(() => undefined);
        const completed = await count(stack.pg, `select count(*) as n from sync.run_events where subject = 'sync.run.completed'`);
        return c && s && c.state.messages >= changes && completed === 1 && s.state.messages >= (await count(stack.pg, `select count(*) as n from sync.run_events`));
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the publisher to catch up' },
    );
    const catalogEvents = await readStream(nc, specs.catalog.name);
    const ids = catalogEvents.map((e) => e.msgId);
    expect(new Set(ids).size).toBe(ids.length);
    const created = catalogEvents.filter((e) => e.subject.endsWith('catalog.product.created'));
    expect(created).toHaveLength(listed.length);
    expect(new Set(created.map((e) => e.msgId.split(':')[0]))).toEqual(new Set(listed.map((p) => p.productCode)));
    const runEvents = await readStream(nc, specs.sync.name);
    const runIds = runEvents.map((e) => e.msgId);
    expect(new Set(runIds).size).toBe(runIds.length);
    expect(runEvents.filter((e) => e.subject.endsWith('sync.run.started'))).toHaveLength(1);
    expect(runEvents.filter((e) => e.subject.endsWith('sync.run.completed'))).toHaveLength(1);
    expect(runEvents.filter((e) => e.subject.endsWith('sync.run.progress')).length).toBeGreaterThan(0);
  });
});

// Issue: every claim used to spend an attempt, so a batch in flight at 3 kills failed its codes
// ("failed after 3 attempts: the worker stopped (lease expired)"). A worker's death spends a
// claim, not an attempt: five kills, each while a batch that was in flight at every kill before
// is in flight again, end SUCCESS with no failed code and no attempt spent.
describe('kill -9 five times during a run', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      orchestrator: 'child',
      sim: { size: 600, seed: 22, latencyMs: 150 },
      env: { SYNC_CONCURRENCY: '4', SYNC_LEASE_SECONDS: '3', SYNC_MAX_ATTEMPTS: '3' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('SUCCESS, no failed codes, no attempt spent; the batch killed under five times was claimed six times', async () => {
    const started = await stack.sync.startRun({ mode: sync.RunMode.FULL, startedBy: 'test' });
    const id = started.run!.id;
    const maxClaims = (): Promise<number> => count(stack.pg, `select coalesce(max(claims), 0) as n from sync.run_batches where run_id = $1 and status = 'claimed'`, [id]);
    for (let kill = 1; kill <= 5; kill++) {
      // a batch that was in flight at every kill so far is in flight again (claimed kill times)
      await waitFor(async () => (await maxClaims()) >= kill, { timeoutMs: 60_000, intervalMs: 50, what: `a batch claimed ${kill} times in flight` });
      await stack.killChild();
      expect((await stack.pg.query<{ status: string }>(`select status from sync.runs where id = $1`, [id])).rows[0]!.status).toBe('PROCESSING');
      await stack.startChild();
    }
    const run = await waitForRun(stack.sync, id, 120_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    const listed = stack.sim.control.products(0, 600).filter((p) => p.listed).length;
    expect(run.counts?.failed).toBe(0n);
    expect(run.failedItems).toEqual([]);
    expect(run.counts?.succeeded).toBe(BigInt(listed));
    expect(Number(run.counts?.created) + Number(run.counts?.updated) + Number(run.counts?.unchanged)).toBe(listed);
    const batches = await stack.pg.query<{ attempts: number; claims: number; status: string }>(`select attempts, claims, status from sync.run_batches where run_id = $1`, [id]);
    expect(batches.rows.every((b) => b.status === 'done')).toBe(true);
    expect(batches.rows.every((b) => b.attempts === 0)).toBe(true);
    expect(Math.max(...batches.rows.map((b) => b.claims))).toBeGreaterThanOrEqual(6);
    expect(await count(stack.pg, `select count(*) as n from catalog.product`)).toBe(listed);
  });
});
