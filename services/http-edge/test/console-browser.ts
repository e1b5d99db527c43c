// The operator console in a real headless Chromium (Debian's package, driven by playwright-core),
// shared by the console's browser tests (ui.test.ts, ui-admin.test.ts, ui-live.test.ts): open a page with a key,
// watch it for problems (console errors, failed requests, error answers not provoked on purpose),
// and check every page the same way: no serious or critical axe-core violations, no page-wide
// sideways scroll at 390 px, screenshots at 1280 and 390 px under test-artifacts/console/.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = join(__dirname, '..', '..', '..', 'test-artifacts', 'console');
export const CONSOLE_DIST = join(__dirname, '..', 'console', 'dist');
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface Watched {
  page: Page;
  context: BrowserContext;
  problems: string[];
  /** Answers the scenario provokes on purpose (e.g. the 409 of a second run), as "STATUS path". */
  expected: Set<string>;
  /** Every run event-stream request and how it went, with its time since the tab opened (for a failure's message). */
  streams: string[];
}

/** Chromium, once it and the console's build are there (else an error saying how to get them). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install chromium (scripts/ensure-services.sh does it), or set CHROMIUM_PATH.`);
  }
  if (!existsSync(join(CONSOLE_DIST, 'index.html'))) throw new Error('The console is not built: run `pnpm build` first.');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** An event stream the page closes on purpose when it moves on (a run's progress, a followed log). */
const isEventStream = (url: string) => {
  const u = new URL(url);
  return u.pathname.endsWith('/events/') || u.searchParams.get('follow') === 'true';
};

/** A new browser context on the console at `baseUrl`, signed in with `key` (none: the sign-in page). */
export async function openConsole(browser: Browser, baseUrl: string, key: string | null): Promise<Watched> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const w: Watched = { page, context, problems: [], expected: new Set(), streams: [] };
  const t0 = Date.now();
  const stream = (what: string, url: string) => isEventStream(url) && w.streams.push(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${what} ${new URL(url).pathname}${new URL(url).search}`);
  page.on('request', (r) => stream('open', r.url()));
  page.on('requestfinished', (r) => stream('finished', r.url()));
  page.on('response', (r) => stream(`answer ${r.status()}`, r.url()));
  const expectedStatus = (url: string, status: number) => w.expected.has(`${status} ${new URL(url).pathname}`);
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium logs every 4xx/5xx fetch as a console error; the provoked ones are not problems
    const loc = m.location().url;
    const status = /status of (\d{3})/.exec(m.text())?.[1];
    if (status && loc && expectedStatus(loc, Number(status))) return;
    w.problems.push(`console: ${m.text()} (${loc})`);
  });
  page.on('pageerror', (e) => w.problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => {
    stream(`failed (${r.failure()?.errorText})`, r.url());
    if (r.failure()?.errorText === 'net::ERR_ABORTED' && isEventStream(r.url())) return;
    w.problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !expectedStatus(r.url(), r.status())) w.problems.push(`answer ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  await page.goto(`${baseUrl}/`);
  if (key) await signIn(page, key);
  return w;
}

export async function signIn(page: Page, key: string): Promise<void> {
  await page.fill('#api-key', key);
  await page.click('text=Use key');
  await page.locator('.who strong').waitFor();
}

/** The checks of every page: accessibility (axe-core), screenshots at desktop and phone width, no page-wide overflow on a phone, no problems so far. */
export async function checkPage(w: Watched, name: string): Promise<void> {
  const { page } = w;
  await page.waitForLoadState('networkidle').catch(() => undefined);
  // injected through the DevTools protocol: the console's CSP (rightly) refuses inline scripts
  if (!(await page.evaluate("'axe' in window"))) await page.evaluate(AXE);
  // (strings: the page's DOM types are not this program's)
  const violations = await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) =>
    r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id + ' (' + v.impact + '): ' + v.help + ' at ' + v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')))`);
  expect(violations).toEqual([]);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForTimeout(150);
  const overflow = await page.evaluate('document.documentElement.scrollWidth');
  await page.screenshot({ path: join(ARTIFACTS, `${name}-390.png`), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 900 });
  expect(overflow).toBeLessThanOrEqual(390);
  expect(w.problems).toEqual([]);
}

/** A client-side move, as a click on a link does (keeps the key and the app's state). */
export async function go(page: Page, path: string): Promise<void> {
  await page.evaluate(`history.pushState(null, '', ${JSON.stringify(path)}); dispatchEvent(new PopStateEvent('popstate'))`);
}

/** Polls `ok` (from the test's side: the page's CSP refuses string evaluation) until it holds. */
export async function until(ok: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`not so after ${ms} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
