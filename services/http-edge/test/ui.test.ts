// The operator console in a real headless Chromium (Debian's package, driven by playwright-core)
// against the real stack: paste a key, start a full sync, watch it finish, find a product, make
// Haier change its price, sync it, and read the change in its price history.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startEdgeStack, type EdgeStack } from './stack';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let stack: EdgeStack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install chromium (scripts/ensure-services.sh does it), or set CHROMIUM_PATH.`);
  }
  stack = await startEdgeStack({ sim: { size: 60 } });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

it('serves the console without a key, and the API still refuses without one', async () => {
  const res = await fetch(`${stack.baseUrl}/`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
  expect(await res.text()).toContain('haier-sync');
  await page.goto(`${stack.baseUrl}/`);
  await page.click('text=Refresh');
  await expect(page.locator('#error').textContent()).resolves.toContain('Paste an API key');
});

it('starts a full sync, follows it to SUCCESS, then finds a product and its price history', async () => {
  await page.fill('#api-key', stack.keys.operator);
  await page.click('#key-form button');
  await page.selectOption('select[name=mode]', 'FULL');
  await page.click('#start-form button');
  await page.locator('#run-status').filter({ hasText: 'SUCCESS' }).waitFor({ timeout: 60_000 });
  const summary = await page.locator('#run-summary').textContent();
  expect(summary).toMatch(/created [1-9]\d*/);
  expect(summary).toContain('failed 0');
  await page.click('#refresh-runs');
  await page.locator('#runs tr .status-SUCCESS').first().waitFor();

  // a procurable product with a Haier price
  const listed = await stack.request('GET', '/api/haier/catalog/products/?is_sales=true&sort=code&page_size=50', { key: stack.keys.viewer });
  const code = (listed.json.results as Array<{ product_code: string; supply_price: string | null }>).find((p) => p.supply_price !== null)!.product_code;
  await page.click('button[data-tab=catalog]');
  await page.fill('input[name=q]', code);
  await page.click('#search-form button');
  await page.locator('#products tr', { hasText: code }).first().click();
  await page.locator('#product-title', { hasText: code }).waitFor();
  expect(await page.locator('#product-json').textContent()).toContain(`"product_code": "${code}"`);
  expect(await page.locator('#error').isHidden()).toBe(true);

  // Haier raises the price; a price sync of the product (a MANUAL run) records the change
  const before = (await stack.request('GET', `/api/haier/catalog/products/${code}/`, { key: stack.keys.viewer })).json.data as { supply_price: string };
  const newPrice = (Number(before.supply_price) + 123.45).toFixed(2);
  stack.sim.control.setPrice(code, { supplyPrice: newPrice });
  const synced = await stack.request('POST', `/api/haier/catalog/products/${code}/sync-price/`, { key: stack.keys.operator });
  expect(synced.status).toBe(200);
  expect(synced.json.changed_fields).toContain('supply_price');
  const runId = synced.json.run_id as string;

  // the console shows it: reopen the product, the history's supply_price row has the old and new price and the run
  await page.click('#search-form button');
  await page.locator('#products tr', { hasText: code }).first().click();
  const change = page.locator('#history tr', { hasText: 'supply_price' }).filter({ hasText: runId });
  await change.first().waitFor({ timeout: 10_000 });
  const cells = await change.first().locator('td').allTextContents();
  expect(cells[1]).toBe('supply_price');
  expect(Number(cells[2])).toBe(Number(before.supply_price));
  expect(Number(cells[3])).toBe(Number(newPrice));
  expect(cells[4]).toBe(runId);
  expect(await page.locator('#error').isHidden()).toBe(true);
}, 120_000);

it('shows an operator-worded error for a key it does not know', async () => {
  await page.click('button[data-tab=runs]');
  await page.fill('#api-key', 'not-a-key');
  await page.click('#key-form button');
  await page.locator('#error', { hasText: '401' }).waitFor();
  expect(await page.locator('#error').textContent()).toContain('Ask an admin');
});
