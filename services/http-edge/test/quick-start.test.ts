// The README's first quick-start command runs the product: build, then scripts/start.mjs brings up
// the simulator and every service as deployed, a first sync fills the catalog, and the URL it
// prints serves the operator console. Here on free ports, its own database and stream names, a
// small simulator catalog; Ctrl-C (SIGTERM) stops everything cleanly.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { Code, ConnectError } from '@connectrpc/connect';
import { catalog } from '@haier-sync/contracts';
import { createGrpcClient } from '@haier-sync/runtime';
import { createTestDatabase, freePort, TEST_NATS_URL, uniqueId, waitFor, type TestDatabase } from '@haier-sync/runtime/testing';
import { deleteStreamsUnder } from './stack';

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, '..', '..', '..');
const ADMIN_KEY = 'hs_QuickStartAdminKeyForTests0123456789abcd';
const SIM_SIZE = 450;

let db: TestDatabase;
let child: ChildProcess | undefined;
let output = '';
const prefix = `${uniqueId('qs')}.`;

/** `pnpm run build` with the pnpm running this test (npm_execpath), else the one on PATH. */
async function build(): Promise<void> {
  const pnpm = process.env.npm_execpath;
  const [cmd, args] = pnpm && /pnpm/.test(pnpm) ? [process.execPath, [pnpm, 'run', 'build']] : ['pnpm', ['run', 'build']];
  await promisify(execFile)(cmd, args, { cwd: ROOT, timeout: 240_000, maxBuffer: 16 * 1024 * 1024 });
}

beforeAll(async () => {
  // the test command (test:all) builds everything just before jest and says so: building again
  // here would only spend two cores' worth of a minute and rewrite dist/ under the other suites
  const built = process.env.HAIER_SYNC_BUILT === '1';
  [db] = await Promise.all([createTestDatabase('hs_quickstart'), built ? Promise.resolve() : build()]);
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  // the streams the run made: every stream whose subjects are all under this test's prefix
  await deleteStreamsUnder(TEST_NATS_URL, prefix);
  await db?.drop();
});

test('npm start: simulator + services as deployed (internal gRPC on loopback, only with a service token), a first sync, the console at the URL it prints, a short stream at INFO (banner near the end, the first-sync line, far fewer lines than upstream calls); SIGTERM stops it all', async () => {
  const [sim, gw, cat, sync, edge] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SIM_PORT: String(sim),
    SIM_SIZE: String(SIM_SIZE),
    GATEWAY_PORT: String(gw),
    CATALOG_PORT: String(cat),
    SYNC_PORT: String(sync),
    EDGE_PORT: String(edge),
    EDGE_HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    NATS_URL: TEST_NATS_URL,
    NATS_SUBJECT_PREFIX: prefix,
    EDGE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
  };
  // the default level (INFO), as a user sees it
  for (const k of ['LOG_LEVEL', 'HAIER_BASE_URL', 'HAIER_TOKEN_URL', 'NODE_OPTIONS', 'GATEWAY_URL', 'CATALOG_URL', 'SYNC_URL']) delete env[k];
  const proc = spawn(process.execPath, ['scripts/start.mjs'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child = proc;
  proc.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));

  // the banner names the URL to open
  const url = await waitFor(() => new RegExp(`Open\\s+(http://127\\.0\\.0\\.1:${edge}/)`).exec(output)?.[1], {
    timeoutMs: 120_000,
    intervalMs: 250,
    what: `the "Open http://127.0.0.1:${edge}/" line (output so far:\n${output.slice(-2000)})`,
  });
  expect(output).toMatch(/against the Haier SIMULATOR \(a development stand-in, not Haier\)/);
  // an admin key given in the environment is never printed: the banner says where it is
  expect(output).toMatch(/Admin API key\s+the one in EDGE_BOOTSTRAP_ADMIN_KEY \(not printed\)/);
  expect(output).not.toContain(ADMIN_KEY);
  const page = await fetch(url);
  expect(page.status).toBe(200);
  expect(await page.text()).toMatch(/<html/i);

  // the first-deployment FULL run fills the catalog from the simulator
  const api = (path: string) => fetch(`${url}api/haier${path}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }).then((r) => r.json() as Promise<Record<string, unknown>>);
  const run = await waitFor(
    async () => ((await api('/sync/?status=SUCCESS')).results as Array<{ mode: string; counts: Record<string, number> }> | undefined)?.find((r) => r.mode === 'FULL'),
    { timeoutMs: 120_000, intervalMs: 500, what: 'the first FULL run to succeed' },
  );
  const listed = ((await fetch(`http://127.0.0.1:${sim}/__sim/config`).then((r) => r.json())) as { listedCount: number }).listedCount;
  expect(run.counts).toMatchObject({ total: listed, created: listed, failed: 0 });
  const products = await api('/catalog/products/?page_size=500');
  expect((products.results as unknown[]).length).toBe(listed);

  // a short, readable stream: the banner among the last lines, the first sync's line with its
  // counts, and far fewer lines than upstream calls (the gateway sums its calls up per endpoint)
  await waitFor(() => /FULL PRODUCTS run \S+ completed: \d+ products/.test(output), { timeoutMs: 10_000, what: 'the first sync line' });
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  expect(lines.slice(-15).some((l) => l.includes(`Open            http://127.0.0.1:${edge}/`))).toBe(true);
  expect(output).toMatch(new RegExp(`FULL PRODUCTS run \\S+ completed: ${listed} products, ${listed} created`));
  const simStats = (await fetch(`http://127.0.0.1:${sim}/__sim/stats`).then((r) => r.json())) as { total: number; tokenRequests: number };
  const upstreamCalls = simStats.total + simStats.tokenRequests;
  expect(upstreamCalls).toBeGreaterThan(listed);
  expect(lines.length * 5).toBeLessThan(upstreamCalls); // ~45 lines (most of them start-up) for ~480 calls; was one line per call
  // the service keys it made, and internal services that answer nobody without a token, on loopback only
  expect(existsSync(resolve(ROOT, '.data/service-auth/trusted/http-edge.pub.pem'))).toBe(true);
  const anonymous = await createGrpcClient(catalog.CatalogService, { baseUrl: `http://127.0.0.1:${cat}` }).stats({}).catch((e: unknown) => ConnectError.from(e));
  expect(anonymous).toBeInstanceOf(ConnectError);
  expect((anonymous as ConnectError).code).toBe(Code.Unauthenticated);
  const outside = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
  if (outside) {
    for (const port of [gw, cat, sync]) {
      const reached = await new Promise<boolean>((done) => {
        const s = tcpConnect(port, outside);
        s.once('connect', () => (s.destroy(), done(true)));
        s.once('error', () => done(false));
      });
      expect({ port, reached }).toEqual({ port, reached: false });
    }
  }

  // Ctrl-C / SIGTERM: every process stops cleanly and the script exits 0
  proc.kill('SIGTERM');
  expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 30_000))])).toBe(0);
  expect(output).toMatch(/Stopping…/);
  expect(output).not.toContain(ADMIN_KEY);
});
