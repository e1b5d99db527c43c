// The console's admin pages (/admin/…) in a real headless Chromium against the real stack (the
// simulator as Haier, the built services, the edge serving the built console): Haier configs
// (create, edit, test against the simulator, activate — which starts a FULL run —, delete one that
// is not active; secrets only as variable names), API keys (created and shown once, copied,
// revoked after a confirmation), the audit log's filters showing what was just done, schedules
// (pause, resume, run now linked to its run; the overview's "Next scheduled runs"), and a viewer
// key that is offered no write control. Every page: no console errors, no failed requests, no
// serious or critical axe-core violations, screenshots at 1280 and 390 px (test-artifacts/console/).
import type { Browser } from 'playwright-core';
import { DEFAULT_CREDENTIALS } from '@haier-sync/haier-sim';
import { checkPage, go, launchChromium, openConsole, until } from './console-browser';
import { startEdgeStack, type EdgeStack } from './stack';

let stack: EdgeStack;
let browser: Browser;

const open = (key: string | null) => openConsole(browser, stack.baseUrl, key);

interface ApiRun {
  id: string;
  status: string;
  finished: boolean;
  sync_type: string;
  mode: string;
  trigger: string;
}

async function waitRun(id: string, ms = 60_000): Promise<ApiRun> {
  const end = Date.now() + ms;
  for (;;) {
    const r = (await stack.request('GET', `/api/haier/sync/${id}/`, { key: stack.keys.viewer })).json.data as ApiRun;
    if (r.finished) return r;
    if (Date.now() > end) throw new Error(`run ${id} did not end in ${ms} ms: ${JSON.stringify(r)}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

interface AuditRow {
  method: string;
  path: string;
  key_name: string | null;
  params: { body?: { reason?: string } };
}

const audit = async (query: string): Promise<AuditRow[]> => (await stack.request('GET', `/api/haier/audit/?${query}`, { key: stack.keys.admin })).json.results as AuditRow[];

beforeAll(async () => {
  browser = await launchChromium();
  stack = await startEdgeStack({ sim: { size: 30 } });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 120_000);

describe('the console\'s admin pages', () => {
  it('Haier configs: create (secrets as variable names), edit, test against Haier, delete one that is not active, activate (its FULL run linked)', async () => {
    const w = await open(stack.keys.admin);
    const { page } = w;
    await go(page, '/admin');
    await page.locator('#configs-title').waitFor();
    expect(await page.locator('nav[aria-label="Admin sections"] a').allTextContents()).toEqual(['Haier configs', 'API keys', 'Audit log', 'Schedules']);

    // a settings text that is not JSON is refused in the page, without a request
    await page.click('button:text("New config")');
    await page.fill('#config-name', 'ui-preprod');
    await page.fill('#config-settings', '{"base_url": ');
    await page.locator('#config-settings-problem', { hasText: 'not JSON' }).waitFor();
    expect(await page.locator('button:text("Create config")').isDisabled()).toBe(true);
    const settings = { base_url: stack.sim.url, client_id_env: 'HAIER_CLIENT_ID', client_secret_env: 'HAIER_CLIENT_SECRET' };
    await page.fill('#config-settings', JSON.stringify(settings, null, 2));
    await page.click('button:text("Create config")');
    await page.locator('#config-note', { hasText: 'Config “ui-preprod” created' }).waitFor();
    const row = page.locator('#configs tr[data-config="ui-preprod"]');
    await row.waitFor();
    // the secret is the name of its variable: never a value anywhere on the page
    const secretRow = row.locator('.settings div', { hasText: 'client_secret' });
    expect(await secretRow.locator('dt').textContent()).toBe('client_secret');
    expect(await secretRow.locator('dd').textContent()).toBe('env HAIER_CLIENT_SECRET');
    expect(await page.content()).not.toContain(DEFAULT_CREDENTIALS.clientSecret);
    const configs = async () => (await stack.request('GET', '/api/haier/config/', { key: stack.keys.admin })).json.results as Array<{ id: number; name: string; environment: string; active: boolean; settings: Record<string, string> }>;
    const made = (await configs()).find((c) => c.name === 'ui-preprod')!;
    expect(made).toMatchObject({ environment: 'test', active: false, settings });

    // edit: the environment changes, the settings stay
    await row.locator('button:text("Edit")').click();
    await page.locator('#config-edit-title', { hasText: 'Edit config ui-preprod' }).waitFor();
    expect(JSON.parse(await page.inputValue('#config-settings'))).toEqual(settings);
    await page.selectOption('#config-environment', 'pre-production');
    await page.click('button:text("Save config")');
    await page.locator('#config-note', { hasText: 'Config “ui-preprod” saved' }).waitFor();
    await row.locator('td', { hasText: 'pre-production' }).waitFor();
    expect((await configs()).find((c) => c.id === made.id)).toMatchObject({ environment: 'pre-production', settings });

    // test: Haier (the simulator) issues a token for the config's client
    await row.locator('button:text("Test")').click();
    await row.locator('.test-result', { hasText: 'Authenticates: config "ui-preprod": Haier issued an access token' }).waitFor({ timeout: 30_000 });
    await checkPage(w, 'admin-configs');

    // delete a config that is not the active one, after the confirmation
    await page.click('button:text("New config")');
    await page.fill('#config-name', 'ui-spare');
    await page.fill('#config-settings', '{}');
    await page.click('button:text("Create config")');
    const spare = page.locator('#configs tr[data-config="ui-spare"]');
    await spare.waitFor();
    await spare.locator('button:text("Delete")').click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('h2', { hasText: 'Delete config ui-spare?' }).waitFor();
    await dialog.locator('button:text("Delete the config")').click();
    await page.locator('#config-note', { hasText: 'Config “ui-spare” deleted' }).waitFor();
    await spare.waitFor({ state: 'detached' });
    expect((await configs()).map((c) => c.name)).not.toContain('ui-spare');

    // activate (confirmed): the active one now, its FULL run linked from the note
    await row.locator('button:text("Activate")').click();
    await dialog.locator('h2', { hasText: 'Activate config ui-preprod?' }).waitFor();
    await checkPage(w, 'admin-config-activate-dialog');
    await dialog.locator('button:text("Activate and start a FULL run")').click();
    await page.locator('#configs tr[data-config="ui-preprod"][data-active="true"]').waitFor();
    expect(await row.locator('button:text("Activate"), button:text("Delete")').count()).toBe(0);
    expect((await configs()).find((c) => c.id === made.id)!.active).toBe(true);
    const link = page.locator('#config-note a', { hasText: 'Open run' });
    await link.waitFor();
    const runId = (await link.textContent())!.replace('Open run ', '');
    expect(await page.locator('#config-note').textContent()).toContain(`it started FULL run ${runId}`);
    await link.click();
    await page.locator('#run-title', { hasText: `Run ${runId}` }).waitFor();
    const run = await waitRun(runId);
    expect(run).toMatchObject({ mode: 'FULL', trigger: 'CONFIG_CHANGE', status: 'SUCCESS' });
    await w.context.close();
  }, 90_000);

  it('API keys: a new key is shown once (and copied), works, is listed without it, and is revoked after a confirmation', async () => {
    const w = await open(stack.keys.admin);
    const { page } = w;
    await w.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.baseUrl });
    await go(page, '/admin/keys');
    await page.locator('#keys tr[data-key="stack-admin"] .badge', { hasText: 'this key' }).waitFor();
    await page.fill('#key-name', 'ui-made-key');
    await page.selectOption('#key-role', 'operator');
    await page.click('button:text("Create key")');
    await page.locator('#new-key-title', { hasText: 'Key “ui-made-key” created' }).waitFor();
    const secret = await page.inputValue('#new-key');
    expect(secret).toMatch(/^hs_[0-9A-Za-z]{40}$/);
    expect(await page.locator('.new-key').textContent()).toContain('not shown again');
    await page.click('.new-key button:text("Copy")');
    await page.locator('.new-key [role=status]', { hasText: 'Copied' }).waitFor();
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret);
    // it works, with the role asked for
    expect((await stack.request('GET', '/api/haier/me/', { key: secret })).json.data).toMatchObject({ name: 'ui-made-key', role: 'operator' });
    const row = page.locator('#keys tr[data-key="ui-made-key"]');
    await row.waitFor();
    const listed = ((await stack.request('GET', '/api/haier/keys/', { key: stack.keys.admin })).json.results as Array<{ name: string; prefix: string }>).find((k) => k.name === 'ui-made-key')!;
    expect(listed.prefix).toMatch(/^hs_\w{4}…$/);
    expect(secret.startsWith(listed.prefix.replace('…', ''))).toBe(true);
    expect(await row.locator('code').textContent()).toBe(listed.prefix);
    await checkPage(w, 'admin-keys-created');

    // once: dismissed, and after leaving and coming back, the key is nowhere on the page
    await page.click('.new-key button:text("I have stored it")');
    await go(page, '/admin/configs');
    await page.locator('#configs-title').waitFor();
    await go(page, '/admin/keys');
    await row.waitFor();
    expect(await page.content()).not.toContain(secret);

    // revoke: "Keep it" leaves it; by keyboard, then confirmed, it is revoked
    await row.locator('button:text("Revoke")').click();
    const dialog = page.locator('dialog[open]');
    await dialog.locator('h2', { hasText: 'Revoke key ui-made-key?' }).waitFor();
    await dialog.locator('button:text("Keep it")').click();
    await until(async () => (await page.locator('dialog[open]').count()) === 0, 5_000);
    expect((await stack.request('GET', '/api/haier/me/', { key: secret })).status).toBe(200);
    await row.locator('button:text("Revoke")').focus();
    await page.keyboard.press('Enter');
    await dialog.locator('button:text("Revoke the key")').click();
    await page.locator('#keys tr[data-key="ui-made-key"][data-revoked="true"]').waitFor();
    expect(await row.locator('button:text("Revoke")').count()).toBe(0);
    expect((await stack.request('GET', '/api/haier/me/', { key: secret })).status).toBe(401);
    await checkPage(w, 'admin-keys');
    await w.context.close();
  }, 60_000);

  it('schedules: the next runs agree with the API; pause (with a reason) and resume; run now links to the run it started; the overview tile follows', async () => {
    const w = await open(stack.keys.operator);
    const { page } = w;
    await go(page, '/admin');
    // an operator is offered the schedules only
    expect(await page.locator('nav[aria-label="Admin sections"] a').allTextContents()).toEqual(['Schedules']);
    await page.locator('#schedules tbody tr').first().waitFor();
    const api = (await stack.request('GET', '/api/haier/schedules/', { key: stack.keys.viewer })).json.results as Array<{ name: string; next_fire_at: string | null }>;
    expect(await page.locator('#schedules tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-job')))).toEqual(api.map((j) => j.name));
    const prices = api.find((j) => j.name === 'prices')!;
    expect(prices.next_fire_at).not.toBeNull();
    const row = page.locator('#schedules tr[data-job="prices"]');
    expect(await row.locator('.next-run').textContent()).toContain(prices.next_fire_at!.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'));
    await checkPage(w, 'admin-schedules');

    await page.fill('#schedule-reason', 'ui supplier maintenance');
    await page.click('button[aria-label="Pause prices"]');
    await page.locator('#schedules tr[data-job="prices"][data-paused="true"]').waitFor();
    await row.locator('td', { hasText: 'paused by stack-operator' }).waitFor();
    expect(await row.locator('.next-run').textContent()).toBe('paused');
    const paused = (await stack.request('GET', '/api/haier/schedules/', { key: stack.keys.viewer })).json.results as Array<{ name: string; paused: boolean; paused_by: string }>;
    expect(paused.find((j) => j.name === 'prices')).toMatchObject({ paused: true, paused_by: 'stack-operator' });

    // the overview's tile leaves the paused job out of the next runs and says it is paused
    await go(page, '/');
    const tile = page.locator('section[aria-label="Next scheduled runs"]');
    await tile.locator('.warn-text', { hasText: 'Paused: prices (by stack-operator)' }).waitFor();
    expect(await tile.locator('li[data-job="prices"]').count()).toBe(0);
    expect(await tile.locator('li').count()).toBeGreaterThan(0);
    await checkPage(w, 'overview-next-runs');

    await go(page, '/admin/schedules');
    await page.click('button[aria-label="Resume prices"]');
    await page.locator('#schedules tr[data-job="prices"][data-paused="false"]').waitFor();
    await page.locator('#schedule-note', { hasText: 'prices: resumed' }).waitFor();
    expect(((await stack.request('GET', '/api/haier/schedules/', { key: stack.keys.viewer })).json.results as Array<{ name: string; paused: boolean }>).find((j) => j.name === 'prices')!.paused).toBe(false);

    // run now: the note links to the run it started, which the run page shows
    await page.click('button[aria-label="Run now: prices"]');
    const link = page.locator('#schedule-note a', { hasText: 'Open run' });
    await link.waitFor({ timeout: 30_000 });
    const runId = (await link.textContent())!.replace('Open run ', '');
    await link.click();
    await page.locator('#run-title', { hasText: `Run ${runId}` }).waitFor();
    const run = await waitRun(runId);
    expect(run).toMatchObject({ sync_type: 'PRICES', trigger: 'SCHEDULE' });
    await go(page, '/admin/schedules');
    await row.locator(`a:text-is("Run ${runId}")`).waitFor();
    await w.context.close();
  }, 60_000);

  it('audit log: its filters show the actions just done, as the API answers them (writes_only: changes only, refused when not a boolean); pages', async () => {
    const w = await open(stack.keys.admin);
    const { page } = w;
    await go(page, '/admin/audit');
    await page.locator('#audit tbody tr').first().waitFor();
    // changes only by default: no GET among them
    expect(await page.locator('#a-writes').isChecked()).toBe(true);
    expect(await page.locator('#audit tbody tr[data-method="GET"]').count()).toBe(0);
    expect((await audit('limit=100')).some((r) => r.method === 'GET')).toBe(true);
    const writes = await audit('writes_only=true&limit=1000');
    expect(writes.length).toBeGreaterThan(0);
    expect(writes.filter((r) => !['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method))).toEqual([]);
    const bad = await stack.request('GET', '/api/haier/audit/?writes_only=yes', { key: stack.keys.admin });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain('writes_only');

    // the config actions of the admin key, newest first, as the API lists them
    await page.selectOption('#a-key', 'stack-admin');
    await page.fill('#a-path', '/api/haier/config/');
    await page.click('button:text("Apply filters")');
    const expected = await audit('key_name=stack-admin&path=/api/haier/config/&writes_only=true&limit=50');
    const shown = () => page.locator('#audit tbody tr').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-method')} ${r.getAttribute('data-path')}`));
    await until(async () => (await shown()).length === expected.length && (await shown())[0] === `${expected[0]!.method} ${expected[0]!.path}`, 10_000);
    expect(await shown()).toEqual(expected.map((r) => `${r.method} ${r.path}`));
    const id = expected.find((r) => r.path.endsWith('/activate/'))!.path.split('/')[4];
    for (const action of ['POST /api/haier/config/', `PATCH /api/haier/config/${id}/`, `POST /api/haier/config/${id}/test/`, `POST /api/haier/config/${id}/activate/`]) expect(await shown()).toContain(action);
    expect((await shown()).filter((s) => s.startsWith('DELETE /api/haier/config/'))).toHaveLength(1);
    await checkPage(w, 'admin-audit');

    // the key made and revoked
    await page.fill('#a-path', '/api/haier/keys/');
    await page.click('button:text("Apply filters")');
    await page.locator('#audit tbody tr[data-path="/api/haier/keys/ui-made-key/"][data-method="DELETE"]').waitFor();
    expect(await page.locator('#audit tbody tr[data-path="/api/haier/keys/"][data-method="POST"]').count()).toBeGreaterThan(0);

    // the pause by the operator key, with its reason in the parameters
    await page.selectOption('#a-key', 'stack-operator');
    await page.fill('#a-path', '/api/haier/schedules/prices/pause/');
    await page.click('button:text("Apply filters")');
    const pause = page.locator('#audit tbody tr[data-path="/api/haier/schedules/prices/pause/"]');
    await pause.waitFor();
    expect(await pause.count()).toBe(1);
    expect(await pause.locator('.params').textContent()).toContain('ui supplier maintenance');
    expect((await audit('key_name=stack-operator&path=/api/haier/schedules/prices/pause/'))[0]!.params.body?.reason).toBe('ui supplier maintenance');

    // a bad status is refused in the page, without a request
    await page.fill('#a-status', '99');
    await page.locator('.error', { hasText: 'Status must be an HTTP status' }).waitFor();
    expect(await page.locator('button:text("Apply filters")').isDisabled()).toBe(true);

    // reads too, 25 a page: "Older" shows the next page, "Newer" the first again
    await page.click('button:text("Reset")');
    await page.uncheck('#a-writes');
    await page.selectOption('#a-limit', '25');
    await page.click('button:text("Apply filters")');
    await until(async () => (await page.locator('#audit tbody tr').count()) === 25, 10_000);
    const first = await page.locator('#audit tbody tr').first().getAttribute('data-audit');
    await page.click('button:text("Older")');
    await until(async () => (await page.locator('#audit tbody tr').first().getAttribute('data-audit')) !== first, 10_000);
    const second = await page.locator('#audit tbody tr').first().getAttribute('data-audit');
    expect(Number(second)).toBeLessThan(Number(first));
    await page.locator('#audit-count', { hasText: 'Page 2' }).waitFor();
    // back on the first page (newer calls may have come since: the log's own reads are audited too)
    await page.click('button:text("Newer")');
    await page.locator('#audit-count', { hasText: 'Page 1' }).waitFor();
    await until(async () => Number(await page.locator('#audit tbody tr').first().getAttribute('data-audit')) >= Number(first), 10_000);
    expect(await page.locator(`#audit tbody tr[data-audit="${second}"]`).count()).toBe(0);
    await w.context.close();
  }, 60_000);

  it('a viewer key is offered no write control on the admin pages, nor the admin-only sections', async () => {
    const w = await open(stack.keys.viewer);
    const { page } = w;
    await go(page, '/admin');
    await page.locator('#schedules tbody tr').first().waitFor();
    expect(await page.locator('nav[aria-label="Admin sections"] a').allTextContents()).toEqual(['Schedules']);
    expect(await page.locator('.note', { hasText: 'Haier configs, API keys, Audit log need an admin key' }).count()).toBe(1);
    expect(await page.locator('main button, #schedule-reason').count()).toBe(0);
    await checkPage(w, 'admin-viewer');
    // an admin-only section by its address: said in words, and nothing asked of the API
    for (const section of ['configs', 'keys', 'audit']) {
      await go(page, `/admin/${section}`);
      await page.locator('main .error', { hasText: 'need the admin role; this key has the viewer role' }).waitFor();
      expect(await page.locator('main button, main input, main textarea, main select').count()).toBe(0);
    }
    await checkPage(w, 'admin-viewer-forbidden');
    await w.context.close();
  }, 60_000);
});
