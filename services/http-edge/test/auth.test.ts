// Access control and audit: no key → 401, wrong role → 403, revoked → 401 (audited each time);
// the bootstrap admin key, the keys CLI, the per-key rate limit, CORS and the body limit.
import { Client as PgClient } from 'pg';
import { CALLERS, createLogger } from '@haier-sync/runtime';
import { testAuth } from '@haier-sync/runtime/testing';
import { buildCli } from '../src/cli';
import { ADMIN_KEY_LINE, startEdge } from '../src/app';
import { startEdgeStack, type EdgeStack } from './stack';

const BOOTSTRAP = 'hs_BootstrapAdminKeyForTests0123456789abcdef';
let s: EdgeStack;

beforeAll(async () => {
  s = await startEdgeStack({ orchestrator: false, edgeEnv: { EDGE_BOOTSTRAP_ADMIN_KEY: BOOTSTRAP } });
}, 180_000);

afterAll(async () => {
  await s?.close();
});

interface AuditRow {
  key_name: string | null;
  method: string;
  path: string;
  status: number;
  params: Record<string, unknown>;
}

async function auditRows(where: string, params: unknown[]): Promise<AuditRow[]> {
  await s.flushAudit();
  const r = await s.pg.query<AuditRow>(`select key_name, method, path, status, params from edge.audit_log where ${where} order by id`, params);
  return r.rows;
}

// one route per role level, and the methods that change things
const VIEWER_ROUTES: Array<[string, string]> = [
  ['GET', '/api/haier/products/'],
  ['GET', '/api/haier/prices/?product_codes=A1'],
  ['GET', '/api/haier/stock/?product_code=A1&county_code=110101'],
  ['GET', '/api/haier/balance/'],
  ['GET', '/api/haier/logistics/?order_code=SO.1'],
  ['GET', '/api/haier/usage/'],
  ['GET', '/api/haier/logs/'],
  ['GET', '/api/haier/catalog/products/'],
  ['GET', '/api/haier/catalog/products/A1/'],
  ['GET', '/api/haier/catalog/categories/'],
  ['GET', '/api/haier/sync/'],
  ['GET', '/api/haier/sync/1/events/'],
];
const OPERATOR_ROUTES: Array<[string, string]> = [
  ['POST', '/api/haier/sync/'],
  ['POST', '/api/haier/sync/1/cancel/'],
  ['POST', '/api/haier/sync/1/retry-failed/'],
  ['POST', '/api/haier/catalog/products/A1/sync-price/'],
  ['POST', '/api/haier/catalog/products/A1/sync-stock/'],
  ['PUT', '/api/haier/catalog/products/A1/pinned-price/'],
  ['DELETE', '/api/haier/catalog/products/A1/pinned-price/'],
];
const ADMIN_ROUTES: Array<[string, string]> = [
  ['GET', '/api/haier/config/'],
  ['POST', '/api/haier/config/'],
  ['PUT', '/api/haier/config/1/'],
  ['DELETE', '/api/haier/config/1/'],
  ['POST', '/api/haier/config/1/test/'],
  ['POST', '/api/haier/config/1/activate/'],
  ['GET', '/api/haier/keys/'],
  ['POST', '/api/haier/keys/'],
  ['DELETE', '/api/haier/keys/someone/'],
  ['GET', '/api/haier/audit/'],
];

test('no key → 401 on every protected route, with the error shape, and each call is audited', async () => {
  const since = new Date();
  for (const [method, path] of [...VIEWER_ROUTES, ...OPERATOR_ROUTES, ...ADMIN_ROUTES]) {
    const r = await s.request(method, path, { body: method === 'GET' || method === 'DELETE' ? undefined : {} });
    expect([method, path, r.status]).toEqual([method, path, 401]);
    expect(r.json).toMatchObject({ success: false, error: { code: 'UNAUTHENTICATED' } });
    expect(r.json.error.message).toMatch(/API key/);
  }
  const rows = await auditRows('at >= $1 and status = 401', [since]);
  expect(rows.length).toBe(VIEWER_ROUTES.length + OPERATOR_ROUTES.length + ADMIN_ROUTES.length);
  for (const row of rows) expect(row.key_name).toBeNull();
});

test('a request holding characters Postgres cannot store (NUL) is audited, and so is the rest of its batch', async () => {
  const since = new Date();
  const paths = ['/api/haier/catalog/products/?q=nul-before', '/api/haier/catalog/products/?q=A%00B', '/api/haier/catalog/products/A%00B/', '/api/haier/catalog/products/?q=nul-after'];
  for (const path of paths) expect((await s.request('GET', path)).status).toBe(401);
  const rows = await auditRows("at >= $1 and path like '/api/haier/catalog/products/%'", [since]);
  expect(rows.map((r) => r.params)).toEqual([
    { query: { q: 'nul-before' } },
    { query: { q: 'A\uFFFDB' } },
    { params: { code: 'A\uFFFDB' } },
    { query: { q: 'nul-after' } },
  ]);
});

test('a row Postgres still rejects is lost alone: the other rows of its batch are written', async () => {
  const since = new Date();
  const audit = s.edge.app.edge.audit;
  const row = (path: string, params: Record<string, unknown>) => ({ at: new Date(), keyName: null, method: 'GET', path, params, status: 200, durationMs: 1, ip: '127.0.0.1' });
  audit.record(row('/direct/first', {}));
  audit.record(row('/direct/unstorable', { q: 'a\u0000' })); // not sanitized: straight to the store
  audit.record(row('/direct/last', {}));
  await audit.flush();
  const rows = await auditRows("at >= $1 and path like '/direct/%'", [since]);
  expect(rows.map((r) => r.path)).toEqual(['/direct/first', '/direct/last']);
});

test('an unknown or malformed key → 401', async () => {
  for (const key of ['hs_ThisKeyWasNeverIssuedToAnyone0123456789ab', 'garbage', "' or 1=1 --"]) {
    const r = await s.request('GET', '/api/haier/catalog/categories/', { headers: { authorization: `Bearer ${key}` } });
    expect(r.status).toBe(401);
    expect(r.json.error.code).toBe('UNAUTHENTICATED');
  }
  const x = await s.request('GET', '/api/haier/catalog/categories/', { headers: { 'x-api-key': 'hs_nope' } });
  expect(x.status).toBe(401);
});

test('the key is accepted as Bearer or X-API-Key', async () => {
  expect((await s.request('GET', '/api/haier/catalog/categories/', { headers: { authorization: `Bearer ${s.keys.viewer}` } })).status).toBe(200);
  expect((await s.request('GET', '/api/haier/catalog/categories/', { headers: { 'x-api-key': s.keys.viewer } })).status).toBe(200);
});

test('wrong role → 403 naming the role needed; audited with the key name', async () => {
  const since = new Date();
  let expected = 0;
  for (const [method, path] of [...OPERATOR_ROUTES, ...ADMIN_ROUTES]) {
    const r = await s.request(method, path, { key: s.keys.viewer, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
    expect([method, path, r.status]).toEqual([method, path, 403]);
    expect(r.json).toMatchObject({ success: false, error: { code: 'FORBIDDEN' } });
    expected++;
  }
  for (const [method, path] of ADMIN_ROUTES) {
    const r = await s.request(method, path, { key: s.keys.operator, body: method === 'GET' || method === 'DELETE' ? undefined : {} });
    expect([method, path, r.status]).toEqual([method, path, 403]);
    expect(r.json.error.message).toContain('admin');
    expected++;
  }
  const rows = await auditRows('at >= $1 and status = 403', [since]);
  expect(rows).toHaveLength(expected);
  expect(new Set(rows.map((r) => r.key_name))).toEqual(new Set(['stack-viewer', 'stack-operator']));
});

test('a higher role may do what a lower one may (admin reads the catalog, operator reads logs)', async () => {
  expect((await s.request('GET', '/api/haier/catalog/brands/', { key: s.keys.admin })).status).toBe(200);
  expect((await s.request('GET', '/api/haier/catalog/brands/', { key: s.keys.operator })).status).toBe(200);
  // the orchestrator is not running in this stack: the edge says so (503), it does not crash
  const logs = await s.request('GET', '/api/haier/logs/', { key: s.keys.operator });
  expect(logs.status).toBe(503);
  expect(logs.json.error.message).toMatch(/sync orchestrator is unavailable/);
});

test('a revoked key → 401 at once; the revocation and the refused call are audited', async () => {
  const key = await s.makeKey('operator', 'to-revoke');
  expect((await s.request('GET', '/api/haier/catalog/categories/', { key })).status).toBe(200);
  // the audit row of a request is made after its answer is sent: let that one land before `since`
  await new Promise((r) => setTimeout(r, 100));
  await s.flushAudit();
  const since = new Date();
  const rv = await s.request('DELETE', '/api/haier/keys/to-revoke/', { key: s.adminKey });
  expect(rv.status).toBe(200);
  const r = await s.request('GET', '/api/haier/catalog/categories/', { key });
  expect(r.status).toBe(401);
  expect(r.json.error.message).toMatch(/revoked/);
  const rows = await auditRows('at >= $1', [since]);
  expect(rows.map((x) => [x.method, x.path, x.status, x.key_name])).toEqual([
    ['DELETE', '/api/haier/keys/to-revoke/', 200, 'bootstrap-admin'],
    ['GET', '/api/haier/catalog/categories/', 401, null],
  ]);
});

test('a revocation through the API applies at once even with the key cache on', async () => {
  const edge = await startEdge({
    env: { DATABASE_URL: s.db.url, GATEWAY_URL: s.gateway.url, CATALOG_URL: s.catalog.url, SYNC_URL: 'http://127.0.0.1:9', EDGE_AUTH_CACHE_MS: '60000', ...testAuth().env(CALLERS.edge) },
    logger: createLogger('edge-cache-test', { level: 'silent' }),
    port: 0,
    host: '127.0.0.1',
    print: () => undefined,
  });
  try {
    const key = await s.makeKey('viewer', 'cached-key');
    const get = (k: string) => fetch(`${edge.url}/api/haier/catalog/categories/`, { headers: { authorization: `Bearer ${k}` } });
    expect((await get(key)).status).toBe(200);
    const rv = await fetch(`${edge.url}/api/haier/keys/cached-key/`, { method: 'DELETE', headers: { authorization: `Bearer ${s.adminKey}` } });
    expect(rv.status).toBe(200);
    expect((await get(key)).status).toBe(401);
    expect(edge.adminKey).toBeUndefined(); // an admin key existed: none made, nothing printed
  } finally {
    await edge.close();
  }
});

test('EDGE_BOOTSTRAP_ADMIN_KEY is the first admin key; nothing is printed for it', async () => {
  expect(s.adminKey).toBe(BOOTSTRAP);
  expect(s.printed).toEqual([]);
  const r = await s.request('GET', '/api/haier/keys/', { key: BOOTSTRAP });
  expect(r.status).toBe(200);
  const boot = r.json.results.find((k: { name: string }) => k.name === 'bootstrap-admin');
  expect(boot).toMatchObject({ role: 'admin', prefix: `${BOOTSTRAP.slice(0, 7)}…` });
  // only the hash is stored
  const rows = await s.pg.query('select key_hash from edge.api_keys');
  expect(JSON.stringify(rows.rows)).not.toContain(BOOTSTRAP);
});

test('without EDGE_BOOTSTRAP_ADMIN_KEY a first admin key is made and printed once (also when two replicas start together)', async () => {
  const admin = new PgClient({ connectionString: s.db.url });
  await admin.connect();
  const name = `${s.db.name}_boot`;
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = s.db.url.replace(/\/[^/]+$/, `/${name}`);
  const lines: string[] = [];
  const env = { DATABASE_URL: url, GATEWAY_URL: s.gateway.url, CATALOG_URL: s.catalog.url, SYNC_URL: 'http://127.0.0.1:9', ...testAuth().env(CALLERS.edge) };
  const logger = createLogger('edge-boot-test', { level: 'silent' });
  try {
    // two replicas starting together on the empty database: one migrates and makes the key
    const [first, twin] = await Promise.all([0, 1].map(() => startEdge({ env, logger, port: 0, host: '127.0.0.1', print: (l) => lines.push(l) })));
    await twin!.close();
    let key: string;
    try {
      expect(lines).toHaveLength(1);
      expect(lines[0]!.startsWith(ADMIN_KEY_LINE)).toBe(true);
      key = lines[0]!.slice(ADMIN_KEY_LINE.length);
      expect(key).toMatch(/^hs_[0-9A-Za-z]{40}$/);
      const r = await fetch(`${first!.url}/api/haier/audit/`, { headers: { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(200);
    } finally {
      await first!.close();
    }
    const second = await startEdge({ env, logger, port: 0, host: '127.0.0.1', print: (l) => lines.push(l) });
    await second.close();
    expect(lines).toHaveLength(1); // not printed again
  } finally {
    const c = new PgClient({ connectionString: s.db.url });
    await c.connect();
    await c.query(`drop database if exists "${name}" with (force)`);
    await c.end();
  }
});

test('haier-sync keys create / list / revoke work against the edge database', async () => {
  const out: string[] = [];
  const run = async (...args: string[]) => {
    const prev = process.env.DATABASE_URL;
    process.env.DATABASE_URL = s.db.url;
    try {
      await buildCli((l) => out.push(l), { throwOnError: true }).parseAsync(['node', 'haier-sync', 'keys', ...args]);
    } finally {
      if (prev === undefined) delete process.env.DATABASE_URL;
      else process.env.DATABASE_URL = prev;
    }
  };
  await run('create', '--name', 'cli-made', '--role', 'operator');
  const key = out[1]!;
  expect(key).toMatch(/^hs_[0-9A-Za-z]{40}$/);
  expect((await s.request('POST', '/api/haier/sync/1/cancel/', { key })).status).not.toBe(403); // operator may (503: no orchestrator here)
  expect((await s.request('GET', '/api/haier/keys/', { key })).status).toBe(403);
  out.length = 0;
  await run('list');
  expect(out.join('\n')).toMatch(/cli-made\toperator\ths_/);
  expect(out.join('\n')).not.toContain(key);
  out.length = 0;
  await run('revoke', 'cli-made');
  expect(out[0]).toMatch(/Revoked key "cli-made"/);
  expect((await s.request('GET', '/api/haier/catalog/categories/', { key })).status).toBe(401);
  await expect(run('create', '--name', 'bad-role', '--role', 'root')).rejects.toThrow(/viewer, operator, admin/);
});

test('an admin cannot revoke the last active admin key with itself', async () => {
  // the stack has two admins (bootstrap and stack-admin): revoke stack-admin with itself, then the bootstrap may not
  const other = await s.makeKey('admin', 'second-admin');
  expect((await s.request('DELETE', '/api/haier/keys/second-admin/', { key: other })).status).toBe(200);
  const keys = (await s.request('GET', '/api/haier/keys/', { key: s.adminKey })).json.results as Array<{ name: string; role: string; revoked_at: string | null }>;
  for (const k of keys.filter((x) => x.role === 'admin' && !x.revoked_at && x.name !== 'bootstrap-admin')) {
    expect((await s.request('DELETE', `/api/haier/keys/${k.name}/`, { key: s.adminKey })).status).toBe(200);
  }
  const last = await s.request('DELETE', '/api/haier/keys/bootstrap-admin/', { key: s.adminKey });
  expect(last.status).toBe(409);
  expect(last.json.error.code).toBe('LAST_ADMIN');
});

describe('limits', () => {
  let l: EdgeStack;
  beforeAll(async () => {
    l = await startEdgeStack({ orchestrator: false, edgeEnv: { EDGE_RATE_LIMIT: '5', EDGE_CORS_ORIGINS: 'https://shop.example' } });
  }, 180_000);
  afterAll(async () => {
    await l?.close();
  });

  test('the rate limit is per key: the 6th call in a minute is 429 with Retry-After; other keys are unaffected', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await l.request('GET', '/api/haier/catalog/categories/', { key: l.keys.viewer })).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const r = await l.request('GET', '/api/haier/catalog/categories/', { key: l.keys.viewer });
    expect(r.status).toBe(429);
    expect(r.json).toMatchObject({ success: false, error: { code: 'RATE_LIMITED' } });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await l.request('GET', '/api/haier/catalog/categories/', { key: l.keys.operator })).status).toBe(200);
    expect((await l.request('GET', '/healthz')).status).toBe(200); // probes are not limited
  });

  test('CORS answers only the configured origin', async () => {
    const ok = await l.request('OPTIONS', '/api/haier/catalog/categories/', { headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    const other = await l.request('OPTIONS', '/api/haier/catalog/categories/', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    // and the main stack has no CORS at all
    const none = await s.request('GET', '/healthz', { headers: { origin: 'https://shop.example' } });
    expect(none.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('a body over 64 KiB is 413 in the error shape, not 500', async () => {
    const r = await l.request('POST', '/api/haier/sync/', { key: l.keys.admin, body: { scope: { category: 'x'.repeat(70 * 1024) } } });
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ success: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
  });
});
