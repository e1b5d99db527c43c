// The generated REST client (@haier-sync/rest-client, from docs/openapi.json) against the real
// stack, one call per route group: when the edge's answers drift from the document, the typed
// fields these tests read are missing or the calls fail to compile.
import { createRestClient } from '@haier-sync/rest-client';
import { startEdgeStack, type EdgeStack } from './stack';

let s: EdgeStack;
beforeAll(async () => {
  s = await startEdgeStack({ sim: { size: 40, latencyMs: 2 } });
}, 180_000);
afterAll(async () => {
  await s?.close();
});

test('ops: getHealth answers ok without a key', async () => {
  const { data, response } = await createRestClient({ baseUrl: s.baseUrl }).GET('/healthz');
  expect(response.status).toBe(200);
  expect(data?.status).toBe('ok');
});

test('live: liveProducts lists the simulator’s products', async () => {
  const { data } = await createRestClient({ baseUrl: s.baseUrl, apiKey: s.keys.viewer }).GET('/api/haier/products/');
  expect(data?.success).toBe(true);
  expect((data?.data ?? []).length).toBeGreaterThan(0);
});

test('catalog: listProducts answers the list envelope (count, has_more, results)', async () => {
  const { data } = await createRestClient({ baseUrl: s.baseUrl, apiKey: s.keys.viewer }).GET('/api/haier/catalog/products/', { params: { query: { page_size: 5 } } });
  expect(data?.success).toBe(true);
  expect(data?.count).toBe(data?.results?.length);
  expect(typeof data?.has_more).toBe('boolean');
});

test('catalog: getCatalogStats answers the counts, the price ages and the low-stock products\' stock ages; a max_age_s that is not a positive whole number is 400 naming it', async () => {
  const c = createRestClient({ baseUrl: s.baseUrl, apiKey: s.keys.viewer });
  const { data } = await c.GET('/api/haier/catalog/stats/', { params: { query: { max_age_s: 600, stock_max_age_s: 900 } } });
  expect(data?.success).toBe(true);
  const st = data!.data!;
  expect(st.listed! + st.delisted!).toBe(st.products);
  expect(st.price_age?.max_age_s).toBe(600);
  expect(st.price_age?.over_max_age).toBe(0);
  if (st.procurable! > 0) expect(st.price_age?.max_s).toBeGreaterThanOrEqual(st.price_age!.p50_s!);
  else expect(st.price_age?.max_s).toBeNull();
  expect(st.stock_age).toMatchObject({ max_age_s: 900, over_max_age: 0, below: 5 });
  expect(st.stock_age?.low_stock).toBeGreaterThanOrEqual(0);
  if (st.stock_age!.low_stock! === 0) expect(st.stock_age?.max_s).toBeNull();
  const bad = await c.GET('/api/haier/catalog/stats/', { params: { query: { max_age_s: 0 } } });
  expect(bad.response.status).toBe(400);
  expect(JSON.stringify(bad.error)).toContain('max_age_s');
  const badStock = await c.GET('/api/haier/catalog/stats/', { params: { query: { stock_max_age_s: -5 } } });
  expect(badStock.response.status).toBe(400);
  expect(JSON.stringify(badStock.error)).toContain('stock_max_age_s');
});

test('sync: listRuns answers count and total; getRun of an unknown id is the Error schema (404)', async () => {
  const c = createRestClient({ baseUrl: s.baseUrl, apiKey: s.keys.viewer });
  const list = await c.GET('/api/haier/sync/');
  expect(list.data?.success).toBe(true);
  expect(typeof list.data?.total).toBe('number');
  const missing = await c.GET('/api/haier/sync/{id}/', { params: { path: { id: '999999999' } } });
  expect(missing.response.status).toBe(404);
  expect(missing.error?.success).toBe(false);
  expect(missing.error?.error.code).toBe('NOT_FOUND');
});

test('config and admin: listConfigs and listKeys answer with an admin key', async () => {
  const c = createRestClient({ baseUrl: s.baseUrl, apiKey: s.keys.admin });
  const configs = await c.GET('/api/haier/config/');
  expect(configs.data?.success).toBe(true);
  const keys = await c.GET('/api/haier/keys/');
  expect(keys.data?.results?.map((k) => k.name)).toEqual(expect.arrayContaining(['stack-viewer']));
});

test('schedules: listSchedules names the jobs; pauseSchedule and resumeSchedule take no body', async () => {
  const c = createRestClient({ baseUrl: s.baseUrl, apiKey: s.keys.operator });
  const list = await c.GET('/api/haier/schedules/');
  expect(list.data?.results?.map((j) => j.name).sort()).toEqual(['full', 'image_orphans', 'integrity', 'low_stock', 'prices']);
  const paused = await c.POST('/api/haier/schedules/{name}/pause/', { params: { path: { name: 'low_stock' } } });
  expect(paused.data?.data?.paused).toBe(true);
  expect(paused.data?.data?.paused_by).toBe('stack-operator');
  const resumed = await c.POST('/api/haier/schedules/{name}/resume/', { params: { path: { name: 'low_stock' } }, body: { reason: 'back to normal' } });
  expect(resumed.data?.data?.paused).toBe(false);
});
