import { health } from '@haier-sync/contracts';
import { createGrpcClient } from '@haier-sync/runtime';
import { ADMIN_DATABASE_URL, createTestDatabase, startCatalogProcess, waitFor } from '@haier-sync/runtime/testing';
import { Client as PgClient } from 'pg';
import { product, startHarness, type Harness } from './harness';

const { HealthCheckResponse_ServingStatus: Status } = health;

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

describe('CheckIntegrity', () => {
  it('CheckIntegrity finds data that cannot be right', async () => {
    const clean = await h.client.checkIntegrity({});
    expect(clean.findings).toEqual([]);
    expect(clean.ok).toBe(true);
    await h.client.upsertProducts({ products: [product('IN1'), product('IN2'), product('IN3', { productBrandName: '' })], runId: 'in' });
    await h.pg.query(`update catalog.product set invoice_price = 1 where code = 'IN1'`);
    await h.pg.query(`update catalog.product set stock = -3, display_price = 5 where code = 'IN2'`);
    const r = await h.client.checkIntegrity({ sampleLimit: 5 });
    expect(r.ok).toBe(false);
    expect(r.findings.map((f) => [f.check, f.count, f.sampleCodes])).toEqual([
      ['invoice_price_formula', 1n, ['IN1']],
      ['missing_brand', 1n, ['IN3']],
      ['negative_stock', 1n, ['IN2']],
      ['display_price_priority', 1n, ['IN2']],
    ]);
  });
  it('reports SERVING over gRPC health while the database answers, NOT_SERVING while it refuses connections, SERVING again after', async () => {
    // the catalog as deployed, in its own process, on its own database
    const db = await createTestDatabase('hs_catalog_health');
    const proc = await startCatalogProcess(db.url);
    const admin = new PgClient({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    try {
      const hc = createGrpcClient(health.Health, { baseUrl: proc.url });
      const check = async (service = '') => (await hc.check({ service }, { timeoutMs: 10_000 })).status;
      expect(await check()).toBe(Status.SERVING);
      expect(await check('haiersync.catalog.v1.CatalogService')).toBe(Status.SERVING);
      // the database goes away for the catalog (the machine's Postgres stays up): no new
      // connections to it, and the catalog's open ones are ended
      await admin.query(`alter database "${db.name}" with allow_connections false`);
      await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()', [db.name]);
      await waitFor(async () => (await check()) === Status.NOT_SERVING, { timeoutMs: 20_000, what: 'NOT_SERVING while the database refuses connections' });
      expect(await check('haiersync.catalog.v1.CatalogService')).toBe(Status.NOT_SERVING);
      expect(proc.child.exitCode).toBeNull(); // a database outage is no reason to die
      await admin.query(`alter database "${db.name}" with allow_connections true`);
      await waitFor(async () => (await check()) === Status.SERVING, { timeoutMs: 20_000, what: 'SERVING again once the database answers' });
    } finally {
      await admin.query(`alter database "${db.name}" with allow_connections true`).catch(() => undefined);
      await admin.end();
      await proc.stop();
      await db.drop();
    }
  });
});
