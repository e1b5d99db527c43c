// The operator console's live lookups, run log and overview tiles in a real headless Chromium
// (console-browser.ts) against the real stack: the simulator as Haier, the built services, the
// edge serving the built console. Each live lookup renders Haier's answer; a lookup past the key's
// call budget shows the budget's limits and Retry-After; a run's log shows the lines of a real run,
// follows a running one, and filters by level and text; the overview draws the call budget per
// lane and the price freshness after a run. Every page: no console errors, no failed requests, no
// serious axe violations, screenshots at 1280 and 390 px.
import type { Browser } from 'playwright-core';
import { waitFor } from '@haier-sync/runtime/testing';
import { checkPage, go, launchChromium, openConsole, until, type Watched } from './console-browser';
import { startEdgeStack, type EdgeStack } from './stack';

jest.setTimeout(120_000);

/** A viewer key may spend this many Haier calls a minute here: the fourth one-call lookup is refused. */
const VIEWER_BUDGET = 3;

let stack: EdgeStack;
let browser: Browser;
const open = (key: string | null): Promise<Watched> => openConsole(browser, stack.baseUrl, key);

interface ApiRun {
  id: string;
  finished: boolean;
  status: string;
}

async function startRun(body: object): Promise<string> {
  const r = await stack.request('POST', '/api/haier/sync/', { key: stack.keys.operator, body });
  if (r.status !== 202) throw new Error(`could not start a run: ${r.status} ${r.text}`);
  return r.json.data.id as string;
}

const runOf = async (id: string) => (await stack.request('GET', `/api/haier/sync/${id}/`, { key: stack.keys.viewer })).json.data as ApiRun;
const ended = (id: string) => waitFor(async () => ((await runOf(id)).finished ? runOf(id) : undefined), { timeoutMs: 90_000, intervalMs: 200, what: `run ${id} to end` });

/** The REST answer the page should show (the operator's key: its budget is large). */
const api = async (path: string) => {
  const r = await stack.request('GET', path, { key: stack.keys.operator });
  expect(r.status).toBe(200);
  return r.json;
};

beforeAll(async () => {
  browser = await launchChromium();
  stack = await startEdgeStack({ sim: { size: 60 }, syncEnv: { SYNC_CONCURRENCY: '1' }, edgeEnv: { EDGE_CALL_BUDGET_VIEWER: String(VIEWER_BUDGET) } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 120_000);

let firstRun: string;

test("the run page shows a real run's log lines with their levels; the level and text filters narrow them", async () => {
  firstRun = await startRun({ mode: 'FULL', options: { prices: true } });
  await ended(firstRun);
  const all = (await api(`/api/haier/sync/${firstRun}/log/?page_size=1000`)) as { total: number; results: Array<{ level: string; message: string; product_code: string | null }>; counts: Record<string, { total: number }> };
  expect(all.total).toBeGreaterThan(10);
  const w = await open(stack.keys.viewer);
  const { page } = w;
  await go(page, `/runs/${firstRun}`);
  const rows = page.locator('#run-log tbody tr');
  await until(async () => (await rows.count()) === all.total, 15_000);
  expect(await page.locator('#run-log tbody td.log-message').evaluateAll((tds) => tds.map((td) => td.firstChild?.textContent))).toEqual(all.results.map((l) => l.message));
  expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-level')))).toEqual(all.results.map((l) => l.level));
  for (const [level, c] of Object.entries(all.counts)) expect(await page.locator(`[data-level-count=${level}]`).textContent()).toBe(String(c.total));
  await checkPage(w, 'run-log');

  // the level filter asks the API for the other levels only
  await page.uncheck('#log-level-SUCCESS');
  const rest = (await api(`/api/haier/sync/${firstRun}/log/?page_size=1000&level=INFO,WARNING,ERROR,DEBUG`)) as { total: number };
  expect(rest.total).toBeLessThan(all.total);
  await until(async () => (await rows.count()) === rest.total, 10_000);
  expect(await page.locator('#run-log tbody tr[data-level=SUCCESS]').count()).toBe(0);
  await page.check('#log-level-SUCCESS');
  await until(async () => (await rows.count()) === all.total, 10_000);

  // the text filter keeps the lines about one product, by keyboard
  const code = all.results.find((l) => l.product_code)!.product_code!;
  await page.focus('#log-filter');
  await page.keyboard.type(code);
  const about = all.results.filter((l) => [l.message, l.product_code].some((v) => v?.toLowerCase().includes(code.toLowerCase())));
  await until(async () => (await rows.count()) === about.length, 5_000);
  expect(await page.locator('#log-summary').textContent()).toBe(`${about.length} of ${all.total} lines shown.`);
  await w.context.close();
});

test('the run page follows the log of a running run: new lines appear while it goes', async () => {
  // slow Haier (1 s a call), stock of every product: a run that outlasts the checks
  stack.sim.control.configure({ latencyMs: 1000 });
  const w = await open(stack.keys.viewer);
  const { page } = w;
  let id: string | undefined;
  try {
    id = await startRun({ mode: 'FULL', options: { prices: true, stock: true, county_codes: ['110101'] } });
    await go(page, `/runs/${id}`);
    await page.locator('section[aria-label="Run log"] .badge.following', { hasText: 'following' }).waitFor();
    const rows = page.locator('#run-log tbody tr');
    await rows.first().waitFor();
    expect(await rows.first().getAttribute('data-level')).toBe('INFO');
    const before = await rows.count();
    await until(async () => (await rows.count()) > before, 60_000);
    // the lines came while the run went on: it has not ended
    expect((await runOf(id)).finished).toBe(false);
    await checkPage(w, 'run-log-live');
  } finally {
    stack.sim.control.configure({ latencyMs: 0 });
    if (id) {
      await stack.request('POST', `/api/haier/sync/${id}/cancel/`, { key: stack.keys.operator });
      await ended(id);
    }
  }
  // once the run ended, the page shows its stored log, as the API answers it
  const all = (await api(`/api/haier/sync/${id}/log/?page_size=1000`)) as { total: number };
  await until(async () => (await page.locator('#run-log tbody tr').count()) === all.total, 20_000);
  expect(await page.locator('section[aria-label="Run log"] .badge.following').count()).toBe(0);
  await w.context.close();
}, 150_000);

test('each live lookup renders its answer: products, prices, stock in a county of the server, balance, logistics', async () => {
  const code = stack.sim.control.products(0, 60).find((p) => p.listed && p.isSales === '1' && p.supplyPrice)!.productCode;
  const w = await open(stack.keys.operator);
  const { page } = w;
  await go(page, '/live');
  await page.locator('h1', { hasText: 'Live lookup at Haier' }).waitFor();
  await page.locator('#key-budget').waitFor();

  await page.fill('#live-products-codes', code);
  await page.click('button:text("Look up products")');
  await page.locator('#live-products-table tbody tr').first().waitFor();
  const products = (await api(`/api/haier/products/?product_codes=${code}`)).data as Array<{ productCode: string; productName: string; productBrandName: string }>;
  expect(await page.locator('#live-products-table tbody tr').count()).toBe(1);
  expect(await page.locator('#live-products-table td[data-col=productCode]').textContent()).toBe(code);
  expect(await page.locator('#live-products-table td[data-col=productName]').textContent()).toBe(products[0]!.productName || '—');
  expect(await page.locator('#live-products-table td[data-col=productBrandName]').textContent()).toBe(products[0]!.productBrandName);

  await page.fill('#live-prices-codes', code);
  await page.keyboard.press('Enter'); // submits the form by keyboard
  await page.locator('#live-prices-table tbody tr').first().waitFor();
  const prices = (await api(`/api/haier/prices/?product_codes=${code}`)).data as Array<{ supplyPrice: string; marketPrice: string | null }>;
  expect(await page.locator('#live-prices-table td[data-col=supplyPrice]').textContent()).toBe(prices[0]!.supplyPrice);
  expect(await page.locator('#live-prices-table td[data-col=marketPrice]').textContent()).toBe(prices[0]!.marketPrice ?? '—');

  // the county comes from the server's SYNC_COUNTIES: nothing to type
  expect(await page.inputValue('#live-stock-county')).toBe('110101');
  await page.fill('#live-stock-code', code);
  await page.click('button:text("Look up stock")');
  await page.locator('#live-stock-summary').waitFor();
  const stock = (await api(`/api/haier/stock/?product_code=${code}&county_code=110101`)).data as { stock: number; bestSecCode: string; warehouses: unknown[] };
  expect(await page.locator('[data-stock=total]').textContent()).toBe(stock.stock.toLocaleString('en-US'));
  expect(await page.locator('[data-stock=best]').textContent()).toBe(stock.bestSecCode || '—');
  if (stock.warehouses.length > 0) expect(await page.locator('#live-stock-table tbody tr').count()).toBe(stock.warehouses.length);

  await page.click('button:text("Look up balance")');
  await page.locator('#live-balance-table tbody tr').first().waitFor();
  const balances = (await api('/api/haier/balance/')).data as Array<{ payerAccountBalance: string }>;
  expect(await page.locator('#live-balance-table td[data-col=payerAccountBalance]').allTextContents()).toEqual(balances.map((b) => b.payerAccountBalance));

  await page.fill('#live-logistics-order', 'SO.20190106.000003');
  await page.click('button:text("Look up logistics")');
  await page.locator('#live-logistics-steps tbody tr').first().waitFor();
  const logistics = (await api('/api/haier/logistics/?order_code=SO.20190106.000003')).data as Record<string, unknown[]>;
  expect(await page.locator('#live-logistics-steps tbody tr').count()).toBe(logistics.getAllLogisticsInfoByOrderCode!.length);
  expect(await page.locator('#live-logistics-deliveries tbody tr').count()).toBe(logistics.getStockDeliveryLogisticsRecord!.length);
  await checkPage(w, 'live');
  await w.context.close();
});

test("a lookup past the key's call budget is refused and shows the budget's limits and Retry-After from the answer", async () => {
  const key = await stack.makeKey('viewer');
  const w = await open(key);
  const { page } = w;
  w.expected.add('429 /api/haier/balance/');
  await go(page, '/live');
  for (let i = 1; i <= VIEWER_BUDGET; i++) {
    await page.click('button:text("Look up balance")');
    await page.locator('#key-budget', { hasText: `${i} spent` }).waitFor();
  }
  await page.click('button:text("Look up balance")');
  const refused = page.locator('section[aria-label="Balance"] .error');
  await refused.waitFor();
  expect(await refused.textContent()).toContain('429: This request would cost 1 Haier calls');
  expect(await refused.locator('[data-budget=limit]').textContent()).toBe(`${VIEWER_BUDGET} Haier calls a minute`);
  expect(await refused.locator('[data-budget=in_use]').textContent()).toBe(String(VIEWER_BUDGET));
  expect(await refused.locator('[data-budget=cost]').textContent()).toBe('1');
  const shownRetry = Number(/^(\d+) s$/.exec((await refused.locator('[data-budget=retry_after_s]').textContent()) ?? '')?.[1]);
  expect(shownRetry).toBeGreaterThan(0);
  expect(shownRetry).toBeLessThanOrEqual(60);
  await page.locator('#key-budget', { hasText: `${VIEWER_BUDGET} spent, 0 left` }).waitFor();
  await checkPage(w, 'live-refused');

  // the answer the page read: 429, Retry-After, and the limits in error.budget
  const r = await stack.request('GET', '/api/haier/balance/', { key });
  expect(r.status).toBe(429);
  expect(r.json.error).toMatchObject({ code: 'CALL_BUDGET', budget: { scope: 'key', lane: 'viewer', limit: VIEWER_BUDGET, window_s: 60, in_use: VIEWER_BUDGET, cost: 1 } });
  expect(r.json.error.budget.retry_after_s).toBe(Number(r.headers.get('retry-after')));
  await w.context.close();
});

test('the overview draws the call budget per lane and the price freshness after a run', async () => {
  const usage = (await stack.request('GET', '/api/haier/usage/', { key: stack.keys.viewer })).json.data as { lanes: Array<{ lane: string; calls: number; cap_per_second: number }>; total_calls: number };
  expect(usage.lanes.map((l) => l.lane)).toEqual(['interactive', 'scheduled', 'bulk']);
  const bulk = usage.lanes.find((l) => l.lane === 'bulk')!;
  expect(bulk.calls).toBeGreaterThan(0); // the FULL runs
  expect(usage.lanes.find((l) => l.lane === 'interactive')!.calls).toBeGreaterThan(0); // the live lookups
  const stats = (await stack.request('GET', '/api/haier/catalog/stats/?max_age_s=3600', { key: stack.keys.viewer })).json.data as { procurable: number; price_age: { over_max_age: number; max_s: number } };
  expect(stats.procurable).toBeGreaterThan(0);

  const w = await open(stack.keys.viewer);
  const { page } = w;
  const budget = page.locator('section[aria-label="Haier call budget"]');
  await budget.locator('.bar-row').first().waitFor();
  expect(await budget.locator('figure').first().locator('.bar-row dt').allTextContents()).toEqual(['interactive (live lookups)', 'scheduled (incremental runs)', 'bulk (full runs)']);
  expect(await budget.locator('figure').first().locator('.bar-row', { hasText: 'bulk' }).locator('.bar-value').textContent()).toBe(bulk.calls.toLocaleString('en-US'));
  expect(await budget.locator('figure').nth(1).locator('.bar-row', { hasText: 'bulk' }).locator('.bar-value').textContent()).toContain(`of ${bulk.cap_per_second}/s`);

  const fresh = page.locator('section[aria-label="Price freshness"]');
  await fresh.locator('.bar-row').first().waitFor();
  expect(await page.inputValue('#fresh-max-age')).toBe('3600');
  expect(await fresh.locator('.bar-row', { hasText: 'fresh' }).first().locator('.bar-value').textContent()).toBe(String(stats.procurable - stats.price_age.over_max_age));
  expect(await fresh.locator('.bar-row', { hasText: 'oldest' }).locator('.bar-value').textContent()).toMatch(/\d+(\.\d)? s|min/);
  await checkPage(w, 'overview-live');

  // another limit: the tile asks the API again and draws its count
  await page.selectOption('#fresh-max-age', '600');
  const s600 = (await stack.request('GET', '/api/haier/catalog/stats/?max_age_s=600', { key: stack.keys.viewer })).json.data as { price_age: { over_max_age: number } };
  await fresh.locator('.bar-row', { hasText: 'stale' }).locator('.bar-value', { hasText: String(s600.price_age.over_max_age) }).waitFor();
  await w.context.close();
});
