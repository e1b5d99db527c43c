// One table of edge cases for the input rulebook (@haier-sync/contracts rules), fed to every door
// a value can come in by: the edge (REST over HTTP), the CLI (its option parsing, as a process),
// the orchestrator (StartRun, GetRun, GetConfig over gRPC), the gateway (GetPrices, GetStock,
// GetLogistics over gRPC) and the catalog (GetProduct, ListProducts, PinPrice, UpsertProducts, UpdateStock over
// gRPC). Every door must give the same verdict, and a refusal must name the field.
//
// All built services run as processes on loopback, as deployed (build first: `pnpm build`), with
// the simulator as Haier, a fresh database and their own NATS subject prefix. The orchestrator's
// workers are off, so an accepted StartRun stays PENDING and writes nothing else. The CLI is
// pointed at a port where nothing listens: an accepted command line exits 69 (orchestrator
// unreachable), a refused one 64 before any call.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { catalog, gateway, health, sync } from '@haier-sync/contracts';
import { DEFAULT_CREDENTIALS } from '@haier-sync/haier-sim';
import { CALLERS, closeGrpcClients, createGrpcClient, FIELD_HEADER } from '@haier-sync/runtime';
import { createTestDatabase, freePort, startServiceProcess, testAuth, testClient, TEST_NATS_URL, uniqueId, type ServiceProcess, type TestDatabase } from '@haier-sync/runtime/testing';

jest.setTimeout(300_000);

const ROOT = resolve(__dirname, '..', '..', '..');
const ADMIN_KEY = 'hs_InputRulesAdminKeyForTests0123456789abcd';
const INT64_MAX = '9223372036854775807';
const INT64_MAX_PLUS_1 = '9223372036854775808';

type Verdict = 'ok' | 'bad';
/** What one door answered: ok, bad (naming `field`), or something else (a failure the table does not expect). */
interface Outcome {
  verdict: Verdict | 'error';
  field?: string;
  detail?: string;
}
/** A door: feeds one value in and says what it answered; `field` is the name the door must give a refusal. */
interface Door<T> {
  name: string;
  feed: (v: T) => Promise<Outcome>;
  field: (v: T) => string;
  /** A value this door cannot carry (and why), so it is left out for this door only. */
  skip?: (v: T) => boolean;
}
interface Case<T> {
  name: string;
  value: T;
  verdict: Verdict;
}

// ---- the table -------------------------------------------------------------------------------

const A = (n: number) => 'A'.repeat(n);
const codeCases: Case<string>[] = [
  { name: 'length 0', value: '', verdict: 'bad' },
  { name: 'length 1', value: 'A', verdict: 'ok' },
  { name: 'length 40', value: A(40), verdict: 'ok' },
  { name: 'length 41', value: A(41), verdict: 'bad' },
  { name: 'length 64', value: A(64), verdict: 'bad' },
  { name: 'length 65', value: A(65), verdict: 'bad' },
  { name: 'a Haier code', value: 'GA0SZC00U', verdict: 'ok' },
  { name: 'lowercase', value: 'ga0szc00u', verdict: 'ok' },
  { name: '". _ -" inside', value: 'GA0.SZC_00-U', verdict: 'ok' },
  { name: 'starting with "-"', value: '-GA0SZC00U', verdict: 'bad' },
  { name: 'a space inside', value: 'GA0 SZC00U', verdict: 'bad' },
  { name: 'a tab inside', value: 'GA0\tSZC00U', verdict: 'bad' },
  { name: 'a NUL byte', value: 'GA0\u0000SZC00U', verdict: 'bad' },
  { name: 'a non-ASCII letter', value: 'GA0SZC00Ü', verdict: 'bad' },
  { name: 'CJK characters', value: '海尔冰箱', verdict: 'bad' },
  { name: 'SQL', value: "A1';DROP TABLE x;--", verdict: 'bad' },
];

const orderCodeCases: Case<string>[] = [
  { name: 'length 0', value: '', verdict: 'bad' },
  { name: 'a Haier order code', value: 'SO.20190106.000003', verdict: 'ok' },
  { name: 'length 64', value: `SO.${'1'.repeat(61)}`, verdict: 'ok' },
  { name: 'length 65', value: `SO.${'1'.repeat(62)}`, verdict: 'bad' },
  { name: 'a space inside', value: 'SO 20190106', verdict: 'bad' },
  { name: 'a NUL byte', value: 'SO.2019\u0000', verdict: 'bad' },
  { name: 'starting with "."', value: '.SO', verdict: 'bad' },
];

const distinctCodes = (n: number) => Array.from({ length: n }, (_, i) => `L${String(i).padStart(6, '0')}`);
const codeListCases: Case<number>[] = [
  { name: '0 codes (where a list is required)', value: 0, verdict: 'bad' },
  { name: '1 code', value: 1, verdict: 'ok' },
  { name: '1000 codes (the limit)', value: 1000, verdict: 'ok' },
  { name: '1001 codes', value: 1001, verdict: 'bad' },
];

const countyCases: Case<string>[] = [
  { name: '5 digits', value: '11010', verdict: 'bad' },
  { name: '6 digits', value: '110101', verdict: 'ok' },
  { name: '7 digits', value: '1101011', verdict: 'bad' },
  { name: 'a letter', value: '11010a', verdict: 'bad' },
  { name: 'empty', value: '', verdict: 'bad' },
  { name: 'a space inside', value: '110 101', verdict: 'bad' },
  { name: 'non-ASCII digits', value: '١١٠١٠١', verdict: 'bad' },
];

const distinctCounties = (n: number) => Array.from({ length: n }, (_, i) => String(110000 + i));
const countyListCases: Case<number>[] = [
  { name: '1 county', value: 1, verdict: 'ok' },
  { name: '100 counties (the limit)', value: 100, verdict: 'ok' },
  { name: '101 counties', value: 101, verdict: 'bad' },
];

const limitCases: Case<number>[] = [
  { name: '1', value: 1, verdict: 'ok' },
  { name: '10,000,000 (the limit)', value: 10_000_000, verdict: 'ok' },
  { name: '10,000,001', value: 10_000_001, verdict: 'bad' },
];

const decimalCases: Case<string>[] = [
  { name: 'zero', value: '0', verdict: 'ok' },
  { name: 'two decimals', value: '1299.50', verdict: 'ok' },
  { name: 'four decimals', value: '1299.5000', verdict: 'ok' },
  { name: 'the largest numeric(20,4)', value: '9999999999999999.9999', verdict: 'ok' },
  { name: 'five decimals', value: '1299.50000', verdict: 'bad' },
  { name: '17 integer digits', value: '12345678901234567', verdict: 'bad' },
  { name: 'negative', value: '-1', verdict: 'bad' },
  { name: 'a plus sign', value: '+1', verdict: 'bad' },
  { name: 'an exponent', value: '1e3', verdict: 'bad' },
  { name: 'no integer part', value: '.5', verdict: 'bad' },
  { name: 'a trailing point', value: '1.', verdict: 'bad' },
  { name: 'a decimal comma', value: '1,5', verdict: 'bad' },
  { name: 'empty', value: '', verdict: 'bad' },
  { name: 'a leading space', value: ' 1', verdict: 'bad' },
  { name: 'full-width digits', value: '１２', verdict: 'bad' },
];

const idCases: Case<string>[] = [
  { name: '0', value: '0', verdict: 'bad' },
  { name: '-1', value: '-1', verdict: 'bad' },
  { name: '1', value: '1', verdict: 'ok' },
  { name: 'bigint max', value: INT64_MAX, verdict: 'ok' },
  { name: 'bigint max + 1', value: INT64_MAX_PLUS_1, verdict: 'bad' },
  { name: '20 digits', value: '99999999999999999999', verdict: 'bad' },
  { name: 'a leading zero', value: '01', verdict: 'bad' },
  { name: 'letters', value: 'abc', verdict: 'bad' },
  { name: 'a fraction', value: '1.5', verdict: 'bad' },
];

// ---- the stack -------------------------------------------------------------------------------

/** A built service as deployed, serving once its gRPC readiness says SERVING. */
function grpcServing(url: string): Promise<boolean> {
  const h = createGrpcClient(health.Health, { baseUrl: url, timeoutMs: 2000 });
  return h.check({ service: '' }).then((r) => r.status === health.HealthCheckResponse_ServingStatus.SERVING);
}
const start = (dir: string, port: number, env: Record<string, string>, ready: (url: string) => Promise<unknown>): Promise<ServiceProcess> =>
  startServiceProcess({ root: ROOT, dir, port, env: { LOG_LEVEL: 'warn', ...testAuth().env(), ...env }, ready, timeoutMs: 90_000 });
const httpOk = (path: string) => (url: string) => fetch(`${url}${path}`).then((r) => r.ok);

const procs: ServiceProcess[] = [];
let db: TestDatabase;
let edgeUrl = '';
let cliSyncUrl = '';
let realCode = '';
let gw: Client<typeof gateway.HaierGatewayService>;
let cat: Client<typeof catalog.CatalogService>;
let orch: Client<typeof sync.SyncService>;

beforeAll(async () => {
  db = await createTestDatabase('hs_rules');
  const [simPort, gwPort, catPort, syncPort, edgePort, closedPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort(), freePort()]);
  const simUrl = `http://127.0.0.1:${simPort}`;
  const [gwUrl, catUrl, syncUrl] = [gwPort, catPort, syncPort].map((p) => `http://127.0.0.1:${p}`) as [string, string, string];
  cliSyncUrl = `http://127.0.0.1:${closedPort}`;
  edgeUrl = `http://127.0.0.1:${edgePort}`;

  procs.push(await start('tools/haier-sim', simPort, { SIM_PORT: String(simPort), SIM_SIZE: '30', SIM_SEED: '8', SIM_RATE_LIMIT: '1000' }, httpOk('/__sim/config')));

  const c = DEFAULT_CREDENTIALS;
  const [gwProc, catProc] = await Promise.all([start('services/haier-gateway', gwPort, {
    GATEWAY_PORT: String(gwPort), HAIER_BASE_URL: simUrl, HAIER_RATE_LIMIT: '1000',
    HAIER_CLIENT_ID: c.clientId, HAIER_CLIENT_SECRET: c.clientSecret, HAIER_CUSTOMER_CODE: c.customerCode, HAIER_SEND_TO_CODE: c.sendToCode,
    HAIER_PASSWORD: c.passWord, HAIER_SELLER_PASSWORD: c.sellerPassword, HAIER_CUSTOMER_PASSWORD: c.customerPassword,
  }, grpcServing), start('services/catalog', catPort, { CATALOG_PORT: String(catPort), DATABASE_URL: db.url }, grpcServing)]);
  procs.push(gwProc, catProc);
  procs.push(await start('services/sync-orchestrator', syncPort, {
    SYNC_PORT: String(syncPort), DATABASE_URL: db.url, NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: uniqueId('rules').toLowerCase(),
    GATEWAY_URL: gwUrl, CATALOG_URL: catUrl,
    SYNC_SCHEDULER_ENABLED: 'false', SYNC_FIRST_DEPLOY: 'false', SYNC_WORKERS_ENABLED: 'false', SYNC_PUBLISHER_ENABLED: 'false',
    ...testAuth().env(CALLERS.orchestrator),
  }, grpcServing));
  procs.push(await start('services/http-edge', edgePort, {
    EDGE_PORT: String(edgePort), EDGE_HOST: '127.0.0.1', DATABASE_URL: db.url, EDGE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY, EDGE_RATE_LIMIT: '1000000',
    GATEWAY_URL: gwUrl, CATALOG_URL: catUrl, SYNC_URL: syncUrl,
    ...testAuth().env(CALLERS.edge),
  }, httpOk('/healthz')));

  gw = testClient(gateway.HaierGatewayService, gwUrl, { timeoutMs: 30_000 });
  cat = testClient(catalog.CatalogService, catUrl, { timeoutMs: 30_000 });
  orch = testClient(sync.SyncService, syncUrl, { timeoutMs: 30_000 });
  // one real product, in the catalog too (stock and pinned prices need one)
  realCode = (await gw.getProducts({ productCodes: [] })).products[0]!.productCode;
  await cat.upsertProducts({ products: [{ productCode: realCode, productName: 'rules test', isSales: true }] });
});

afterAll(async () => {
  closeGrpcClients();
  for (const p of [...procs].reverse()) await p.stop();
  await db?.drop();
});

// ---- how each door answers -------------------------------------------------------------------

/** Outcomes a valid value may meet further in (it passed the rules): success, or "no such thing" / "already running". */
const FINE_CODES = new Set([Code.NotFound, Code.AlreadyExists, Code.FailedPrecondition]);

async function viaGrpc(call: () => Promise<unknown>): Promise<Outcome> {
  try {
    await call();
    return { verdict: 'ok' };
  } catch (e) {
    const ce = ConnectError.from(e);
    if (ce.code === Code.InvalidArgument) return { verdict: 'bad', field: ce.metadata.get(FIELD_HEADER) ?? undefined, detail: ce.rawMessage };
    if (FINE_CODES.has(ce.code)) return { verdict: 'ok', detail: Code[ce.code] };
    return { verdict: 'error', detail: `${Code[ce.code]}: ${ce.rawMessage}` };
  }
}

/** A catalog write answers a bad item either as INVALID_ARGUMENT or as that item's FAILED outcome (with a reason naming the field). */
async function viaCatalogWrite(call: () => Promise<{ results: catalog.ItemResult[] }>, field: string): Promise<Outcome> {
  let failed: catalog.ItemResult | undefined;
  const o = await viaGrpc(async () => {
    failed = (await call()).results.find((r) => r.outcome === catalog.ItemOutcome.FAILED);
  });
  if (o.verdict === 'bad') return { ...o, field: o.detail?.includes(field) ? field : o.field };
  if (failed) return { verdict: 'bad', field: failed.reason.includes(field) ? field : undefined, detail: failed.reason };
  return o;
}

async function viaHttp(method: string, path: string, body?: unknown): Promise<Outcome> {
  const r = await fetch(`${edgeUrl}${path}`, {
    method,
    headers: { 'x-api-key': ADMIN_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json: { error?: { code?: string; field?: string; message?: string } } = {};
  try {
    json = JSON.parse(text) as typeof json;
  } catch {
    // not JSON: reported as is below
  }
  if (r.status === 400 && json.error?.code === 'INVALID_ARGUMENT') return { verdict: 'bad', field: json.error.field, detail: json.error.message };
  if (r.ok || r.status === 404 || r.status === 409) return { verdict: 'ok', detail: String(r.status) };
  return { verdict: 'error', detail: `HTTP ${r.status}: ${text.slice(0, 300)}` };
}

/** The CLI as a process; `mentions` is what its refusal must name (the option or argument). */
function viaCli(args: string[], mentions: string): Promise<Outcome> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'services/sync-orchestrator/dist/cli.js'), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...testAuth().env(CALLERS.cli), SYNC_URL: cliSyncUrl, CATALOG_URL: cliSyncUrl, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout.resume();
    // 'close', not 'exit': the child's stderr may still hold its message when it exits
    child.once('close', (code) => {
      if (code === 69) done({ verdict: 'ok', detail: 'exit 69 (got past parsing)' });
      else if (code === 64) done({ verdict: 'bad', field: err.includes(mentions) ? mentions : undefined, detail: err.trim().slice(0, 300) });
      else done({ verdict: 'error', detail: `exit ${code}: ${err.slice(0, 300)}` });
    });
  });
}

/** Feeds every case to every door; answers one line per disagreement (empty when all agree). */
async function disagreements<T>(cases: Case<T>[], doors: Door<T>[]): Promise<string[]> {
  const jobs = cases.flatMap((c) => doors.filter((d) => !d.skip?.(c.value)).map((d) => ({ c, d })));
  const lines: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const { c, d } = jobs[next++]!;
      const o = await d.feed(c.value);
      const want = d.field(c.value);
      if (o.verdict !== c.verdict) lines.push(`${c.name} → ${d.name}: expected ${c.verdict}, got ${o.verdict} (${o.detail ?? ''})`);
      else if (o.verdict === 'bad' && o.field !== want) lines.push(`${c.name} → ${d.name}: refused, but named ${o.field ?? 'no field'} instead of ${want} (${o.detail ?? ''})`);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return lines.sort();
}

const q = (params: Record<string, string>) => new URLSearchParams(params).toString();

// ---- the doors and the verdicts --------------------------------------------------------------

test('product codes: the same verdict at the edge, CLI, orchestrator, gateway and catalog, naming the field', async () => {
  const doors: Door<string>[] = [
    { name: 'edge POST /sync scope.product_codes', feed: (v) => viaHttp('POST', '/api/haier/sync/', { scope: { product_codes: [v] }, dry_run: true }), field: () => 'scope.product_codes[0]' },
    // a comma-separated query list drops empty items: an empty code is an empty list there
    { name: 'edge GET /prices product_codes', feed: (v) => viaHttp('GET', `/api/haier/prices/?${q({ product_codes: v })}`), field: (v) => (v === '' ? 'product_codes' : 'product_codes[0]') },
    // a command line cannot carry a NUL byte
    { name: 'CLI sync --codes', feed: (v) => viaCli(['sync', `--codes=${v}`, '--dry-run'], '--codes'), field: () => '--codes', skip: (v) => v.includes('\u0000') },
    { name: 'orchestrator StartRun', feed: (v) => viaGrpc(() => orch.startRun({ scope: { productCodes: [v] }, options: { dryRun: true } })), field: () => 'scope.product_codes[0]' },
    { name: 'gateway GetPrices', feed: (v) => viaGrpc(() => gw.getPrices({ productCodes: [v] })), field: () => 'product_codes[0]' },
    { name: 'gateway GetStock', feed: (v) => viaGrpc(() => gw.getStock({ productCode: v, countyCode: '110101' })), field: () => 'product_code' },
    { name: 'catalog GetProduct', feed: (v) => viaGrpc(() => cat.getProduct({ productCode: v })), field: () => 'product_code' },
    { name: 'catalog UpsertProducts (dry run)', feed: (v) => viaCatalogWrite(() => cat.upsertProducts({ products: [{ productCode: v, productName: 'x' }], dryRun: true }), 'product_code'), field: () => 'product_code' },
  ];
  expect(await disagreements(codeCases, doors)).toEqual([]);
});

test('order codes: the same verdict at the edge and the gateway', async () => {
  const doors: Door<string>[] = [
    { name: 'edge GET /logistics order_code', feed: (v) => viaHttp('GET', `/api/haier/logistics/?${q({ order_code: v })}`), field: () => 'order_code' },
    { name: 'edge GET /logistics delivery_record_code', feed: (v) => viaHttp('GET', `/api/haier/logistics/?${q({ order_code: 'SO.20190106.000003', delivery_record_code: v })}`), field: () => 'delivery_record_code', skip: (v) => v === '' },
    { name: 'gateway GetLogistics order_code', feed: (v) => viaGrpc(() => gw.getLogistics({ orderCode: v })), field: () => 'order_code' },
    // an empty delivery record code is "not given" on gRPC (a plain proto3 string)
    { name: 'gateway GetLogistics delivery_record_code', feed: (v) => viaGrpc(() => gw.getLogistics({ orderCode: 'SO.20190106.000003', deliveryRecordCode: v })), field: () => 'delivery_record_code', skip: (v) => v === '' },
  ];
  expect(await disagreements(orderCodeCases, doors)).toEqual([]);
});

test('lists of product codes: 1 to 1000 per request everywhere; a list that must be given may not be empty', async () => {
  const doors: Door<number>[] = [
    // in a run's scope an empty list means "no codes" (an unscoped run), so 0 is not a list there
    { name: 'edge POST /sync scope.product_codes', feed: (n) => viaHttp('POST', '/api/haier/sync/', { scope: { product_codes: distinctCodes(n) }, dry_run: true }), field: () => 'scope.product_codes', skip: (n) => n === 0 },
    { name: 'edge GET /prices product_codes', feed: (n) => viaHttp('GET', `/api/haier/prices/?${q({ product_codes: distinctCodes(n).join(',') })}`), field: () => 'product_codes' },
    { name: 'CLI sync --codes', feed: (n) => viaCli(['sync', `--codes=${distinctCodes(n).join(',')}`, '--dry-run'], '--codes'), field: () => '--codes' },
    { name: 'orchestrator StartRun', feed: (n) => viaGrpc(() => orch.startRun({ scope: { productCodes: distinctCodes(n) }, options: { dryRun: true } })), field: () => 'scope.product_codes', skip: (n) => n === 0 },
    { name: 'gateway GetPrices', feed: (n) => viaGrpc(() => gw.getPrices({ productCodes: distinctCodes(n) })), field: () => 'product_codes' },
  ];
  expect(await disagreements(codeListCases, doors)).toEqual([]);
});

test('county codes: 6 digits everywhere', async () => {
  const doors: Door<string>[] = [
    { name: 'edge POST /sync options.county_codes', feed: (v) => viaHttp('POST', '/api/haier/sync/', { scope: { product_codes: [realCode] }, options: { stock: true, county_codes: [v] }, dry_run: true }), field: () => 'options.county_codes[0]' },
    { name: 'edge GET /stock county_code', feed: (v) => viaHttp('GET', `/api/haier/stock/?${q({ product_code: realCode, county_code: v })}`), field: () => 'county_code' },
    { name: 'CLI sync --county', feed: (v) => viaCli(['sync', `--codes=${realCode}`, '--stock', `--county=${v}`, '--dry-run'], '--county'), field: () => '--county' },
    { name: 'orchestrator StartRun', feed: (v) => viaGrpc(() => orch.startRun({ scope: { productCodes: [realCode] }, options: { stock: true, countyCodes: [v], dryRun: true } })), field: () => 'options.county_codes[0]' },
    { name: 'gateway GetStock', feed: (v) => viaGrpc(() => gw.getStock({ productCode: realCode, countyCode: v })), field: () => 'county_code' },
    { name: 'gateway GetStocks', feed: (v) => viaGrpc(() => gw.getStocks({ queries: [{ productCode: realCode, countyCode: v }] })), field: () => 'queries[0].county_code' },
    {
      name: 'catalog UpdateStock (dry run)',
      feed: (v) => viaCatalogWrite(() => cat.updateStock({ items: [{ productCode: realCode, countyCode: v, quantity: 1n }], dryRun: true }), 'county_code'),
      field: () => 'county_code',
    },
  ];
  expect(await disagreements(countyCases, doors)).toEqual([]);
});

test('lists of county codes: at most 100 per run', async () => {
  const doors: Door<number>[] = [
    { name: 'edge POST /sync options.county_codes', feed: (n) => viaHttp('POST', '/api/haier/sync/', { scope: { product_codes: [realCode] }, options: { stock: true, county_codes: distinctCounties(n) }, dry_run: true }), field: () => 'options.county_codes' },
    { name: 'CLI sync --county', feed: (n) => viaCli(['sync', `--codes=${realCode}`, '--stock', `--county=${distinctCounties(n).join(',')}`, '--dry-run'], '--county'), field: () => '--county' },
    { name: 'orchestrator StartRun', feed: (n) => viaGrpc(() => orch.startRun({ scope: { productCodes: [realCode] }, options: { stock: true, countyCodes: distinctCounties(n), dryRun: true } })), field: () => 'options.county_codes' },
  ];
  expect(await disagreements(countyListCases, doors)).toEqual([]);
});

test("a run's product limit: at most 10,000,000", async () => {
  const doors: Door<number>[] = [
    { name: 'edge POST /sync scope.limit', feed: (n) => viaHttp('POST', '/api/haier/sync/', { scope: { limit: n }, dry_run: true }), field: () => 'scope.limit' },
    { name: 'CLI sync --limit', feed: (n) => viaCli(['sync', `--limit=${n}`, '--dry-run'], '--limit'), field: () => '--limit' },
    { name: 'orchestrator StartRun', feed: (n) => viaGrpc(() => orch.startRun({ scope: { limit: n }, options: { dryRun: true } })), field: () => 'scope.limit' },
  ];
  expect(await disagreements(limitCases, doors)).toEqual([]);
});

test('decimal amounts: numeric(20,4), never negative, the same at the edge and the catalog', async () => {
  const doors: Door<string>[] = [
    { name: 'edge GET /catalog/products min_price', feed: (v) => viaHttp('GET', `/api/haier/catalog/products/?${q({ min_price: v })}`), field: () => 'min_price' },
    { name: 'catalog ListProducts min_price', feed: (v) => viaGrpc(() => cat.listProducts({ minPrice: v })), field: () => 'min_price' },
    // a pinned price must also be above 0 (the catalog's own rule, the same at both doors): 0 is left out here
    { name: 'edge PUT pinned-price', feed: (v) => viaHttp('PUT', `/api/haier/catalog/products/${realCode}/pinned-price/`, { price: v }), field: () => 'price', skip: (v) => v === '0' },
    { name: 'catalog PinPrice', feed: (v) => viaGrpc(() => cat.pinPrice({ productCode: realCode, price: v, actor: 'rules-test' })), field: () => 'price', skip: (v) => v === '0' },
  ];
  expect(await disagreements(decimalCases, doors)).toEqual([]);
});

test('run ids: a whole number from 1 to the bigint maximum', async () => {
  const doors: Door<string>[] = [
    { name: 'edge GET /sync/:id', feed: (v) => viaHttp('GET', `/api/haier/sync/${encodeURIComponent(v)}/`), field: () => 'id' },
    { name: 'CLI runs show', feed: (v) => viaCli(['runs', 'show', '--', v], 'run id'), field: () => 'run id' },
    { name: 'orchestrator GetRun', feed: (v) => viaGrpc(() => orch.getRun({ id: v })), field: () => 'id' },
    { name: 'orchestrator CancelRun', feed: (v) => viaGrpc(() => orch.cancelRun({ id: v, cancelledBy: 'rules-test' })), field: () => 'id' },
  ];
  expect(await disagreements(idCases, doors)).toEqual([]);
});

test('config ids: a whole number from 1 to the bigint maximum', async () => {
  // on gRPC a config id is an int64: only the values an int64 can carry are sent there
  const int64 = (v: string) => /^-?\d+$/.test(v) && !/^-?0\d/.test(v) && BigInt(v) <= BigInt(INT64_MAX);
  const doors: Door<string>[] = [
    { name: 'edge GET /config/:id', feed: (v) => viaHttp('GET', `/api/haier/config/${encodeURIComponent(v)}/`), field: () => 'id' },
    { name: 'CLI config show', feed: (v) => viaCli(['config', 'show', '--', v], 'config id'), field: () => 'config id' },
    { name: 'orchestrator GetConfig', feed: (v) => viaGrpc(() => orch.getConfig({ id: BigInt(v) })), field: () => 'id', skip: (v) => !int64(v) },
    { name: 'orchestrator TestConfig', feed: (v) => viaGrpc(() => orch.testConfig({ id: BigInt(v) })), field: () => 'id', skip: (v) => !int64(v) },
  ];
  expect(await disagreements(idCases, doors)).toEqual([]);
});
