// Every service's /metrics after a small real run: the simulator as Haier, the gateway, the
// catalog and the orchestrator (with its event publisher on the machine's NATS) as built
// processes with their metrics ports open, the edge in-process. Each metric that a provisioned
// Grafana dashboard or an alert rule reads must be in a scrape, and must have moved during the
// run (a counter or histogram went up; a gauge has a value), so that no panel or alert silently
// points at nothing.
import { freePort, TEST_NATS_URL, uniqueId, waitFor } from '@haier-sync/runtime/testing';
import { deleteStreamsUnder, fullRunToEnd, startEdgeStack, type EdgeStack } from './stack';
import { familyOf, parseScrape, referencedMetrics, type Scrape } from './observability-refs';

jest.setTimeout(180_000);

/**
 * Referenced counters that a healthy run cannot move, and why; they must still be in the scrape.
 * (Everything else referenced must move.)
 */
const ONLY_ON_TROUBLE: Record<string, string> = {
  sync_nats_reconnects_total: 'counts NATS coming back after an outage; the machine’s NATS is never stopped by a test',
};

const prefix = `${uniqueId('metrics')}.`;
let stack: EdgeStack;
let ports: { gateway: number; catalog: number; sync: number };

async function scrapeAll(): Promise<Record<string, Scrape>> {
  const urls: Record<string, string> = {
    'haier-gateway': `http://127.0.0.1:${ports.gateway}/metrics`,
    catalog: `http://127.0.0.1:${ports.catalog}/metrics`,
    'sync-orchestrator': `http://127.0.0.1:${ports.sync}/metrics`,
    'http-edge': `${stack.baseUrl}/metrics`,
  };
  const out: Record<string, Scrape> = {};
  for (const [service, url] of Object.entries(urls)) {
    // the edge's /metrics on its HTTP port takes any API key (EDGE_METRICS_PORT would serve it without one)
    const res = await fetch(url, service === 'http-edge' ? { headers: { authorization: `Bearer ${stack.keys.viewer}` } } : {});
    expect([service, res.status]).toEqual([service, 200]);
    const text = await res.text();
    expect(text).toContain(`service="${service}"`);
    out[service] = parseScrape(text);
  }
  return out;
}

beforeAll(async () => {
  const [gateway, catalog, sync] = await Promise.all([freePort(), freePort(), freePort()]);
  ports = { gateway, catalog, sync };
  stack = await startEdgeStack({
    sim: { size: 80, seed: 11 },
    logLevel: 'info',
    processEnv: { GATEWAY_METRICS_PORT: String(gateway), CATALOG_METRICS_PORT: String(catalog), SYNC_METRICS_PORT: String(sync) },
    syncEnv: { SYNC_PUBLISHER_ENABLED: 'true', NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix },
  });
});

afterAll(async () => {
  await stack?.close();
  // the streams the run made: every stream whose subjects are all under this test's prefix
  await deleteStreamsUnder(TEST_NATS_URL, prefix);
});

test('after a small FULL run, every metric the dashboards and alert rules read is in a service scrape and moved', async () => {
  const before = await scrapeAll();

  const { run } = await fullRunToEnd(stack);
  expect(run.status).toBe('SUCCESS');
  // the publisher has relayed the run's changes and its run events
  await waitFor(
    async () => {
      const s = (await scrapeAll())['sync-orchestrator']!;
      return (s.samples.get('sync_events_published_total') ?? 0) > 0 && s.samples.get('sync_publisher_lag_events') === 0;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'the publisher to catch up' },
  );
  // a catalog read twice: read from the catalog and kept, then answered from the edge's read cache
  for (let i = 0; i < 2; i++) expect((await stack.request('GET', '/api/haier/catalog/products/?page_size=5', { key: stack.keys.viewer })).status).toBe(200);
  const after = await scrapeAll();

  const refs = referencedMetrics();
  expect(refs.size).toBeGreaterThan(20);
  const problems: string[] = [];
  for (const [name, where] of refs) {
    const found = Object.entries(after).filter(([, s]) => s.samples.has(name));
    if (found.length === 0) {
      problems.push(`${name} is in no scrape (read by ${where.join('; ')})`);
      continue;
    }
    const [service, scrape] = found[0]!;
    const family = familyOf(scrape, name);
    if (!family) {
      problems.push(`${name} (${service}) has no TYPE line`);
      continue;
    }
    if (family.type === 'gauge') continue; // present with a value: enough for a gauge
    if (ONLY_ON_TROUBLE[name] !== undefined) continue;
    const moved = found.some(([svc, s]) => (s.samples.get(name) ?? 0) > (before[svc]!.samples.get(name) ?? 0));
    if (!moved) problems.push(`${name} (${family.type}, ${service}) did not move during the run (read by ${where.join('; ')})`);
  }
  expect(problems).toEqual([]);

  // and the numbers agree with the run
  const sync = after['sync-orchestrator']!;
  expect(sync.samples.get('sync_runs_total')).toBe(1);
  expect(sync.samples.get('sync_products_total')).toBe(Number(run.counts.total));
  expect(sync.samples.get('sync_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 300);
  const catalog = after.catalog!;
  expect(catalog.samples.get('catalog_products')).toBe(Number(run.counts.total));
  expect(catalog.samples.get('catalog_upsert_products_total')).toBe(Number(run.counts.total));
  const edge = after['http-edge']!;
  expect(edge.samples.get('edge_read_cache_requests_total')).toBeGreaterThanOrEqual(2);
  const gw = after['haier-gateway']!;
  expect(gw.samples.get('haier_upstream_requests_total')).toBeGreaterThanOrEqual(Number(run.counts.upstream_calls));
});
