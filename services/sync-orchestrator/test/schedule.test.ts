// Triggers and schedule: cron settings from the environment (defaults, a bad one named), cron
// ticks fired once across replicas, FIRST_DEPLOY FULL on an empty catalog, INTEGRITY FULL when
// the catalog's integrity check fails. Real catalog process, real Postgres, the real scheduler
// (short crons, and fire() at a given instant) and the real runs API's StartRun (its runs stay
// PENDING: no engine works on them here; the engine has its own tests), with each request
// recorded.
import { create } from '@bufbuild/protobuf';
import { catalog, sync } from '@haier-sync/contracts';
import { ConfigError, createLogger } from '@haier-sync/runtime';
import { captureLogs, type CatalogProcess, createTestDatabase, sampleProduct, startCatalogProcess, type TestDatabase, waitFor } from '@haier-sync/runtime/testing';
import type { MikroORM } from '@mikro-orm/postgresql';
import { DEFAULT_CRONS, loadSchedule, scheduleState, startScheduler, type Scheduler } from '../src/schedule';
import { knexOf } from '../src/db';
import { createRunsApi, type RunsApi } from '../src/runs/api';
import { syncOrm } from './support/sync-db';

jest.setTimeout(180_000);

const logger = createLogger('schedule-test', { level: 'silent' });

const product = sampleProduct;

describe('schedule settings (pure)', () => {
  test('defaults: daily FULL, hourly prices, 15-minute low stock, hourly integrity (UTC)', () => {
    expect(loadSchedule({})).toEqual({ full: '0 3 * * *', prices: '0 * * * *', low_stock: '*/15 * * * *', integrity: '30 * * * *' });
    expect(loadSchedule({ SYNC_SCHEDULE_PRICES: '', SYNC_SCHEDULE_FULL: '15 2 * * 0' })).toMatchObject({ full: '15 2 * * 0', prices: DEFAULT_CRONS.prices });
    expect(loadSchedule({ SYNC_SCHEDULE_LOW_STOCK: 'off' }).low_stock).toBeNull();
  });

  test('an invalid cron is a ConfigError naming the variable, the value and an example', () => {
    let err: unknown;
    try {
      loadSchedule({ SYNC_SCHEDULE_PRICES: 'every hour' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).variables).toEqual(['SYNC_SCHEDULE_PRICES']);
    expect((err as Error).message).toMatch(/^Invalid configuration: SYNC_SCHEDULE_PRICES: expected a cron expression .*"0 3 \* \* \*".*got "every hour"/);

    // several at once: all named in one message
    try {
      loadSchedule({ SYNC_SCHEDULE_FULL: '61 * * * *', SYNC_SCHEDULE_LOW_STOCK: '*/15 * *' });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).variables).toEqual(['SYNC_SCHEDULE_FULL', 'SYNC_SCHEDULE_LOW_STOCK']);
      expect((e as Error).message).toContain('SYNC_SCHEDULE_FULL');
      expect((e as Error).message).toContain('SYNC_SCHEDULE_LOW_STOCK');
    }
  });
});

describe('scheduler and triggers', () => {
  let db: TestDatabase;
  let cat: CatalogProcess;
  let orm: MikroORM;
  let runs: RunsApi;
  const running: Scheduler[] = [];

  /** The runs API's StartRun, recording each request. */
  function recordingStartRun() {
    const calls: sync.StartRunRequest[] = [];
    return Object.assign((req: sync.StartRunRequest) => (calls.push(req), runs.startRun(req)), { calls });
  }

  beforeAll(async () => {
    db = await createTestDatabase('hs_sync_schedule');
    [cat, orm] = await Promise.all([startCatalogProcess(db.url), syncOrm(db.url)]);
    runs = createRunsApi({ knex: knexOf(orm), logger, counties: ['110101'], kick: () => undefined });
  });

  afterEach(async () => {
    for (const s of running.splice(0)) await s.stop();
    // runs a test started end here (cancelled), so the next test's FULL is a new run
    const active = await runs.listRuns(create(sync.ListRunsRequestSchema, { pageSize: 100 }));
    for (const r of active.runs) if (r.status === sync.RunStatus.PENDING || r.status === sync.RunStatus.PROCESSING) await runs.cancelRun(r.id, 'schedule-test');
  });

  afterAll(async () => {
    await orm?.close(true);
    await cat?.stop();
    await db?.drop();
  });

  const off = { full: null, prices: null, low_stock: null, integrity: null };

  test('startScheduler refuses an invalid cron, naming the variable', () => {
    expect(() => startScheduler({ orm, catalog: cat.client, startRun: recordingStartRun(), logger, counties: [], schedule: { low_stock: '*/99 * * * *' } })).toThrow(
      /SYNC_SCHEDULE_LOW_STOCK: expected a cron expression/,
    );
  });

  test('empty catalog at start -> one FULL run, trigger FIRST_DEPLOY (and no integrity run on top)', async () => {
    const startRun = recordingStartRun();
    const s = startScheduler({ orm, catalog: cat.client, startRun, logger, counties: ['110101'], schedule: off });
    running.push(s);
    const outcomes = await s.startupDone();
    expect(outcomes[0]).toMatchObject({ action: 'started', trigger: sync.RunTrigger.FIRST_DEPLOY, runId: expect.stringMatching(/^\d+$/) });
    const firstId = (outcomes[0] as { runId: string }).runId;
    expect(await runs.getRun(firstId)).toMatchObject({ mode: sync.RunMode.FULL, trigger: sync.RunTrigger.FIRST_DEPLOY, status: sync.RunStatus.PENDING });
    expect(outcomes[1]).toMatchObject({ action: 'none' });
    expect(startRun.calls).toHaveLength(1);
    expect(startRun.calls[0]).toMatchObject({ mode: sync.RunMode.FULL, trigger: sync.RunTrigger.FIRST_DEPLOY, syncType: sync.SyncType.PRODUCTS });
    expect(startRun.calls[0]!.options?.countyCodes).toEqual(['110101']);

    // a second replica starting at the same time is answered the active FULL run, not a new one
    const s2 = startScheduler({ orm, catalog: cat.client, startRun, logger, counties: ['110101'], schedule: off });
    running.push(s2);
    expect((await s2.startupDone())[0]).toMatchObject({ action: 'joined', runId: firstId });
    expect(startRun.calls).toHaveLength(2);
    expect((await runs.listRuns(create(sync.ListRunsRequestSchema, { pageSize: 10 }))).runs).toHaveLength(1);

    // SYNC_FIRST_DEPLOY=false: nothing
    const quiet = recordingStartRun();
    const s3 = startScheduler({ orm, catalog: cat.client, startRun: quiet, logger, counties: [], schedule: off, firstDeploy: false, integrityAtStart: false });
    running.push(s3);
    expect(await s3.startupDone()).toEqual([]);
    expect(quiet.calls).toHaveLength(0);
  });

  test('catalog not reachable at start: the checks wait for it and then run', async () => {
    const startRun = recordingStartRun();
    const { freePort, testClient } = await import('@haier-sync/runtime/testing');
    const port = await freePort();
    // signs as the orchestrator does, so the late catalog answers it
    const unreachable = testClient(catalog.CatalogService, `http://127.0.0.1:${port}`);
    const logs = captureLogs();
    const s = startScheduler({ orm, catalog: unreachable, startRun, logger: createLogger('schedule-test', { level: 'warn', destination: logs.stream }), counties: [], schedule: off });
    running.push(s);
    await waitFor(() => logs.text().includes('start-up first-deploy check failed'), { timeoutMs: 30_000, what: 'the warning about the catalog' });
    expect(logs.text()).toContain('CATALOG_URL');
    expect(startRun.calls).toHaveLength(0);
    // the catalog comes up (empty, on its own database): the first-deploy FULL follows
    const late = await createTestDatabase('hs_sync_late');
    const lateCat = await startCatalogProcess(late.url, { port });
    try {
      const out = await s.startupDone();
      expect(out[0]).toMatchObject({ action: 'started', trigger: sync.RunTrigger.FIRST_DEPLOY });
      expect(startRun.calls).toHaveLength(1);
    } finally {
      await s.stop();
      await lateCat.stop();
      await late.drop();
    }
  });

  test('catalog with products and a failing integrity check -> FULL run, trigger INTEGRITY; passing check -> nothing', async () => {
    // a healthy catalog first
    await cat.client.upsertProducts({ products: [product('SCH001'), product('SCH002')], runId: 'seed' });
    const okRun = recordingStartRun();
    const s1 = startScheduler({ orm, catalog: cat.client, startRun: okRun, logger, counties: [], schedule: off });
    running.push(s1);
    const okOut = await s1.startupDone();
    expect(okOut).toEqual([
      { action: 'none', reason: 'the catalog holds 2 products' },
      expect.objectContaining({ action: 'none', reason: expect.stringMatching(/integrity check passed/) }),
    ]);
    expect(okRun.calls).toHaveLength(0);
    await s1.stop();

    // invoice price breaking the formula: integrity fails
    await cat.client.upsertProducts({ products: [product('SCH003', { supplyPrice: '1000', invoicePrice: '500' })], runId: 'seed' });
    const integrity = await cat.client.checkIntegrity({});
    expect(integrity.ok).toBe(false);
    const startRun = recordingStartRun();
    const s2 = startScheduler({ orm, catalog: cat.client, startRun, logger, counties: ['110101'], schedule: off });
    running.push(s2);
    const out = await s2.startupDone();
    expect(out[1]).toMatchObject({ action: 'started', trigger: sync.RunTrigger.INTEGRITY, reason: expect.stringMatching(/invoice_price_formula: 1 \(e\.g\. SCH003\)/) });
    expect(startRun.calls).toHaveLength(1);
    expect(startRun.calls[0]).toMatchObject({ mode: sync.RunMode.FULL, trigger: sync.RunTrigger.INTEGRITY });

    // the hourly integrity job: still failing, but an INTEGRITY FULL ran moments ago -> cool-down, no second run
    const fired = await s2.fire('integrity');
    expect(fired.fired).toBe(true);
    expect(fired.runId).toBeUndefined();
    expect(startRun.calls).toHaveLength(1);
  });

  test('a cron tick fires its job once across two replicas, with the right request', async () => {
    const startRun = recordingStartRun();
    const every = '* * * * * *'; // every second
    const logs = captureLogs();
    const log = createLogger('schedule-test', { level: 'info', destination: logs.stream });
    const a = startScheduler({ orm, catalog: cat.client, startRun, logger: log, counties: ['110101'], schedule: { ...off, prices: every }, firstDeploy: false, integrityAtStart: false, instanceId: 'replica-a' });
    const b = startScheduler({ orm, catalog: cat.client, startRun, logger: log, counties: ['110101'], schedule: { ...off, prices: every }, firstDeploy: false, integrityAtStart: false, instanceId: 'replica-b' });
    running.push(a, b);
    await waitFor(() => startRun.calls.length >= 3, { timeoutMs: 30_000, what: 'three ticks' });
    await a.stop();
    await b.stop();
    const n = startRun.calls.length;
    expect(startRun.calls.every((c) => c.trigger === sync.RunTrigger.SCHEDULE && c.mode === sync.RunMode.INCREMENTAL && c.syncType === sync.SyncType.PRICES)).toBe(true);
    const rows = await scheduleState(orm).all();
    const prices = rows.find((r) => r.job === 'prices')!;
    expect(['replica-a', 'replica-b']).toContain(prices.fired_by);
    expect(prices.last_run_id).toMatch(/^\d+$/);
    expect((await runs.getRun(prices.last_run_id!)).syncType).toBe(sync.SyncType.PRICES);
    // one run per tick: every fired tick is distinct, and there is one call per fired tick
    const ticks = logs.lines().filter((l) => l.msg === 'scheduled prices job fired').map((l) => String(l.tick));
    expect(ticks).toHaveLength(n);
    expect(new Set(ticks).size).toBe(n);
    // a tick already claimed is not fired again by the other replica
    const tick = new Date(prices.last_fired_at!);
    const again = await a.fire('prices', tick);
    expect(again.fired).toBe(false);
    expect(startRun.calls).toHaveLength(n);
  });

  test('the full, prices and low-stock jobs ask for the right runs', async () => {
    const startRun = recordingStartRun();
    const s = startScheduler({ orm, catalog: cat.client, startRun, logger, counties: ['110101', '310101'], schedule: off, firstDeploy: false, integrityAtStart: false, cronEnabled: false });
    running.push(s);
    const at = new Date('2030-01-01T03:00:00Z');
    const ids = [(await s.fire('full', at)).runId, (await s.fire('prices', at)).runId, (await s.fire('low_stock', at)).runId];
    expect(new Set(ids).size).toBe(3);
    // what was stored is what was asked: a FULL, an hourly prices run and a low-stock run
    const stored = await Promise.all(ids.map((id) => runs.getRun(id!)));
    expect(stored.map((r) => [r.mode, r.syncType, r.trigger])).toEqual([
      [sync.RunMode.FULL, sync.SyncType.PRODUCTS, sync.RunTrigger.SCHEDULE],
      [sync.RunMode.INCREMENTAL, sync.SyncType.PRICES, sync.RunTrigger.SCHEDULE],
      [sync.RunMode.INCREMENTAL, sync.SyncType.STOCK, sync.RunTrigger.LOW_STOCK],
    ]);
    expect(stored[2]!.options?.countyCodes).toEqual(['110101', '310101']);
    const [full, prices, low] = startRun.calls;
    expect(full).toMatchObject({ mode: sync.RunMode.FULL, trigger: sync.RunTrigger.SCHEDULE, syncType: sync.SyncType.PRODUCTS });
    expect(full!.options).toMatchObject({ prices: true, stock: true, countyCodes: ['110101', '310101'] });
    expect(prices).toMatchObject({ mode: sync.RunMode.INCREMENTAL, trigger: sync.RunTrigger.SCHEDULE, syncType: sync.SyncType.PRICES });
    expect(low).toMatchObject({ mode: sync.RunMode.INCREMENTAL, trigger: sync.RunTrigger.LOW_STOCK, syncType: sync.SyncType.STOCK });
    expect(low!.options?.countyCodes).toEqual(['110101', '310101']);
    // the same tick is not fired twice
    expect((await s.fire('full', at)).fired).toBe(false);
    expect(startRun.calls).toHaveLength(3);
  });
});
