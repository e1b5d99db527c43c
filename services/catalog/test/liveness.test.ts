// Liveness apart from readiness, on the built catalog as deployed (node dist/main.js), asked
// over gRPC the way the k8s probes and the container health check ask: with its database gone,
// readiness ("") is NOT_SERVING while liveness ("liveness") stays SERVING, so the pod leaves the
// Service's endpoints but is not restarted. Needs `pnpm build` first.
import { spawn, type ChildProcess } from 'node:child_process';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { health } from '@haier-sync/contracts';
import { closeGrpcClients, createGrpcClient, LIVENESS_SERVICE } from '@haier-sync/runtime';
import { createTestDatabase, deployedService, freePort, testAuth, waitFor, type TestDatabase } from '@haier-sync/runtime/testing';

const REPO = join(__dirname, '..', '..', '..');
const PROBE = join(REPO, 'packages/runtime/dist/health-probe.js');
const { HealthCheckResponse_ServingStatus: Status } = health;
const run = promisify(execFile);

/** What `node health-probe.js <port> [service]` (the container health check) exits with. */
async function probeExit(port: number, service: string): Promise<number> {
  try {
    await run(process.execPath, [PROBE, String(port), service, '2000']);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('catalog liveness and readiness over gRPC health', () => {
  let db: TestDatabase;
  let child: ChildProcess;
  let port: number;
  let output = '';

  beforeAll(async () => {
    db = await createTestDatabase('hs_liveness');
    port = await freePort();
    const { args, cwd } = deployedService(REPO, 'services/catalog');
    child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...testAuth().env(), DATABASE_URL: db.url, CATALOG_PORT: String(port), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const h = createGrpcClient(health.Health, { baseUrl: `http://127.0.0.1:${port}` });
    await waitFor(async () => (await h.check({}, { timeoutMs: 1000 })).status === Status.SERVING, { timeoutMs: 30_000, what: 'the catalog to be ready' });
  }, 60_000);

  afterAll(async () => {
    closeGrpcClients();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await db?.drop();
  });

  it('with Postgres answering, both readiness and liveness are SERVING', async () => {
    const h = createGrpcClient(health.Health, { baseUrl: `http://127.0.0.1:${port}` });
    expect((await h.check({ service: '' })).status).toBe(Status.SERVING);
    expect((await h.check({ service: 'haiersync.catalog.v1.CatalogService' })).status).toBe(Status.SERVING);
    expect((await h.check({ service: LIVENESS_SERVICE })).status).toBe(Status.SERVING);
  });

  it('with its database gone, readiness is NOT_SERVING and liveness stays SERVING; the probe command agrees', async () => {
    await db.drop(); // terminates the catalog's connections; every query now fails
    const h = createGrpcClient(health.Health, { baseUrl: `http://127.0.0.1:${port}` });
    expect((await h.check({ service: '' })).status).toBe(Status.NOT_SERVING);
    expect((await h.check({ service: 'haiersync.catalog.v1.CatalogService' })).status).toBe(Status.NOT_SERVING);
    expect((await h.check({ service: LIVENESS_SERVICE })).status).toBe(Status.SERVING);
    // the container health check's command: exit 1 for readiness, 0 for liveness
    expect(await probeExit(port, '')).toBe(1);
    expect(await probeExit(port, LIVENESS_SERVICE)).toBe(0);
    // and the process is still the one that started: it did not crash on the lost connections
    expect(child.exitCode).toBeNull();
    expect(output).not.toMatch(/uncaught|unhandled/i);
  }, 30_000);
});
