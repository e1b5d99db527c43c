// The edge's read cache (src/read-cache.ts) on a real stack: the simulator as Haier, the gateway,
// the catalog and the orchestrator as built processes, the edge in-process. A kept answer is
// answered again only while the catalog's change log stands still: a change made past the edge
// (an orchestrator run) is in the very next read, a check stamp that moves without a change shows
// within EDGE_READ_CACHE_TTL_MS, and with the catalog unreachable nothing is answered from the
// cache. The head reads' sharing is tested on the class itself.
import { waitFor } from '@haier-sync/runtime/testing';
import { ChangeHead } from '../src/read-cache';
import { fullRunToEnd, startEdgeStack, type EdgeStack } from './stack';

jest.setTimeout(180_000);

const TTL_MS = 2_000;

describe('ChangeHead', () => {
  test('each call gets a head read that started after it; calls made while one is in flight share the next one', async () => {
    const started: Array<{ at: number; resolve: (v: bigint) => void }> = [];
    let clock = 0;
    const head = new ChangeHead(() => new Promise<bigint>((resolve) => started.push({ at: clock, resolve })));
    clock = 1;
    const a = head.next();
    expect(started.map((s) => s.at)).toEqual([1]);
    clock = 2;
    const b = head.next();
    const c = head.next();
    // b and c arrived while a's read was in flight: they wait for one read started after it
    expect(started).toHaveLength(1);
    clock = 3;
    started[0]!.resolve(5n);
    expect(await a).toBe(5n);
    await new Promise((r) => setImmediate(r));
    expect(started.map((s) => s.at)).toEqual([1, 3]);
    started[1]!.resolve(7n);
    expect([await b, await c]).toEqual([7n, 7n]);
  });

  test('a read that fails fails the call it was for; a call made meanwhile gets the next read', async () => {
    const reads: Array<{ resolve: (v: bigint) => void; reject: (e: Error) => void }> = [];
    const head = new ChangeHead(() => new Promise<bigint>((resolve, reject) => reads.push({ resolve, reject })));
    const a = head.next();
    const b = head.next();
    reads[0]!.reject(new Error('catalog unreachable'));
    await expect(a).rejects.toThrow('catalog unreachable');
    await new Promise((r) => setImmediate(r));
    expect(reads).toHaveLength(2);
    reads[1]!.resolve(9n);
    expect(await b).toBe(9n);
  });
});

describe('the read cache on a real stack', () => {
  let s: EdgeStack;
  let code: string;
  const url = () => `/api/haier/catalog/products/${code}/`;
  const get = (path: string, headers: Record<string, string> = {}) => s.request('GET', path, { key: s.keys.viewer, headers });
  const outcomes = async (): Promise<{ hit: number; miss: number; unavailable: number }> => {
    const text = (await get('/metrics')).text;
    const of = (o: string) => Number(new RegExp(`^edge_read_cache_requests_total\\{[^}]*outcome="${o}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    return { hit: of('hit'), miss: of('miss'), unavailable: of('unavailable') };
  };
  const catalogRow = async (c: string) =>
    (await s.pg.query<{ supply: string; version: string }>('select supply_price::text as supply, version::text as version from catalog.product where code = $1', [c])).rows[0]!;

  beforeAll(async () => {
    s = await startEdgeStack({ sim: { size: 60, seed: 23 }, edgeEnv: { EDGE_READ_CACHE_TTL_MS: String(TTL_MS) } });
    const { run } = await fullRunToEnd(s);
    expect(run.status).toBe('SUCCESS');
    code = (await get('/api/haier/catalog/products/?page_size=1&is_sales=true')).json.results[0].product_code;
  });

  afterAll(async () => {
    await s?.close();
  });

  test('a second read of an unchanged product is answered from the cache, the same bytes and ETag, and revalidates to 304', async () => {
    const first = await get(url());
    expect(first.status).toBe(200);
    const before = await outcomes();
    const second = await get(url());
    const after = await outcomes();
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(second.headers.get('cache-control')).toBe('private, no-cache');
    expect(after.hit - before.hit).toBe(1);
    expect(after.miss - before.miss).toBe(0);
    const revalidated = await get(url(), { 'if-none-match': first.headers.get('etag')! });
    expect([revalidated.status, revalidated.text]).toEqual([304, '']);
    expect((await outcomes()).hit - after.hit).toBe(1);
    // a kept answer is still behind the key check (and the key's rate limit: auth.test.ts)
    expect((await s.request('GET', url(), { key: null })).status).toBe(401);
  });

  test('a revalidation that also says Cache-Control: no-cache (as fetch() sends it) is answered from the cache: 304', async () => {
    const kept = await get(url());
    const before = await outcomes();
    const r = await get(url(), { 'if-none-match': kept.headers.get('etag')!, 'cache-control': 'no-cache' });
    const after = await outcomes();
    expect([r.status, r.text]).toEqual([304, '']);
    expect([after.hit - before.hit, after.miss - before.miss]).toEqual([1, 0]);
  });

  test('a price changed by an orchestrator run (not through the edge) is in the very next read of the product and of a list page', async () => {
    const listPath = `/api/haier/catalog/products/?page_size=100`;
    const cached = await get(url());
    await get(url());
    await get(listPath);
    const old = cached.json.data.supply_price as string;
    const newPrice = (Number(old) + 77).toFixed(2);
    s.sim.control.setPrice(code, { supplyPrice: newPrice });
    const started = await s.request('POST', '/api/haier/sync/', { key: s.keys.operator, body: { mode: 'INCREMENTAL', sync_type: 'PRICES' } });
    expect(started.status).toBe(202);
    await waitFor(
      async () => {
        const r = await get(`/api/haier/sync/${started.json.data.id}/`);
        return r.json.data.finished || undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: 'the price run to end' },
    );
    const row = await catalogRow(code);
    expect(Number(row.supply)).toBe(Number(newPrice));
    const now = await get(url());
    expect([Number(now.json.data.supply_price), String(now.json.data.version)]).toEqual([Number(newPrice), row.version]);
    expect(now.headers.get('etag')).not.toBe(cached.headers.get('etag'));
    const page = await get(listPath);
    const inPage = page.json.results.find((p: { product_code: string }) => p.product_code === code);
    expect(Number(inPage.supply_price)).toBe(Number(newPrice));
  });

  test(`a check stamp that moves without a change (no change-log entry) shows within EDGE_READ_CACHE_TTL_MS (${TTL_MS} ms)`, async () => {
    await get(url());
    // what a price check that found the same price writes: the stamp alone
    const stamped = await s.pg.query<{ t: Date }>("update catalog.product set price_checked_at = now() - interval '1 hour' where code = $1 returning price_checked_at as t", [code]);
    const want = stamped.rows[0]!.t.toISOString();
    const t0 = Date.now();
    await waitFor(async () => (await get(url())).json.data.price_checked_at === want || undefined, { timeoutMs: TTL_MS + 5_000, intervalMs: 100, what: 'the new price_checked_at in the answer' });
    expect(Date.now() - t0).toBeLessThanOrEqual(TTL_MS + 1_000);
  });

  test('with the catalog unreachable, a kept answer is not answered: the read fails as the catalog does', async () => {
    expect((await get(url())).status).toBe(200);
    expect((await get(url())).status).toBe(200);
    const before = await outcomes();
    await s.catalog.stop();
    const r = await get(url());
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(r.json.success).toBe(false);
    expect((await outcomes()).unavailable - before.unavailable).toBe(1);
  });
});
