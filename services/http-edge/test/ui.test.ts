// The operator console (services/http-edge/console, built into its dist/) in a real headless
// Chromium (Debian's package, driven by playwright-core) against the real stack: the simulator as
// Haier, the built services, the edge serving the built console. A scenario per page; on every
// page: no console errors, no failed requests, no serious or critical axe-core violations, and a
// screenshot at 1280 and 390 px under test-artifacts/console/.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import type { Browser } from 'playwright-core';
import { create } from '@bufbuild/protobuf';
import { catalog, gateway } from '@haier-sync/contracts';
import { CALLERS } from '@haier-sync/runtime';
import { testClient } from '@haier-sync/runtime/testing';
import { CONSOLE_CSP, registerUi } from '../src/ui-static';
import { ARTIFACTS, checkPage, go, launchChromium, openConsole, until, type Watched } from './console-browser';
import { startEdgeStack, type EdgeStack } from './stack';

let stack: EdgeStack;
let browser: Browser;

/** What a run with images does for one product: mirror through the gateway, record in the catalog. */
async function mirrorImagesOf(code: string): Promise<number> {
  const p = stack.sim.control.product(code)!;
  const urls = [p.productImageUrl, ...p.productLageUrls];
  const mirrored = await testClient(gateway.HaierGatewayService, stack.gateway.url, { as: CALLERS.orchestrator }).mirrorImages({ images: urls.map((url) => ({ url })) });
  await testClient(catalog.CatalogService, stack.catalog.url, { as: CALLERS.orchestrator }).upsertImages({
    runId: 'ui-test',
    images: mirrored.images.map((m, position) =>
      create(catalog.ImageInputSchema, {
        productCode: code, position, sourceUrl: m.url, outcome: catalog.ImageInput_Outcome.STORED, sha256: m.sha256, storageKey: m.storageKey,
        contentType: m.contentType, bytes: Number(m.bytes), width: m.width, height: m.height, etag: m.etag, lastModified: m.lastModified,
      }),
    ),
  });
  return urls.length;
}

const open = (key: string | null): Promise<Watched> => openConsole(browser, stack.baseUrl, key);

interface ApiRun {
  id: string;
  status: string;
  finished: boolean;
  counts: { total: number; succeeded: number; failed: number };
}

async function waitRun(id: string, done: (r: ApiRun) => boolean, ms = 60_000): Promise<ApiRun> {
  const end = Date.now() + ms;
  for (;;) {
    const r = (await stack.request('GET', `/api/haier/sync/${id}/`, { key: stack.keys.viewer })).json.data as ApiRun;
    if (done(r)) return r;
    if (Date.now() > end) throw new Error(`run ${id} did not get there in ${ms} ms: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

beforeAll(async () => {
  browser = await launchChromium();
  stack = await startEdgeStack({ sim: { size: 60 }, syncEnv: { SYNC_CONCURRENCY: '1' } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 120_000);

describe('serving', () => {
  it('answers index.html for / and client routes with a strict CSP and no-cache, hashed assets for a year, and a favicon', async () => {
    for (const path of ['/', '/runs', '/runs/12', '/catalog/ABC123']) {
      const res = await fetch(`${stack.baseUrl}${path}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(await res.text()).toContain('<div id="root">');
    }
    expect(CONSOLE_CSP).toContain("script-src 'self'");
    expect(CONSOLE_CSP).not.toContain('unsafe-inline');
    const html = await (await fetch(`${stack.baseUrl}/`)).text();
    const js = /src="(\/assets\/index-[\w-]+\.js)"/.exec(html)?.[1];
    expect(js).toBeDefined();
    const asset = await fetch(`${stack.baseUrl}${js}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('text/javascript');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const icon = await fetch(`${stack.baseUrl}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect((await fetch(`${stack.baseUrl}/assets/../../package.json`)).status).toBe(404);
    expect((await fetch(`${stack.baseUrl}/assets/nope.js`)).status).toBe(404);
    // the API is untouched: still JSON 404 and a key needed
    expect((await fetch(`${stack.baseUrl}/api/haier/nope/`)).status).toBe(404);
    expect((await fetch(`${stack.baseUrl}/api/haier/me/`)).status).toBe(401);
  });

  it('GET /api/haier/me/ tells each key its name and role and the server\'s SYNC_COUNTIES; events status answers the relayed logs', async () => {
    for (const role of ['viewer', 'operator', 'admin'] as const) {
      const me = await stack.request('GET', '/api/haier/me/', { key: stack.keys[role] });
      expect(me.status).toBe(200);
      expect(me.json.data).toEqual({ name: `stack-${role}`, role, sync_counties: ['110101'] });
    }
    const ev = await stack.request('GET', '/api/haier/events/status/', { key: stack.keys.viewer });
    expect(ev.status).toBe(200);
    expect((ev.json.data as { logs: Array<{ name: string }> }).logs.map((l) => l.name).sort()).toEqual(['catalog', 'runs']);
    expect((await stack.request('GET', '/api/haier/catalog/stats/?x=1', { key: stack.keys.viewer })).status).toBe(400);
  });

  it('answers a page saying how to build the console when its directory has no build', async () => {
    const app = Fastify();
    registerUi(app, mkdtempSync(join(tmpdir(), 'console-')));
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await fetch(`${url}/runs`);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toContain('text/html');
      const body = await res.text();
      expect(body).toContain('pnpm build');
      expect(body).toContain('EDGE_CONSOLE_DIR');
    } finally {
      await app.close();
    }
  });
});

describe('the console', () => {
  let firstRun: string;

  it('asks for a key, then tells a key it does not know in an operator\'s words', async () => {
    const w = await open(null);
    await w.page.locator('text=Paste an API key above').waitFor();
    await checkPage(w, 'sign-in');
    w.expected.add('401 /api/haier/me/');
    await w.page.fill('#api-key', 'not-a-key');
    await w.page.click('text=Use key');
    await w.page.locator('.error', { hasText: '401' }).waitFor();
    expect(await w.page.locator('.error').textContent()).toContain('Ask an admin');
    await w.context.close();
  });

  it('starts a FULL run from the form (counties from the server), follows it to SUCCESS; the overview then shows non-empty charts', async () => {
    const w = await open(stack.keys.operator);
    const { page } = w;
    await go(page, '/runs');
    await page.locator('#start-title').waitFor();
    expect(await page.inputValue('#start-counties')).toBe('110101');
    await checkPage(w, 'runs');
    await page.selectOption('#start-mode', 'FULL');
    await page.check('#start-stock');
    await page.click('button:text("Start run")');
    await page.waitForURL(/\/runs\/\d+$/);
    firstRun = page.url().split('/').pop()!;
    await page.locator('#run-title .status-SUCCESS').waitFor({ timeout: 60_000 });
    const api = (await stack.request('GET', `/api/haier/sync/${firstRun}/`, { key: stack.keys.viewer })).json.data as ApiRun & { counts: { created: number } };
    expect(api.counts.created).toBeGreaterThan(0);
    expect(await page.locator('[data-count=created]').textContent()).toBe(String(api.counts.created));
    expect(await page.locator('#run-progress-text').textContent()).toContain(`${api.counts.total} of ${api.counts.total} products (100%)`);
    await checkPage(w, 'run');

    await go(page, '/');
    const duration = page.locator('figure.chart', { hasText: 'Duration of ended runs' }).locator('[data-points]');
    await page.locator('figure.chart [data-points="1"]').first().waitFor();
    expect(await duration.getAttribute('data-points')).toBe('1');
    expect(await page.locator('figure.chart canvas').count()).toBe(2);
    expect(await page.locator('figure.chart', { hasText: 'Success rate' }).locator('[data-points]').getAttribute('data-points')).toBe('1');
    const stats = (await stack.request('GET', '/api/haier/catalog/stats/', { key: stack.keys.viewer })).json.data as { listed: number; procurable: number };
    expect(stats.listed).toBe(api.counts.created);
    await page.locator('.bar-row', { hasText: 'listed' }).locator('.bar-value', { hasText: String(stats.listed) }).waitFor();
    expect(await page.locator('.bar-row', { hasText: 'procurable' }).locator('.bar-value').textContent()).toBe(String(stats.procurable));
    await page.locator('section[aria-label="Event lag"] .bar-row').first().waitFor();
    await page.locator(`section[aria-label="Last runs"] a:text-is("${firstRun}")`).waitFor();
    await checkPage(w, 'overview');
    await w.context.close();
  }, 120_000);

  it('keeps a past run open while another runs, links to the live run, says which run is active on a 409, and cancels only after confirmation', async () => {
    // slow Haier (5 s a call), one batch at a time, stock of every product: a run that outlasts the checks below even on a busy machine
    stack.sim.control.configure({ latencyMs: 5000 });
    const w = await open(stack.keys.operator);
    const { page } = w;
    try {
      await go(page, '/runs');
      await page.selectOption('#start-mode', 'FULL');
      await page.check('#start-stock');
      await page.click('button:text("Start run")');
      await page.waitForURL(/\/runs\/\d+$/);
      const live = page.url().split('/').pop()!;
      expect(live).not.toBe(firstRun);
      await page.locator('.badge.live').waitFor();

      // a second FULL run: 409 naming the active one, with a link to it
      w.expected.add('409 /api/haier/sync/');
      await go(page, '/runs');
      await page.selectOption('#start-mode', 'FULL');
      await page.click('button:text("Start run")');
      const err = page.locator('.start-form .error');
      await err.waitFor();
      expect(await err.textContent()).toContain(`already active (${live})`);
      await checkPage(w, 'runs-409');
      await err.locator(`a:text("Open run ${live}")`).click();
      await page.locator('#run-title', { hasText: `Run ${live}` }).waitFor();
      await page.locator('.badge.live').waitFor();



      // open the past run while the live one goes on: the page stays on it
      await go(page, '/runs');
      await page.locator(`#runs-table a:text-is("${firstRun}")`).click();
      await page.locator('#run-title', { hasText: `Run ${firstRun}` }).waitFor();
      await page.waitForTimeout(2500);
      expect(new URL(page.url()).pathname).toBe(`/runs/${firstRun}`);
      expect(await page.locator('#run-title').textContent()).toContain(`Run ${firstRun}`);
      await page.locator('#run-title .status-SUCCESS').waitFor();
      expect((await waitRun(live, () => true)).finished).toBe(false);

      // the banner leads back to the live run, whose progress moves
      await page.locator('.active-run-link', { hasText: `Run ${live}` }).click();
      await page.locator('#run-title', { hasText: `Run ${live}` }).waitFor();
      await page.locator('.badge.live').waitFor();
      const before = await page.locator('#run-progress-text').textContent();
      await until(async () => (await page.locator('#run-progress-text').textContent()) !== before, 30_000);
      expect(await page.locator('#run-progress-text').textContent()).toMatch(/products\/s/);

      // cancel: the dialog first; "Keep it" leaves the run going
      await page.click('button:text("Cancel run")');
      const dialog = page.locator('dialog[open]');
      await dialog.waitFor();
      expect(await dialog.textContent()).toContain(`Cancel run ${live}?`);
      await checkPage(w, 'run-cancel-dialog');
      await dialog.locator('button:text("Keep it")').click();
      await dialog.waitFor({ state: 'detached' }).catch(() => undefined);
      expect(await page.locator('dialog[open]').count()).toBe(0);
      expect((await waitRun(live, () => true)).finished).toBe(false);
      // by keyboard: the dialog takes focus and Escape leaves the run going too
      await page.focus('button:text("Cancel run")');
      await page.keyboard.press('Enter');
      await page.locator('dialog[open]').waitFor();
      await page.keyboard.press('Escape');
      await until(async () => (await page.locator('dialog[open]').count()) === 0, 5_000);
      expect((await waitRun(live, () => true)).finished).toBe(false);
      await page.click('button:text("Cancel run")');
      await page.locator('dialog[open] button:text("Cancel the run")').click();
      await page.locator('#run-title .status-CANCELLED').waitFor({ timeout: 60_000 });
      expect((await waitRun(live, (r) => r.finished)).status).toBe('CANCELLED');
      await checkPage(w, 'run-cancelled');
    } finally {
      stack.sim.control.configure({ latencyMs: 0 });
      await w.context.close();
    }
  }, 150_000);

  it('filters the catalog; totals and rows agree with the API', async () => {
    const w = await open(stack.keys.viewer);
    const { page } = w;
    await go(page, '/catalog');
    const all = (await stack.request('GET', '/api/haier/catalog/products/?with_total=true&page_size=25&sort=code', { key: stack.keys.viewer })).json as { total: number; results: Array<{ product_code: string }> };
    await page.locator(`#catalog-total[data-total="${all.total}"]`).waitFor();
    expect(await page.locator('#products tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-code')))).toEqual(all.results.map((p) => p.product_code));
    await checkPage(w, 'catalog');

    const categories = (await stack.request('GET', '/api/haier/catalog/categories/', { key: stack.keys.viewer })).json.data as Array<{ name: string; product_count: number }>;
    const cat = categories.find((c) => c.product_count > 0)!;
    await page.selectOption('#c-category', cat.name);
    await page.selectOption('#c-sales', 'true');
    await page.selectOption('#c-sort', '-display_price');
    const q = new URLSearchParams({ with_total: 'true', page_size: '25', category: cat.name, is_sales: 'true', sort: '-display_price' });
    const filtered = (await stack.request('GET', `/api/haier/catalog/products/?${q}`, { key: stack.keys.viewer })).json as { total: number; results: Array<{ product_code: string }> };
    await page.locator(`#catalog-total[data-total="${filtered.total}"]`).waitFor();
    await until(async () => (await page.locator('#products tbody tr').count()) === filtered.results.length, 10_000);
    expect(await page.locator('#products tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-code')))).toEqual(filtered.results.map((p) => p.product_code));

    // the text search by keyboard alone: type, Enter
    await page.focus('#c-q');
    await page.keyboard.type(filtered.results[0]!.product_code);
    await page.keyboard.press('Enter');
    await page.locator('#catalog-total[data-total="1"]').waitFor();
    expect(await page.locator('#products tbody tr').getAttribute('data-code')).toBe(filtered.results[0]!.product_code);

    // a bad price is refused in the page, without a request
    await page.fill('#c-min', '12.345');
    await page.locator('.error', { hasText: 'at most 2 decimals' }).waitFor();
    await w.context.close();
  }, 60_000);

  it('product page: its mirrored images, a price-history point per change after a simulated change, stock per county, pin and unpin', async () => {
    const listed = await stack.request('GET', '/api/haier/catalog/products/?is_sales=true&sort=code&page_size=50', { key: stack.keys.viewer });
    const code = (listed.json.results as Array<{ product_code: string; supply_price: string | null }>).find((p) => p.supply_price !== null)!.product_code;
    const images = await mirrorImagesOf(code);
    const w = await open(stack.keys.operator);
    const { page } = w;
    await go(page, `/catalog/${code}`);
    await page.locator('#product-title', { hasText: code }).waitFor();
    // the images come from the shop's image store through the edge (blob: URLs), every one decoded
    type Img = { complete: boolean; naturalWidth: number; src: string };
    await page.waitForFunction((n) => {
      const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<Img> } }).document;
      const imgs = Array.from(doc.querySelectorAll('img.product-image'));
      return imgs.length === n && imgs.every((i) => i.complete && i.naturalWidth > 0);
    }, images);
    const shown = await page.locator('img.product-image').evaluateAll((imgs) => imgs.map((i) => [(i as unknown as Img).src.slice(0, 5), (i as unknown as Img).naturalWidth] as const));
    expect(shown).toHaveLength(images);
    for (const [scheme, width] of shown) {
      expect(scheme).toBe('blob:');
      expect(width).toBeGreaterThan(0);
    }
    const chart = page.locator('figure.chart [data-points]');
    const history = async () => (await stack.request('GET', `/api/haier/catalog/products/${code}/price-history/?limit=500`, { key: stack.keys.viewer })).json.data as Array<{ changed_at: string; field: string }>;
    const moments = (h: Array<{ changed_at: string }>) => new Set(h.map((c) => c.changed_at)).size;
    const h0 = await history();
    await page.locator(`figure.chart [data-points="${moments(h0)}"]`).waitFor();
    const county = (await stack.request('GET', `/api/haier/catalog/products/${code}/`, { key: stack.keys.viewer })).json.data as { supply_price: string; county_stock: Array<{ county_code: string; quantity: number }> };
    expect(county.county_stock.length).toBeGreaterThan(0);
    expect(await page.locator('#county-stock tbody tr').first().locator('td').first().textContent()).toBe(county.county_stock[0]!.county_code);
    expect(await page.locator('#display-rule').textContent()).toContain('the supply price');
    await checkPage(w, 'product');

    // Haier changes the price; "sync this product's price" records it: one more point
    const newPrice = (Number(county.supply_price) + 123.45).toFixed(2);
    stack.sim.control.setPrice(code, { supplyPrice: newPrice });
    await page.click('button:text("Sync this product\'s price from Haier")');
    await page.locator('#product-note', { hasText: 'run' }).waitFor({ timeout: 30_000 });
    const h1 = await history();
    expect(moments(h1)).toBe(moments(h0) + 1);
    await page.locator(`figure.chart [data-points="${moments(h1)}"]`).waitFor();
    expect(await page.locator('[data-price=supply_price]').textContent()).toBe(newPrice);
    await page.locator('#history tr', { hasText: 'supply_price' }).filter({ hasText: newPrice }).first().waitFor();

    // pin, then unpin
    await page.fill('#pin-price', '1234.56');
    await page.click('button:text-is("Pin")');
    await page.locator('[data-price=display_price]', { hasText: '1234.56' }).waitFor();
    expect(await page.locator('#display-rule').textContent()).toContain('the pinned price');
    expect(((await stack.request('GET', `/api/haier/catalog/products/${code}/`, { key: stack.keys.viewer })).json.data as { pinned_price: string }).pinned_price).toBe('1234.56');
    await checkPage(w, 'product-pinned');
    await page.click('button:text("Unpin 1234.56")');
    await page.locator('[data-price=display_price]', { hasText: newPrice }).waitFor();
    expect(await page.locator('#display-rule').textContent()).toContain('the supply price');
    expect(((await stack.request('GET', `/api/haier/catalog/products/${code}/`, { key: stack.keys.viewer })).json.data as { pinned_price: string | null }).pinned_price).toBeNull();
    await w.context.close();
  }, 90_000);

  it('a dry run from the form is badged as one and lists its planned changes; the catalog keeps its prices', async () => {
    const listed = await stack.request('GET', '/api/haier/catalog/products/?is_sales=true&sort=-code&page_size=5', { key: stack.keys.viewer });
    const p = (listed.json.results as Array<{ product_code: string; supply_price: string | null }>).find((x) => x.supply_price !== null)!;
    const newPrice = (Number(p.supply_price) + 10).toFixed(2);
    stack.sim.control.setPrice(p.product_code, { supplyPrice: newPrice });
    const w = await open(stack.keys.operator);
    const { page } = w;
    await go(page, '/runs');
    await page.fill('#start-codes', p.product_code);
    await page.check('#start-dry');
    await page.click('button:text("Start run")');
    await page.waitForURL(/\/runs\/\d+$/);
    const id = page.url().split('/').pop()!;
    await page.locator('#run-title .status-SUCCESS').waitFor({ timeout: 30_000 });
    expect(await page.locator('#run-title .dry-run').count()).toBe(1);
    const run = (await stack.request('GET', `/api/haier/sync/${id}/`, { key: stack.keys.viewer })).json.data as { options: { dry_run: boolean }; planned_changes: string[] };
    expect(run.options.dry_run).toBe(true);
    expect(run.planned_changes.length).toBeGreaterThan(0);
    expect(await page.locator('ul.planned li').allTextContents()).toEqual(run.planned_changes);
    expect(((await stack.request('GET', `/api/haier/catalog/products/${p.product_code}/`, { key: stack.keys.viewer })).json.data as { supply_price: string }).supply_price).toBe(p.supply_price);
    await checkPage(w, 'run-dry');
    await go(page, '/runs');
    await page.locator(`#runs-table tr[data-run="${id}"] .dry-run`).waitFor();
    await w.context.close();
  }, 60_000);

  it('a run with injected faults shows its failed items with reasons and an overview alert; "retry the failed" heals them', async () => {
    const codes = ((await stack.request('GET', '/api/haier/catalog/products/?sort=code&page_size=12', { key: stack.keys.viewer })).json.results as Array<{ product_code: string }>).map((p) => p.product_code);
    const w = await open(stack.keys.operator);
    const { page } = w;
    stack.sim.control.faults({ malformedRate: 1 }); // one malformed row in every answer: those products fail
    let id: string;
    try {
      await go(page, '/runs');
      await page.fill('#start-codes', codes.join(' '));
      await page.click('button:text("Start run")');
      await page.waitForURL(/\/runs\/\d+$/);
      id = page.url().split('/').pop()!;
      await page.locator('#run-title .status-PARTIAL').waitFor({ timeout: 60_000 });
    } finally {
      stack.sim.control.clearFaults();
    }
    const run = (await stack.request('GET', `/api/haier/sync/${id}/`, { key: stack.keys.viewer })).json.data as { failed_items: Array<{ product_code: string; reason: string }> };
    expect(run.failed_items.length).toBeGreaterThan(0);
    const rows = await Promise.all((await page.locator('#failed-items tbody tr').all()).map((tr) => tr.locator('td').allTextContents()));
    expect(rows).toEqual(run.failed_items.map((f) => [f.product_code, f.reason]));
    await checkPage(w, 'run-partial');

    await go(page, '/');
    await page.locator('section[aria-label="Alerts"] li', { hasText: `Run ${id}` }).waitFor();
    await go(page, `/runs/${id}`);
    await page.click(`button:text("Retry the ${run.failed_items.length} failed")`);
    await page.waitForURL((u) => /\/runs\/\d+$/.test(u.pathname) && !u.pathname.endsWith(`/${id}`));
    await page.locator('#run-title .status-SUCCESS').waitFor({ timeout: 60_000 });
    await page.locator(`.run-meta a:text("run ${id}")`).waitFor();
    expect(await page.locator('[data-count=total]').textContent()).toBe(String(run.failed_items.length));
    expect(await page.locator('[data-count=failed]').textContent()).toBe('0');
    await w.context.close();
  }, 120_000);

  it('a viewer key sees no write controls', async () => {
    const w = await open(stack.keys.viewer);
    const { page } = w;
    expect(await page.locator('.who .badge').textContent()).toBe('viewer');
    await go(page, '/runs');
    await page.locator('#runs-table tbody tr').first().waitFor();
    expect(await page.locator('.start-form').count()).toBe(0);
    await go(page, `/runs/${firstRun}`);
    await page.locator('#run-title', { hasText: firstRun }).waitFor();
    expect(await page.locator('button:text("Cancel run"), button:text("Retry")').count()).toBe(0);
    const code = ((await stack.request('GET', '/api/haier/catalog/products/?page_size=1', { key: stack.keys.viewer })).json.results as Array<{ product_code: string }>)[0]!.product_code;
    await go(page, `/catalog/${code}`);
    await page.locator('#product-title', { hasText: code }).waitFor();
    expect(await page.locator('#pin-price, button:text("Sync"), #stock-county').count()).toBe(0);
    await checkPage(w, 'product-viewer');
    await w.context.close();
  }, 60_000);
});

afterAll(() => {
  // which screenshots this run wrote (CI keeps test-artifacts/)
  if (existsSync(ARTIFACTS)) writeFileSync(join(ARTIFACTS, 'README.txt'), 'Screenshots of every console page at 1280 px and 390 px, written by services/http-edge/test/ui.test.ts.\n');
});
