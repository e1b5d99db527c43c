// The REST contract of every endpoint, over loopback against the real stack (simulator, gateway,
// catalog, orchestrator, Postgres): status codes, answer shapes and the original's field names.
import { readSse } from './sse';
import { startEdgeStack, type EdgeStack } from './stack';
import { waitFor } from '@haier-sync/runtime/testing';

let s: EdgeStack;
let code: string; // a product code the simulator lists
let listing: Array<{ productCode: string; isSales: string; noSalesReason?: string }>; // the simulator's listing, through the edge
let runId: string; // the full run started through REST
const COUNTY = '110101';

beforeAll(async () => {
  // a per-product action waits at most 4 s for its run (the 504 test makes Haier slower than that)
  s = await startEdgeStack({ sim: { size: 120, latencyMs: 5 }, edgeEnv: { EDGE_ACTION_TIMEOUT_MS: '4000' } });
  const all = await s.request('GET', '/api/haier/products/', { key: s.keys.viewer });
  listing = all.json.data;
  code = listing.find((p) => p.isSales === '1')!.productCode;
}, 180_000);

afterAll(async () => {
  await s?.close();
});

const isoRe = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const decimalRe = /^-?\d+(\.\d+)?$/;

/** The error shape, the field it names and, where the test knows it, the operator's exact message. */
function expectError(r: { status: number; json: { success: boolean; error: { code: string; message: string; field?: string } } }, status: number, field?: string, message?: string) {
  expect(r.status).toBe(status);
  expect(r.json.success).toBe(false);
  expect(r.json.error.code).toMatch(/^[A-Z_]+$/);
  if (message !== undefined) expect(r.json.error.message).toBe(message);
  else expect(r.json.error.message).not.toBe('');
  if (field) {
    expect(r.json.error.field).toBe(field);
    expect(r.json.error.message).toContain(field);
  }
}

describe('ops', () => {
  test('GET /healthz answers 200 without a key', async () => {
    const r = await s.request('GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('ok');
  });

  test('GET /readyz is 200 with every dependency checked', async () => {
    const r = await s.request('GET', '/readyz');
    expect(r.status).toBe(200);
    expect(r.json.status).toBe('ready');
    expect(Object.keys(r.json.checks).sort()).toEqual(['catalog', 'gateway', 'postgres', 'sync']);
    for (const c of Object.values(r.json.checks) as Array<{ ok: boolean }>) expect(c.ok).toBe(true);
  });

  test('GET /metrics (with an API key) is Prometheus text with the request counters', async () => {
    await s.request('GET', '/healthz');
    const r = await s.request('GET', '/metrics', { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    expect(r.text).toMatch(/edge_http_requests_total\{[^}]*route="\/healthz"[^}]*\} \d+/);
    expect(r.text).toContain('edge_http_request_duration_seconds_bucket');
  });

  test('GET /api/docs/json is the OpenAPI document listing every route', async () => {
    const r = await s.request('GET', '/api/docs/json');
    expect(r.status).toBe(200);
    expect(r.json.openapi).toMatch(/^3\./);
    const paths = Object.keys(r.json.paths);
    for (const p of [
      '/api/haier/products/',
      '/api/haier/prices/',
      '/api/haier/stock/',
      '/api/haier/balance/',
      '/api/haier/logistics/',
      '/api/haier/logs/',
      '/api/haier/config/',
      '/api/haier/config/{id}/test/',
      '/api/haier/config/{id}/activate/',
      '/api/haier/catalog/products/',
      '/api/haier/catalog/products/{code}/',
      '/api/haier/catalog/products/{code}/price-history/',
      '/api/haier/catalog/categories/',
      '/api/haier/catalog/brands/',
      '/api/haier/catalog/products/{code}/sync-stock/',
      '/api/haier/catalog/products/{code}/sync-price/',
      '/api/haier/catalog/products/{code}/pinned-price/',
      '/api/haier/sync/',
      '/api/haier/sync/{id}/',
      '/api/haier/sync/{id}/cancel/',
      '/api/haier/sync/{id}/events/',
      '/api/haier/keys/',
      '/api/haier/audit/',
    ]) {
      expect(paths).toContain(p);
    }
  });

  test('X-Request-Id: a plain token is kept, anything else (or none) becomes a UUID; every answer carries it, errors and SSE included', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    const kept = await s.request('GET', '/api/haier/catalog/categories/', { key: s.keys.viewer, headers: { 'x-request-id': 'shop-42:retry.1_a' } });
    expect([kept.status, kept.headers.get('x-request-id')]).toEqual([200, 'shop-42:retry.1_a']);
    const made = await s.request('GET', '/healthz');
    expect(made.headers.get('x-request-id')).toMatch(uuid);
    const other = await s.request('GET', '/healthz');
    expect(other.headers.get('x-request-id')).not.toBe(made.headers.get('x-request-id'));
    for (const bad of ['has space', 'x'.repeat(129), 'semi;colon', '<script>']) {
      const r = await s.request('GET', '/healthz', { headers: { 'x-request-id': bad } });
      expect([bad, r.headers.get('x-request-id')]).toEqual([bad, expect.stringMatching(uuid)]);
    }
    const denied = await s.request('GET', '/api/haier/sync/', { headers: { 'x-request-id': 'no-key-1' } });
    expect([denied.status, denied.headers.get('x-request-id')]).toEqual([401, 'no-key-1']);
    const missing = await s.request('GET', '/api/haier/sync/abc/', { key: s.keys.viewer, headers: { 'x-request-id': 'bad-id-1' } });
    expect([missing.status, missing.headers.get('x-request-id')]).toEqual([400, 'bad-id-1']);
  });

  test('an unknown path is a 404 in the error shape', async () => {
    const r = await s.request('GET', '/api/haier/nope/', { key: s.keys.viewer });
    expectError(r, 404, undefined, 'No such endpoint: GET /api/haier/nope/. See the API documentation at /api/docs.');
    expect(r.json.error.code).toBe('NOT_FOUND');
  });
});

describe('live Haier surface (the original answer shapes)', () => {
  test('GET /products/ with codes: {success, data:[...]} in Haier field names', async () => {
    const r = await s.request('GET', `/api/haier/products/?product_codes=${code}`, { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
    expect(r.json.data).toHaveLength(1);
    const p = r.json.data[0];
    expect(p.productCode).toBe(code);
    for (const k of ['productModel', 'productName', 'productGroupNamd', 'productBrandName', 'productImageUrl', 'productLageUrls', 'isSales', 'noSalesReason']) expect(p).toHaveProperty(k);
    expect(['0', '1']).toContain(p.isSales);
    expect(Array.isArray(p.productLageUrls)).toBe(true);
  });

  test('GET /products/ with more than 20 codes answers for all of them (the gateway batches)', async () => {
    const all = await s.request('GET', '/api/haier/products/', { key: s.keys.viewer });
    expect(all.json.data.length).toBeGreaterThanOrEqual(100);
    const codes = all.json.data.slice(0, 45).map((p: { productCode: string }) => p.productCode);
    const r = await s.request('GET', `/api/haier/products/?product_codes=${codes.join(',')}`, { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.data.map((p: { productCode: string }) => p.productCode).sort()).toEqual([...codes].sort());
  });

  test('GET /prices/ answers decimal strings; product_codes is required', async () => {
    const r = await s.request('GET', `/api/haier/prices/?product_codes=${code}`, { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
    const p = r.json.data[0];
    expect(p.productCode).toBe(code);
    for (const k of ['supplyPrice', 'invoicePrice', 'marketPrice', 'stockRebatePolicy', 'rebateMoney', 'isSales']) expect(p).toHaveProperty(k);
    expect(p.supplyPrice).toMatch(decimalRe);
    expectError(await s.request('GET', '/api/haier/prices/', { key: s.keys.viewer }), 400, 'product_codes', 'query parameter product_codes is required');
    expectError(await s.request('GET', '/api/haier/prices/?product_codes=,,', { key: s.keys.viewer }), 400, 'product_codes', 'product_codes: is empty: give at least one Haier product code');
  });

  test('GET /stock/ answers one product in one county; county_code must be 6 digits', async () => {
    const r = await s.request('GET', `/api/haier/stock/?product_code=${code}&county_code=${COUNTY}`, { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ productCode: code, countyCode: COUNTY });
    expect(Number.isInteger(r.json.data.stock)).toBe(true);
    expect(Array.isArray(r.json.data.warehouses)).toBe(true);
    const sum = r.json.data.warehouses.reduce((a: number, w: { stock: number }) => a + w.stock, 0);
    expect(r.json.data.stock).toBe(sum);
    expectError(await s.request('GET', `/api/haier/stock/?product_code=${code}&county_code=12345`, { key: s.keys.viewer }), 400, 'county_code', 'query parameter county_code "12345" is not a county code: 6 digits, the national county code (e.g. 110101)');
    expectError(await s.request('GET', `/api/haier/stock/?county_code=${COUNTY}`, { key: s.keys.viewer }), 400, 'product_code', 'query parameter product_code is required');
  });

  test('GET /balance/ answers the payer accounts', async () => {
    const r = await s.request('GET', '/api/haier/balance/', { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
    expect(r.json.data.length).toBeGreaterThan(0);
    expect(r.json.data[0].payerAccountBalance).toMatch(decimalRe);
    expect(r.json.data[0]).toHaveProperty('payerAccountCode');
  });

  test('GET /logistics/ answers the three lists; order_code is required', async () => {
    const r = await s.request('GET', '/api/haier/logistics/?order_code=SO.20190106.000003&member_id=42', { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.data).sort()).toEqual(['getAllLogisticsInfoByOrderCode', 'getStockDeliveryLogisticsRecord', 'getStockDeliveryLogisticsRecordThirdparty']);
    expect(r.json.data.getAllLogisticsInfoByOrderCode.length).toBeGreaterThan(0);
    expectError(await s.request('GET', '/api/haier/logistics/', { key: s.keys.viewer }), 400, 'order_code', 'query parameter order_code is required');
  });

  test('when Haier fails the answer is 502/503/504 with success:false, never 200 with null data', async () => {
    s.sim.control.faults({ rate500: 1 });
    try {
      const r = await s.request('GET', '/api/haier/balance/', { key: s.keys.viewer });
      expect([502, 503, 504]).toContain(r.status);
      expect(r.json.success).toBe(false);
    } finally {
      s.sim.control.clearFaults();
    }
  });

  test('GET /logs/ is {success, count, total, results} with labels and duration; live calls are recorded', async () => {
    const r = await s.request('GET', '/api/haier/logs/?limit=200', { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).sort()).toEqual(['count', 'results', 'success', 'total']);
    expect(r.json.success).toBe(true);
    // count: this page; total: every entry
    expect(r.json.count).toBe(r.json.results.length);
    expect(r.json.total).toBeGreaterThanOrEqual(r.json.count);
    const small = await s.request('GET', '/api/haier/logs/?limit=1', { key: s.keys.viewer });
    expect([small.json.count, small.json.total]).toEqual([1, r.json.total]);
    const types = new Set(r.json.results.map((e: { sync_type: string }) => e.sync_type));
    for (const t of ['PRODUCTS', 'PRICES', 'STOCK', 'LOGISTICS', 'MANUAL']) expect(types).toContain(t);
    const e = r.json.results.find((x: { sync_type: string }) => x.sync_type === 'PRICES');
    expect(e).toMatchObject({ sync_type_display: 'Price sync', status: 'SUCCESS', status_display: 'Success' });
    for (const k of ['message', 'total_count', 'success_count', 'failed_count', 'started_at', 'completed_at', 'duration']) expect(e).toHaveProperty(k);
    expect(typeof e.duration).toBe('number');
    expect(e.started_at).toMatch(isoRe);
    // the failed balance call is logged as FAILED
    expect(r.json.results.some((x: { sync_type: string; status: string }) => x.sync_type === 'MANUAL' && x.status === 'FAILED')).toBe(true);
    // filters and the limit bound
    const f = await s.request('GET', '/api/haier/logs/?sync_type=PRICES&status=SUCCESS&limit=1', { key: s.keys.viewer });
    expect(f.status).toBe(200);
    expect(f.json.results).toHaveLength(1);
    expect(f.json.results[0].sync_type).toBe('PRICES');
    expectError(await s.request('GET', '/api/haier/logs/?limit=100000', { key: s.keys.viewer }), 400, 'limit', 'query parameter limit must be <= 200');
    expectError(await s.request('GET', '/api/haier/logs/?sync_type=NOPE', { key: s.keys.viewer }), 400, 'sync_type', 'query parameter sync_type "NOPE" is not one of PRODUCTS, PRICES, STOCK, ORDER, LOGISTICS, MANUAL (any case)');
  });

  test('recorded live lookups stay out of the default run list (GET /sync/) and appear with ?include=operations', async () => {
    const logs = await s.request('GET', '/api/haier/logs/?sync_type=LOGISTICS&limit=50', { key: s.keys.viewer });
    expect(logs.status).toBe(200);
    expect(logs.json.results.length).toBeGreaterThan(0);
    const lookupIds = new Set<string>(logs.json.results.map((e: { id: string }) => String(e.id)));
    const runs = await s.request('GET', '/api/haier/sync/?page_size=200', { key: s.keys.viewer });
    expect(runs.status).toBe(200);
    expect(runs.json.results.filter((r: { id: string }) => lookupIds.has(String(r.id)))).toEqual([]);
    const withOps = await s.request('GET', '/api/haier/sync/?page_size=200&include=operations', { key: s.keys.viewer });
    expect(withOps.status).toBe(200);
    expect(withOps.json.results.filter((r: { id: string }) => lookupIds.has(String(r.id))).length).toBe(lookupIds.size);
    expectError(await s.request('GET', '/api/haier/sync/?include=everything', { key: s.keys.viewer }), 400, 'include', 'query parameter include "everything" is not one of operations');
  });
});

describe('sync runs', () => {
  test('POST /sync/ answers 202 with the run; a second full run while it is active is 409 with its id', async () => {
    const body = { mode: 'FULL', options: { prices: true, stock: true, county_codes: [COUNTY] } };
    const r = await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body });
    expect(r.status).toBe(202);
    expect(r.json.success).toBe(true);
    const run = r.json.data;
    runId = run.id;
    expect(run).toMatchObject({ mode: 'FULL', trigger: 'MANUAL', started_by: 'stack-operator', finished: false });
    expect(['PENDING', 'PROCESSING']).toContain(run.status);
    expect(r.headers.get('location')).toBe(`/api/haier/sync/${run.id}/`);
    for (const k of ['total', 'succeeded', 'failed', 'batches_total', 'batches_done']) expect(run.counts).toHaveProperty(k);

    const again = await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body });
    expectError(again, 409, undefined, `A FULL run is already active (${run.id}); follow it at /api/haier/sync/${run.id}/ or cancel it first.`);
    expect(again.json.error.run_id).toBe(run.id);
    // no mode and no scope is a FULL run, the one default of REST, the CLI and gRPC: it meets the active FULL
    const dflt = await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: {} });
    expectError(dflt, 409);
    expect(dflt.json.error.run_id).toBe(run.id);
  });

  test('GET /sync/{id}/events/ streams progress as SSE until the run ends', async () => {
    const sse = await readSse(`${s.baseUrl}/api/haier/sync/${runId}/events/`, s.keys.viewer, { timeoutMs: 150_000 });
    expect(sse.status).toBe(200);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    const progress = sse.events.filter((e) => e.event === 'progress');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    const last = sse.events[sse.events.length - 1];
    expect(last?.event).toBe('end');
    expect(last?.json.id).toBe(runId);
    expect(last?.json.finished).toBe(true);
    expect(last?.json.status).toBe('SUCCESS');
    expect(last?.json.counts.total).toBeGreaterThanOrEqual(100);
    // counts never go backwards
    const done = progress.map((e) => e.json.counts.batches_done as number);
    expect([...done].sort((a, b) => a - b)).toEqual(done);
    // a finished run's stream answers at once: the final state, then end
    const again = await readSse(`${s.baseUrl}/api/haier/sync/${runId}/events/`, s.keys.viewer, { timeoutMs: 10_000 });
    expect(again.events.map((e) => e.event)).toEqual(['progress', 'end']);
  }, 180_000);

  test('GET /sync/{id}/ answers the run; unknown ids are 404, malformed ids 400', async () => {
    const r = await s.request('GET', `/api/haier/sync/${runId}/`, { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ id: runId, status: 'SUCCESS', finished: true, mode: 'FULL' });
    expect(r.json.data.completed_at).toMatch(isoRe);
    expect(typeof r.json.data.duration).toBe('number');
    expectError(await s.request('GET', '/api/haier/sync/999999/', { key: s.keys.viewer }), 404, undefined, 'there is no run 999999; list runs with ListRuns (haier-sync runs list)');
    expectError(await s.request('GET', "/api/haier/sync/1'%20or%201=1/", { key: s.keys.viewer }), 400, 'id', 'path parameter id "1\' or 1=1" is not a run id: a whole number from 1 to 9223372036854775807 (see the list of runs) (e.g. 42)');
    expectError(await s.request('GET', `/api/haier/sync/999999/events/`, { key: s.keys.viewer }), 404, undefined, 'there is no run 999999; list runs with ListRuns (haier-sync runs list)');
  });

  test('GET /sync/ lists runs with filters: {success, count, total, has_more, results, next_cursor}', async () => {
    const r = await s.request('GET', '/api/haier/sync/?trigger=MANUAL&page_size=10', { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.results.some((x: { id: string }) => x.id === runId)).toBe(true);
    expect(r.json.results.every((x: { trigger: string }) => x.trigger === 'MANUAL')).toBe(true);
    expect(r.json).toHaveProperty('next_cursor');
    // paging is shown over runs and recorded lookups together: this suite has started one sync run
    const page = await s.request('GET', '/api/haier/sync/?page_size=1&include=operations', { key: s.keys.viewer });
    expect(page.json.results).toHaveLength(1);
    // count is this page, total every matching run, has_more that a next page follows
    expect(page.json.count).toBe(1);
    expect(page.json.total).toBeGreaterThan(1);
    expect(page.json.has_more).toBe(true);
    expect(typeof page.json.next_cursor).toBe('string');
    const next = await s.request('GET', `/api/haier/sync/?page_size=1&include=operations&cursor=${encodeURIComponent(page.json.next_cursor)}`, { key: s.keys.viewer });
    expect(next.status).toBe(200);
    expect(next.json.results[0].id).not.toBe(page.json.results[0].id);
    expectError(await s.request('GET', '/api/haier/sync/?status=SOMETIMES', { key: s.keys.viewer }), 400, 'status', 'query parameter status "SOMETIMES" is not one of PENDING, PROCESSING, SUCCESS, FAILED, PARTIAL, CANCELLED (any case)');
  });

  test('POST /sync/ validates its body with the field named', async () => {
    expectError(await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: { mode: 'SOMETIMES' } }), 400, 'mode', 'field mode "SOMETIMES" is not one of FULL, INCREMENTAL (any case)');
    expectError(await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: { scope: { product_codes: ['ok', 'no spaces'] } } }), 400, 'scope.product_codes[1]', 'field scope.product_codes[1] "no spaces" is not a Haier product code: 1 to 40 letters, digits, ".", "_" or "-", starting with a letter or digit (e.g. GA0SZC00U)');
    expectError(await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: { options: { stock: true } } }), 400, 'options.county_codes', 'options.county_codes: give at least one county code when options.stock is true');
    expectError(await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: '{not json' }), 400, undefined, 'The request body is not valid JSON (or is empty while Content-Type says JSON).');
  });

  test('POST /sync/{id}/cancel/ cancels an active run', async () => {
    s.sim.control.configure({ latencyMs: 400 });
    try {
      const r = await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: { mode: 'INCREMENTAL', scope: { limit: 100 }, options: { prices: true, stock: true, county_codes: [COUNTY] } } });
      expect(r.status).toBe(202);
      const c = await s.request('POST', `/api/haier/sync/${r.json.data.id}/cancel/`, { key: s.keys.operator });
      expect(c.status).toBe(200);
      expect(c.json.data.id).toBe(r.json.data.id);
      expect(['CANCELLED', 'PROCESSING', 'PENDING']).toContain(c.json.data.status);
      const sse = await readSse(`${s.baseUrl}/api/haier/sync/${r.json.data.id}/events/`, s.keys.viewer, { timeoutMs: 60_000 });
      expect(sse.events[sse.events.length - 1]?.json.status).toBe('CANCELLED');
    } finally {
      s.sim.control.configure({ latencyMs: 5 });
    }
  }, 90_000);

  test('POST /sync/{id}/retry-failed/ starts a MANUAL run over exactly the failed codes (202, retry_of); nothing failed is 409', async () => {
    const codes = listing.slice(40, 52).map((p) => p.productCode);
    s.sim.control.faults({ malformedRate: 1 }); // one malformed row in every answer: those products fail
    let failedRun: { id: string; status: string; failed_items: Array<{ product_code: string }> };
    try {
      const r = await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: { mode: 'INCREMENTAL', scope: { product_codes: codes }, options: { prices: true } } });
      expect(r.status).toBe(202);
      const sse = await readSse(`${s.baseUrl}/api/haier/sync/${r.json.data.id}/events/`, s.keys.viewer, { timeoutMs: 60_000 });
      failedRun = sse.events[sse.events.length - 1]!.json;
    } finally {
      s.sim.control.clearFaults();
    }
    expect(failedRun.status).toBe('PARTIAL');
    const failed = failedRun.failed_items.map((f) => f.product_code).sort();
    const viewer = await s.request('POST', `/api/haier/sync/${failedRun.id}/retry-failed/`, { key: s.keys.viewer });
    expect(viewer.status).toBe(403);
    const retry = await s.request('POST', `/api/haier/sync/${failedRun.id}/retry-failed/`, { key: s.keys.operator });
    expect(retry.status).toBe(202);
    expect(retry.headers.get('location')).toBe(`/api/haier/sync/${retry.json.data.id}/`);
    expect(retry.json.data).toMatchObject({ sync_type: 'MANUAL', retry_of: failedRun.id });
    expect([...retry.json.data.scope.product_codes].sort()).toEqual(failed);
    const sse = await readSse(`${s.baseUrl}/api/haier/sync/${retry.json.data.id}/events/`, s.keys.viewer, { timeoutMs: 60_000 });
    const end = sse.events[sse.events.length - 1]!.json;
    expect(end).toMatchObject({ status: 'SUCCESS', retry_of: failedRun.id });
    const nothing = await s.request('POST', `/api/haier/sync/${retry.json.data.id}/retry-failed/`, { key: s.keys.operator });
    expect(nothing.status).toBe(409);
    expect(nothing.json.error).toMatchObject({ code: 'FAILED_PRECONDITION', message: `run ${retry.json.data.id} ended SUCCESS with no failed products; there is nothing to retry` });
    expectError(await s.request('POST', '/api/haier/sync/abc/retry-failed/', { key: s.keys.operator }), 400);
  }, 120_000);

  test('a dry run (scoped to codes) plans the changes and writes nothing', async () => {
    const all = await s.request('GET', '/api/haier/catalog/products/?page_size=5&sort=code&is_sales=true', { key: s.keys.viewer });
    const target = all.json.results.find((p: { product_code: string }) => p.product_code !== code);
    s.sim.control.setPrice(target.product_code, { supplyPrice: (Number(target.supply_price) + 55).toFixed(2) });
    const r = await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: { mode: 'INCREMENTAL', scope: { product_codes: [target.product_code] }, options: { prices: true }, dry_run: true } });
    expect(r.status).toBe(202);
    expect(r.json.data.options.dry_run).toBe(true);
    expect(r.json.data.scope.product_codes).toEqual([target.product_code]);
    const sse = await readSse(`${s.baseUrl}/api/haier/sync/${r.json.data.id}/events/`, s.keys.viewer, { timeoutMs: 60_000 });
    const end = sse.events[sse.events.length - 1]!;
    expect(end.event).toBe('end');
    expect(end.json.finished).toBe(true);
    expect(end.json.planned_changes.join('\n')).toContain(target.product_code);
    const after = await s.request('GET', `/api/haier/catalog/products/${target.product_code}/`, { key: s.keys.viewer });
    expect(after.json.data.supply_price).toBe(target.supply_price);
    expect(after.json.data.version).toBe(target.version);
  }, 90_000);

  test('an SSE follower that goes away is audited once, as 499', async () => {
    s.sim.control.configure({ latencyMs: 300 });
    let id = '';
    try {
      const r = await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: { mode: 'INCREMENTAL', scope: { limit: 60 }, options: { prices: true } } });
      expect(r.status).toBe(202);
      id = r.json.data.id;
      const ctrl = new AbortController();
      const res = await fetch(`${s.baseUrl}/api/haier/sync/${id}/events/`, { headers: { authorization: `Bearer ${s.keys.viewer}` }, signal: ctrl.signal });
      const reader = res.body!.getReader();
      await reader.read(); // the first progress event
      ctrl.abort();
      await new Promise((res2) => setTimeout(res2, 500));
      await s.flushAudit();
      const rows = await s.pg.query('select status from edge.audit_log where path = $1', [`/api/haier/sync/${id}/events/`]);
      expect(rows.rows).toEqual([{ status: 499 }]);
    } finally {
      s.sim.control.configure({ latencyMs: 5 });
      if (id) await s.request('POST', `/api/haier/sync/${id}/cancel/`, { key: s.keys.operator });
    }
  }, 60_000);
});

describe('catalog', () => {
  test('GET /catalog/products/ pages with a cursor and sorts; answers the product fields', async () => {
    const first = await s.request('GET', '/api/haier/catalog/products/?page_size=30&sort=code', { key: s.keys.viewer });
    expect(first.status).toBe(200);
    expect(first.json.results).toHaveLength(30);
    expect(typeof first.json.next_cursor).toBe('string');
    const p = first.json.results[0];
    for (const k of ['product_code', 'product_model', 'name', 'category', 'brand', 'product_image_url', 'product_page_urls', 'supply_price', 'invoice_price', 'market_price', 'stock_rebate', 'rebate_money', 'display_price', 'pinned_price', 'is_sales', 'no_sales_reason', 'stock', 'version', 'last_synced_at']) {
      expect(p).toHaveProperty(k);
    }
    const codes = first.json.results.map((x: { product_code: string }) => x.product_code);
    expect([...codes].sort()).toEqual(codes);
    const second = await s.request('GET', `/api/haier/catalog/products/?page_size=30&sort=code&cursor=${encodeURIComponent(first.json.next_cursor)}`, { key: s.keys.viewer });
    expect(second.status).toBe(200);
    expect(second.json.results[0].product_code > codes[codes.length - 1]).toBe(true);
    const desc = await s.request('GET', '/api/haier/catalog/products/?page_size=5&sort=-display_price', { key: s.keys.viewer });
    const prices = desc.json.results.map((x: { display_price: string | null }) => Number(x.display_price ?? -1));
    expect([...prices].sort((a, b) => b - a)).toEqual(prices);
  });

  test('GET /catalog/products/ filters by category, brand, is_sales and text', async () => {
    const one = await s.request('GET', `/api/haier/catalog/products/${code}/`, { key: s.keys.viewer });
    const { category, brand } = one.json.data;
    const r = await s.request('GET', `/api/haier/catalog/products/?category=${encodeURIComponent(category)}&brand=${encodeURIComponent(brand)}&is_sales=true&page_size=500`, { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.results.length).toBeGreaterThan(0);
    for (const x of r.json.results) expect(x).toMatchObject({ category, brand, is_sales: true });
    const q = await s.request('GET', `/api/haier/catalog/products/?q=${code.toLowerCase()}`, { key: s.keys.viewer });
    expect(q.json.results.map((x: { product_code: string }) => x.product_code)).toContain(code);
    expectError(await s.request('GET', '/api/haier/catalog/products/?page_size=0', { key: s.keys.viewer }), 400, 'page_size', 'query parameter page_size must be >= 1');
    expectError(await s.request('GET', '/api/haier/catalog/products/?sort=price;drop', { key: s.keys.viewer }), 400, 'sort', 'query parameter sort "price;drop" is not valid: One of code, name, display_price, updated_at, stock; prefix "-" for descending');
    expectError(await s.request('GET', '/api/haier/catalog/products/?min_price=abc', { key: s.keys.viewer }), 400, 'min_price', 'query parameter min_price "abc" is not a decimal amount: digits with an optional "." and at most 4 decimals, at most 16 digits before the point, no sign or exponent (e.g. 1299.50)');
    const badCursor = await s.request('GET', '/api/haier/catalog/products/?cursor=not-a-cursor', { key: s.keys.viewer });
    expect(badCursor.status).toBe(400);
  });

  test('GET /catalog/products/{code}/ answers one product with stock per county; unknown is 404', async () => {
    const r = await s.request('GET', `/api/haier/catalog/products/${code}/`, { key: s.keys.viewer });
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
    const p = r.json.data;
    expect(p.product_code).toBe(code);
    expect(p.supply_price).toMatch(decimalRe);
    expect(p.display_price).toBe(p.supply_price);
    expect(p.county_stock.map((c: { county_code: string }) => c.county_code)).toContain(COUNTY);
    expect(p.last_synced_at).toMatch(isoRe);
    expectError(await s.request('GET', '/api/haier/catalog/products/NOSUCHCODE1/', { key: s.keys.viewer }), 404, undefined, 'product "NOSUCHCODE1" is not in the catalog; check the code or run a sync first');
  });

  test('catalog reads are revalidated, not refetched: a weak ETag, 304 on If-None-Match, a new ETag once the product changes', async () => {
    // runs of earlier tests may still be writing the catalog (on a busy machine): let them end first
    await waitFor(
      async () => {
        for (const status of ['PENDING', 'PROCESSING']) {
          if ((await s.request('GET', `/api/haier/sync/?status=${status}&include=operations`, { key: s.keys.viewer })).json.count > 0) return undefined;
        }
        return true;
      },
      { timeoutMs: 120_000, what: 'no run or operation still writing the catalog' },
    );
    const url = `/api/haier/catalog/products/${code}/`;
    // a cancelled run's batches that were in flight still land their writes (a price check moves
    // price_checked_at): wait until the product has stayed the same for 2 s
    let seen = { tag: '', at: 0 };
    await waitFor(
      async () => {
        const tagNow = (await s.request('GET', url, { key: s.keys.viewer })).headers.get('etag') ?? '';
        if (tagNow !== seen.tag) seen = { tag: tagNow, at: Date.now() };
        return Date.now() - seen.at >= 2_000 || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: `product ${code} to stay unchanged for 2 s` },
    );
    const first = await s.request('GET', url, { key: s.keys.viewer });
    const tag = first.headers.get('etag');
    expect([first.status, first.headers.get('cache-control')]).toEqual([200, 'private, no-cache']);
    expect(tag).toMatch(/^W\/"[^"]+"$/);
    const same = await s.request('GET', url, { key: s.keys.viewer, headers: { 'if-none-match': tag! } });
    expect([same.status, same.text]).toEqual([304, '']);
    // a list page and the categories carry one too
    for (const path of ['/api/haier/catalog/products/?page_size=5', '/api/haier/catalog/categories/']) {
      const page = await s.request('GET', path, { key: s.keys.viewer });
      const pageTag = page.headers.get('etag')!;
      expect([path, page.headers.get('cache-control'), pageTag]).toEqual([path, 'private, no-cache', expect.stringMatching(/^W\//)]);
      expect((await s.request('GET', path, { key: s.keys.viewer, headers: { 'if-none-match': pageTag } })).status).toBe(304);
    }
    // the product changes (a pinned price): the old tag no longer matches
    expect((await s.request('PUT', `${url}pinned-price/`, { key: s.keys.operator, body: { price: '1.23' } })).status).toBe(200);
    try {
      const changed = await s.request('GET', url, { key: s.keys.viewer, headers: { 'if-none-match': tag! } });
      expect(changed.status).toBe(200);
      expect(changed.headers.get('etag')).not.toBe(tag);
      expect(Number(changed.json.data.display_price)).toBe(1.23);
    } finally {
      await s.request('DELETE', `${url}pinned-price/`, { key: s.keys.operator });
    }
    // other answers are not kept at all
    expect((await s.request('GET', '/api/haier/sync/', { key: s.keys.viewer })).headers.get('cache-control')).toBe('no-store');
  });

  test('GET categories and brands answer names with product counts', async () => {
    for (const path of ['categories', 'brands']) {
      const r = await s.request('GET', `/api/haier/catalog/${path}/`, { key: s.keys.viewer });
      expect(r.status).toBe(200);
      expect(r.json.data.length).toBeGreaterThan(0);
      const total = r.json.data.reduce((a: number, c: { product_count: number }) => a + c.product_count, 0);
      expect(total).toBeGreaterThanOrEqual(100);
      expect(r.json.data[0]).toEqual({ id: expect.any(Number), name: expect.any(String), product_count: expect.any(Number) });
    }
  });

  /** The run a per-product action made, read back over REST. */
  const runOf = async (id: string) => (await s.request('GET', `/api/haier/sync/${id}/`, { key: s.keys.viewer })).json.data;

  test('POST sync-price is a MANUAL run of that product: the price change lands with the run id in price history and right counts', async () => {
    const before = (await s.request('GET', `/api/haier/catalog/products/${code}/`, { key: s.keys.viewer })).json.data;
    const newPrice = (Number(before.supply_price) + 100).toFixed(2);
    s.sim.control.setPrice(code, { supplyPrice: newPrice });
    const r = await s.request('POST', `/api/haier/catalog/products/${code}/sync-price/`, { key: s.keys.operator });
    expect(r.status).toBe(200);
    expect(r.json.changed).toBe(true);
    expect(r.json.changed_fields).toContain('supply_price');
    expect(Number(r.json.data.supply_price)).toBe(Number(newPrice));
    expect(r.json.data.version).toBeGreaterThan(before.version);
    const runId = r.json.run_id as string;
    expect(runId).toMatch(/\S/);
    expect(r.json.message).toBe(`Prices of ${code} updated: ${r.json.changed_fields.join(', ')}; run ${runId}`);

    // the run: MANUAL, this product only, one item updated, nothing failed
    const run = await runOf(runId);
    expect(run).toMatchObject({ sync_type: 'MANUAL', trigger: 'MANUAL', status: 'SUCCESS', started_by: 'stack-operator', finished: true });
    expect(run.scope.product_codes).toEqual([code]);
    expect(run.options).toMatchObject({ prices: true, stock: false });
    expect(run.counts).toMatchObject({ total: 1, succeeded: 1, failed: 0, created: 0, updated: 1, unchanged: 0 });

    // the latest price-history row is this change, carrying the run id
    const h = await s.request('GET', `/api/haier/catalog/products/${code}/price-history/`, { key: s.keys.viewer });
    expect(h.status).toBe(200);
    const change = h.json.data.find((c: { field: string }) => c.field === 'supply_price');
    expect(change).toMatchObject({ run_id: runId });
    expect(h.json.data[0].run_id).toBe(runId);
    expect(Number(change.from)).toBe(Number(before.supply_price));
    expect(Number(change.to)).toBe(Number(newPrice));
    expect(change.changed_at).toMatch(isoRe);

    // unchanged the second time: a new run, counted unchanged
    const again = await s.request('POST', `/api/haier/catalog/products/${code}/sync-price/`, { key: s.keys.operator });
    expect(again.status).toBe(200);
    expect(again.json.changed).toBe(false);
    expect(again.json.changed_fields).toEqual([]);
    expect(again.json.run_id).not.toBe(runId);
    expect((await runOf(again.json.run_id)).counts).toMatchObject({ total: 1, succeeded: 1, failed: 0, updated: 0, unchanged: 1 });
    expectError(await s.request('GET', '/api/haier/catalog/products/NOSUCHCODE1/price-history/', { key: s.keys.viewer }), 404, undefined, 'product "NOSUCHCODE1" is not in the catalog; check the code or run a sync first');
  });

  test("POST sync-price takes is_sales and its reason from Haier's product record (the orchestrator's merge), not from the price record", async () => {
    // a product Haier lists as not procurable: its price record says "商品暂不可采", the product record its own reason
    const notSold = listing.find((p) => p.isSales === '0' && p.noSalesReason);
    expect(notSold).toBeDefined();
    const sim = s.sim.control.product(notSold!.productCode)!;
    expect(sim.reason).toBeDefined();
    expect(sim.reason).not.toBe(notSold!.noSalesReason);
    const r = await s.request('POST', `/api/haier/catalog/products/${notSold!.productCode}/sync-price/`, { key: s.keys.operator });
    expect(r.status).toBe(200);
    expect(r.json.data.is_sales).toBe(false);
    expect(r.json.data.no_sales_reason).toBe(notSold!.noSalesReason);
    expect((await runOf(r.json.run_id)).counts).toMatchObject({ total: 1, succeeded: 1, failed: 0 });
  });

  test('POST sync-price answers 504 with the run id when the run takes longer than EDGE_ACTION_TIMEOUT_MS; the run goes on and ends', async () => {
    const other = listing.filter((p) => p.isSales === '1')[1]!.productCode;
    s.sim.control.configure({ latencyMs: 2_500 }); // two calls to Haier: at least 5 s, above the edge's 4 s
    let r;
    try {
      r = await s.request('POST', `/api/haier/catalog/products/${other}/sync-price/`, { key: s.keys.operator });
    } finally {
      s.sim.control.configure({ latencyMs: 5 });
    }
    expectError(r, 504);
    expect(r.json.error.code).toBe('RUN_TIMEOUT');
    const runId = r.json.error.run_id as string;
    expect(r.json.error.message).toBe(`Syncing the prices of ${other} (run ${runId}) has not ended after 4 s; it goes on: follow it at /api/haier/sync/${runId}/.`);
    const ended = await (async () => {
      for (let i = 0; i < 150; i++) {
        const run = await runOf(runId);
        if (run.finished) return run;
        await new Promise((res) => setTimeout(res, 200));
      }
      throw new Error(`run ${runId} did not end`);
    })();
    expect(ended).toMatchObject({ sync_type: 'MANUAL', status: 'SUCCESS' });
    expect(ended.counts).toMatchObject({ total: 1, succeeded: 1, failed: 0 });
  });

  test('POST sync-price when Haier refuses the account is a failed run: 502 naming the run and what to check', async () => {
    const other = listing.filter((p) => p.isSales === '1')[2]!.productCode;
    s.sim.control.faults({ failNext: { status: 403, count: 10, endpoint: 'prices' } });
    let r;
    try {
      r = await s.request('POST', `/api/haier/catalog/products/${other}/sync-price/`, { key: s.keys.operator });
    } finally {
      s.sim.control.clearFaults();
    }
    expectError(r, 502);
    expect(r.json.error.code).toBe('SYNC_FAILED');
    const runId = r.json.error.run_id as string;
    const run = await runOf(runId);
    expect(run).toMatchObject({ sync_type: 'MANUAL', status: 'FAILED' });
    expect(r.json.error.message).toBe(`Syncing the prices of ${other} failed (run ${runId}): ${run.message}`);
    expect(run.message).toMatch(/Haier refused the account .*check the active Haier config and its credentials/);
  });

  test('POST sync-stock refreshes one county; county_code is validated', async () => {
    const r = await s.request('POST', `/api/haier/catalog/products/${code}/sync-stock/`, { key: s.keys.operator, body: { county_code: '110102' } });
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
    const county = r.json.data.county_stock.find((c: { county_code: string }) => c.county_code === '110102');
    expect(county).toBeDefined();
    const haier = s.sim.control.stock(code, '110102').reduce((n, e) => n + Number(e.stock), 0);
    expect(Number(county.quantity)).toBe(haier);
    expect(r.json.changed).toBe(true); // the county had no stock row before
    expect(r.json.message).toBe(`Stock of ${code} in 110102: ${haier} (updated); run ${r.json.run_id}`);
    const run = await runOf(r.json.run_id);
    expect(run).toMatchObject({ sync_type: 'MANUAL', status: 'SUCCESS' });
    expect(run.scope.product_codes).toEqual([code]);
    expect(run.options).toMatchObject({ prices: false, stock: true, county_codes: ['110102'] });
    expect(run.counts).toMatchObject({ total: 1, succeeded: 1, failed: 0 });
    const again = await s.request('POST', `/api/haier/catalog/products/${code}/sync-stock/`, { key: s.keys.operator, body: { county_code: '110102' } });
    expect(again.json.changed).toBe(false);
    expectError(await s.request('POST', `/api/haier/catalog/products/${code}/sync-stock/`, { key: s.keys.operator, body: { county_code: '11010' } }), 400, 'county_code', 'field county_code "11010" is not a county code: 6 digits, the national county code (e.g. 110101)');
    expectError(await s.request('POST', `/api/haier/catalog/products/${code}/sync-stock/`, { key: s.keys.operator, body: {} }), 400, 'county_code', 'field county_code is required');
  });

  test('PUT/DELETE pinned-price: the pin is displayed and survives a price sync', async () => {
    const pin = await s.request('PUT', `/api/haier/catalog/products/${code}/pinned-price/`, { key: s.keys.operator, body: { price: '1999.50' } });
    expect(pin.status).toBe(200);
    expect(Number(pin.json.data.pinned_price)).toBe(1999.5);
    expect(Number(pin.json.data.display_price)).toBe(1999.5);
    s.sim.control.setPrice(code, { supplyPrice: '4321.00' });
    const synced = await s.request('POST', `/api/haier/catalog/products/${code}/sync-price/`, { key: s.keys.operator });
    expect(Number(synced.json.data.supply_price)).toBe(4321);
    expect(Number(synced.json.data.display_price)).toBe(1999.5);
    const unpin = await s.request('DELETE', `/api/haier/catalog/products/${code}/pinned-price/`, { key: s.keys.operator });
    expect(unpin.status).toBe(200);
    expect(unpin.json.data.pinned_price).toBeNull();
    expect(Number(unpin.json.data.display_price)).toBe(4321);
    expectError(await s.request('PUT', `/api/haier/catalog/products/${code}/pinned-price/`, { key: s.keys.operator, body: { price: 'free' } }), 400, 'price', 'field price "free" is not a decimal amount: digits with an optional "." and at most 4 decimals, at most 16 digits before the point, no sign or exponent (e.g. 1299.50)');
    expectError(await s.request('PUT', `/api/haier/catalog/products/${code}/pinned-price/`, { key: s.keys.operator, body: { price: '0' } }), 400, 'price', 'price: must be greater than 0');
    expectError(await s.request('PUT', '/api/haier/catalog/products/NOSUCHCODE1/pinned-price/', { key: s.keys.operator, body: { price: '10' } }), 404, undefined, 'product "NOSUCHCODE1" is not in the catalog; check the code or run a sync first');
  });
});

describe('Haier configs', () => {
  let id: number;
  test('POST /config/ creates (201); secrets are referenced by name and masked when given', async () => {
    const r = await s.request('POST', '/api/haier/config/', {
      key: s.keys.admin,
      body: { name: 'contract-test', environment: 'test', settings: { base_url: s.sim.url, customer_code: '8800633175', client_secret_env: 'HAIER_CLIENT_SECRET', client_secret: 'do-not-echo-this-secret-123' } },
    });
    if (r.status !== 201) {
      // the orchestrator may refuse a secret value in settings outright: that is also right
      expectError(r, 400, undefined, 'settings.client_secret: client_secret looks like a secret with a literal value; secrets are not stored in configs. Put it in an environment variable and reference it as "client_secret_env": "<VARIABLE_NAME>"');
      const ok = await s.request('POST', '/api/haier/config/', { key: s.keys.admin, body: { name: 'contract-test', environment: 'test', settings: { base_url: s.sim.url, customer_code: '8800633175', client_secret_env: 'HAIER_CLIENT_SECRET' } } });
      expect(ok.status).toBe(201);
      id = ok.json.data.id;
      expect(ok.text).not.toContain('do-not-echo-this-secret-123');
      return;
    }
    expect(r.text).not.toContain('do-not-echo-this-secret-123');
    id = r.json.data.id;
    expect(r.json.data).toMatchObject({ name: 'contract-test', environment: 'test', active: false });
    expect(r.json.data.settings.client_secret_env).toBe('HAIER_CLIENT_SECRET');
  });

  test('GET /config/ and /config/{id}/ list and read it, secrets masked', async () => {
    const list = await s.request('GET', '/api/haier/config/', { key: s.keys.admin });
    expect(list.status).toBe(200);
    expect(list.json.results.map((c: { id: number }) => c.id)).toContain(id);
    expect(list.text).not.toContain('do-not-echo-this-secret-123');
    const one = await s.request('GET', `/api/haier/config/${id}/`, { key: s.keys.admin });
    expect(one.status).toBe(200);
    expect(one.json.data.id).toBe(id);
    expect(one.json.data.created_at).toMatch(isoRe);
    expectError(await s.request('GET', '/api/haier/config/999999/', { key: s.keys.admin }), 404, undefined, 'no Haier config with id 999999; list them with ListConfigs (haier-sync config list)');
    expectError(await s.request('GET', '/api/haier/config/abc/', { key: s.keys.admin }), 400, 'id', 'path parameter id "abc" is not a config id: a whole number from 1 to 9223372036854775807 (see the list of configs) (e.g. 1)');
  });

  test('PATCH/PUT /config/{id}/ update it', async () => {
    const r = await s.request('PATCH', `/api/haier/config/${id}/`, { key: s.keys.admin, body: { name: 'contract-test-2' } });
    expect(r.status).toBe(200);
    expect(r.json.data.name).toBe('contract-test-2');
    expectError(await s.request('PUT', `/api/haier/config/${id}/`, { key: s.keys.admin, body: { name: 'x' } }), 400, undefined, 'field environment is required');
  });

  test('POST /config/{id}/test/ answers {success, message}', async () => {
    const r = await s.request('POST', `/api/haier/config/${id}/test/`, { key: s.keys.admin });
    expect(r.status).toBe(200);
    expect(typeof r.json.success).toBe('boolean');
    expect(r.json.message.length).toBeGreaterThan(0);
  });

  test('POST /config/{id}/activate/ makes it the active one', async () => {
    const r = await s.request('POST', `/api/haier/config/${id}/activate/`, { key: s.keys.admin });
    expect(r.status).toBe(200);
    expect(r.json.data).toMatchObject({ id, active: true });
    expect(r.json).toHaveProperty('triggered_run_id');
  });

  test('DELETE /config/{id}/ removes an inactive config (204); unknown is 404', async () => {
    const made = await s.request('POST', '/api/haier/config/', { key: s.keys.admin, body: { name: 'to-delete', environment: 'test', settings: {} } });
    expect(made.status).toBe(201);
    const d = await s.request('DELETE', `/api/haier/config/${made.json.data.id}/`, { key: s.keys.admin });
    expect(d.status).toBe(204);
    expectError(await s.request('GET', `/api/haier/config/${made.json.data.id}/`, { key: s.keys.admin }), 404, undefined, `no Haier config with id ${made.json.data.id}; list them with ListConfigs (haier-sync config list)`);
    expectError(await s.request('DELETE', '/api/haier/config/999999/', { key: s.keys.admin }), 404, undefined, 'no Haier config with id 999999; list them with ListConfigs (haier-sync config list)');
  });
});

describe('keys and audit (admin)', () => {
  test('POST /keys/ shows the key once; GET /keys/ never shows keys', async () => {
    const r = await s.request('POST', '/api/haier/keys/', { key: s.keys.admin, body: { name: 'contract-key', role: 'viewer' } });
    expect(r.status).toBe(201);
    expect(r.json.key).toMatch(/^hs_[0-9A-Za-z]{40}$/);
    expect(r.json.data).toMatchObject({ name: 'contract-key', role: 'viewer', revoked_at: null });
    const list = await s.request('GET', '/api/haier/keys/', { key: s.keys.admin });
    expect(list.status).toBe(200);
    expect(list.json.results.map((k: { name: string }) => k.name)).toContain('contract-key');
    expect(list.text).not.toContain(r.json.key);
    expect(list.text).not.toContain(s.keys.viewer);
    const dup = await s.request('POST', '/api/haier/keys/', { key: s.keys.admin, body: { name: 'contract-key', role: 'viewer' } });
    expectError(dup, 409, undefined, 'A key named "contract-key" already exists (or the key itself is already registered); choose another name.');
    expectError(await s.request('POST', '/api/haier/keys/', { key: s.keys.admin, body: { name: 'x', role: 'root' } }), 400, 'role', 'field role "root" is not one of viewer, operator, admin');
    const del = await s.request('DELETE', '/api/haier/keys/contract-key/', { key: s.keys.admin });
    expect(del.status).toBe(200);
    expect(del.json.data.revoked_at).toMatch(isoRe);
    expectError(await s.request('DELETE', '/api/haier/keys/no-such-key/', { key: s.keys.admin }), 404, undefined, 'No key named "no-such-key"; see the names with `haier-sync keys list`.');
  });

  test('GET /audit/ answers {success, count, has_more, results, next_cursor} with the calls made, without secrets', async () => {
    await s.flushAudit();
    const r = await s.request('GET', '/api/haier/audit/?limit=1000', { key: s.keys.admin });
    expect(r.status).toBe(200);
    expect(r.json.success).toBe(true);
    expect(r.json.count).toBe(r.json.results.length);
    expect(r.json.count).toBeGreaterThan(20);
    const two = await s.request('GET', '/api/haier/audit/?limit=2', { key: s.keys.admin });
    expect([two.json.count, two.json.has_more, typeof two.json.next_cursor]).toEqual([2, true, 'string']);
    const row = r.json.results.find((x: { path: string; method: string; status: number }) => x.method === 'PUT' && x.path.endsWith('/pinned-price/') && x.status === 200);
    expect(row).toMatchObject({ key_name: 'stack-operator', status: 200 });
    expect(row.params.body).toEqual({ price: '1999.50' });
    expect(typeof row.duration_ms).toBe('number');
    // the SSE stream is audited too, with how long it was open
    const sse = r.json.results.find((x: { path: string; status: number }) => x.path === `/api/haier/sync/${runId}/events/` && x.status === 200);
    expect(sse).toMatchObject({ key_name: 'stack-viewer', method: 'GET' });
    // refused calls are audited as well
    expect(r.json.results.some((x: { status: number }) => x.status === 404)).toBe(true);
    expect(r.text).not.toContain(s.keys.operator);
    expect(r.text).not.toContain(s.adminKey);
    const f = await s.request('GET', '/api/haier/audit/?method=POST&path=/api/haier/sync/&limit=5', { key: s.keys.admin });
    expect(f.json.results.length).toBeGreaterThan(0);
    for (const x of f.json.results) expect(x).toMatchObject({ method: 'POST' });
    expectError(await s.request('GET', '/api/haier/audit/?limit=5000', { key: s.keys.admin }), 400, 'limit', 'query parameter limit must be <= 1000');
    // cursor pages: newest first, no overlap
    const p1 = await s.request('GET', '/api/haier/audit/?limit=3', { key: s.keys.admin });
    expect(p1.json.results).toHaveLength(3);
    const p2 = await s.request('GET', `/api/haier/audit/?limit=3&cursor=${p1.json.next_cursor}`, { key: s.keys.admin });
    expect(p2.json.results).toHaveLength(3);
    expect(Number(p2.json.results[0].id)).toBeLessThan(Number(p1.json.results[2].id));
    expectError(await s.request('GET', '/api/haier/audit/?cursor=abc', { key: s.keys.admin }), 400, 'cursor', 'query parameter cursor "abc" is not valid: pass the next_cursor of the previous page unchanged');
  });
});
