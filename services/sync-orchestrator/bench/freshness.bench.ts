// The price-freshness sweep at 50,000 products with SYNC_PRICE_MAX_AGE=10m (issue 10 item 5):
// the simulator (100 calls/s, 50 ms, strict sliding-second limit), the gateway, the catalog and
// the orchestrator as deployed processes, a fresh database. A FULL sync fills the catalog; then,
// for BENCH_WINDOW (default 2.5 × the max age), the sweep alone keeps the prices fresh; the
// figures after the first max age of it are the sweep's steady state.
//
// Reports:
//   - the p99 and max price age of the procurable products (catalog Stats, sampled every 5 s)   (target p99 ≤ max age)
//   - products over the max age at any sample                                                     (target 0)
//   - prices calls per max age, against the least that re-checks every price once per max age
//     (procurable / 20): the ratio is the figure; and the share of HAIER_RATE_LIMIT used            (expected ~4% at 50,000 / 10 min)
//   - throttled answers at the simulator                                                          (target 0)
// With BENCH_LOW_STOCK_MAX_AGE (e.g. 15m; off by default: the FULL sync then reads stock too, one
// call per product) the same sweep also keeps the low-stock products' stock fresh, within the same
// share; it adds the p99/max stock age of the low-stock products, those over that max age, the
// stock calls against the least (low-stock products per max age) and their share of the limit.
// BENCH_PRODUCTS, BENCH_MAX_AGE (e.g. 2m for a shortened run: the ratio is the same figure),
// BENCH_WINDOW, BENCH_RATE, BENCH_LATENCY_MS change it. Writes
// bench-results/sync-orchestrator-freshness-figures.json (from the repo root).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { durationFromMs, durationMs } from '@bufbuild/protobuf/wkt';
import { catalog, sync } from '@haier-sync/contracts';
import { DEFAULT_CREDENTIALS } from '@haier-sync/haier-sim';
import { closeGrpcClients } from '@haier-sync/runtime';
import { createTestDatabase, freePort, testClient, TEST_NATS_URL, uniqueId, waitFor } from '@haier-sync/runtime/testing';
import { connect } from 'nats';
import { deleteStreams } from '../src/events';
import { cpuSeconds, peakRss, ROOT, runToEnd, simStats, startProcess, stop, waitServing, type Proc } from './support';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 50_000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const MAX_AGE = process.env.BENCH_MAX_AGE ?? '10m';
const SHARE = process.env.BENCH_SWEEP_SHARE ?? '10%';
const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };
const toMs = (v: string): number => {
  const m = /^(\d+)(s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`not a duration: ${v} (e.g. 10m, 90s)`);
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
};
const MAX_AGE_MS = toMs(MAX_AGE);
const STOCK_MAX_AGE = process.env.BENCH_LOW_STOCK_MAX_AGE;
const STOCK_MAX_AGE_MS = STOCK_MAX_AGE ? toMs(STOCK_MAX_AGE) : undefined;
const WINDOW_MS = process.env.BENCH_WINDOW ? toMs(process.env.BENCH_WINDOW) : Math.round(MAX_AGE_MS * 2.5);
const SAMPLE_MS = 5_000;
const MB = 1024 * 1024;

const endpointCalls = async (simUrl: string, endpoint: 'prices' | 'stock'): Promise<{ calls: number; throttled: number }> => {
  const s = await simStats(simUrl);
  const by = s.byEndpoint[endpoint] ?? {};
  return { calls: Object.values(by).reduce((a, b) => a + b, 0), throttled: s.throttled };
};
const pricesCalls = (simUrl: string) => endpointCalls(simUrl, 'prices');

async function main(): Promise<void> {
  const db = await createTestDatabase('hs_bench_fresh');
  const prefix = uniqueId('benchf').toLowerCase();
  const [simPort, gwPort, catPort, syncPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const simUrl = `http://127.0.0.1:${simPort}`;
  const procs: Proc[] = [];
  const nc = await connect({ servers: TEST_NATS_URL });
  try {
    process.stderr.write(`starting simulator (${PRODUCTS} products, ${RATE} calls/s, ${LATENCY_MS} ms), gateway, catalog, orchestrator (SYNC_PRICE_MAX_AGE=${MAX_AGE}, share ${SHARE})…\n`);
    const sim = startProcess('haier-sim', 'tools/haier-sim', {
      SIM_PORT: String(simPort), SIM_SIZE: String(PRODUCTS), SIM_RATE_LIMIT: String(RATE), SIM_RATE_LIMIT_MODE: 'sliding', SIM_LATENCY_MS: String(LATENCY_MS), SIM_SEED: '42',
    });
    procs.push(sim);
    await waitFor(async () => fetch(`${simUrl}/__sim/config`).then((r) => r.ok, () => false), { timeoutMs: 90_000, intervalMs: 250, what: 'the simulator' });
    const c = DEFAULT_CREDENTIALS;
    const gw = startProcess('haier-gateway', 'services/haier-gateway', {
      GATEWAY_PORT: String(gwPort), HAIER_BASE_URL: simUrl, HAIER_RATE_LIMIT: String(RATE), NATS_URL: '',
      HAIER_CLIENT_ID: c.clientId, HAIER_CLIENT_SECRET: c.clientSecret, HAIER_CUSTOMER_CODE: c.customerCode, HAIER_SEND_TO_CODE: c.sendToCode,
      HAIER_PASSWORD: c.passWord, HAIER_SELLER_PASSWORD: c.sellerPassword, HAIER_CUSTOMER_PASSWORD: c.customerPassword,
    });
    const cat = startProcess('catalog', 'services/catalog', { CATALOG_PORT: String(catPort), DATABASE_URL: db.url });
    procs.push(gw, cat);
    await Promise.all([waitServing(gw, `http://127.0.0.1:${gwPort}`), waitServing(cat, `http://127.0.0.1:${catPort}`)]);
    const orch = startProcess('sync-orchestrator', 'services/sync-orchestrator', {
      SYNC_PORT: String(syncPort), DATABASE_URL: db.url, NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix,
      GATEWAY_URL: `http://127.0.0.1:${gwPort}`, CATALOG_URL: `http://127.0.0.1:${catPort}`,
      SYNC_FIRST_DEPLOY: 'false', SYNC_IMAGES_IN_FULL: 'false', SYNC_SCHEDULE_FULL: 'off', SYNC_SCHEDULE_PRICES: 'off', SYNC_SCHEDULE_LOW_STOCK: 'off', SYNC_SCHEDULE_INTEGRITY: 'off',
      SYNC_PRICE_MAX_AGE: MAX_AGE, SYNC_PRICE_SWEEP_SHARE: SHARE, ...(STOCK_MAX_AGE ? { SYNC_LOW_STOCK_MAX_AGE: STOCK_MAX_AGE } : {}),
    });
    procs.push(orch);
    await waitServing(orch, `http://127.0.0.1:${syncPort}`);
    const client = testClient(sync.SyncService, `http://127.0.0.1:${syncPort}`, { timeoutMs: 60_000 });
    const cats = testClient(catalog.CatalogService, `http://127.0.0.1:${catPort}`, { timeoutMs: 60_000 });

    process.stderr.write('FULL sync to fill the catalog…\n');
    const full = await runToEnd(client, { syncType: sync.SyncType.PRODUCTS, mode: sync.RunMode.FULL, options: { prices: true, stock: STOCK_MAX_AGE_MS !== undefined } });
    if (full.run.status !== sync.RunStatus.SUCCESS) throw new Error(`the FULL sync ended ${sync.RunStatus[full.run.status]}: ${full.run.message}`);
    process.stderr.write(`  done in ${(full.wallMs / 1000).toFixed(1)} s; the sweep alone for ${(WINDOW_MS / 1000).toFixed(0)} s…\n`);

    const before = await pricesCalls(simUrl);
    const stockBefore = await endpointCalls(simUrl, 'stock');
    const stockP99s: number[] = [];
    const stockMaxes: number[] = [];
    let stockOver = 0;
    let lowStock = 0;
    const cpu0 = { catalog: cpuSeconds(cat.child.pid), orchestrator: cpuSeconds(orch.child.pid), gateway: cpuSeconds(gw.child.pid) };
    const t0 = Date.now();
    const p99s: number[] = [];
    const maxes: number[] = [];
    /** Samples after one max age of the window: the sweep's own steady state (the FULL sync's ages are gone). */
    const steadyP99: number[] = [];
    let steadyFrom: { at: number; calls: number } | undefined;
    let overMax = 0;
    let steadyOver = 0;
    let procurable = 0;
    let lastPrint = 0;
    while (Date.now() - t0 < WINDOW_MS) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      const st = await cats.stats({ priceMaxAge: durationFromMs(MAX_AGE_MS), stockMaxAge: STOCK_MAX_AGE_MS ? durationFromMs(STOCK_MAX_AGE_MS) : undefined });
      if (STOCK_MAX_AGE_MS && st.stockAge?.max) {
        lowStock = Number(st.stockAge.lowStock);
        stockP99s.push(durationMs(st.stockAge.p99!) / 1000);
        stockMaxes.push(durationMs(st.stockAge.max) / 1000);
        if (Date.now() - t0 >= STOCK_MAX_AGE_MS) stockOver = Math.max(stockOver, Number(st.stockAge.overMaxAge));
      }
      procurable = Number(st.procurable);
      const a = st.priceAge!;
      p99s.push(durationMs(a.p99!) / 1000);
      maxes.push(durationMs(a.max!) / 1000);
      overMax = Math.max(overMax, Number(a.overMaxAge));
      if (Date.now() - t0 >= MAX_AGE_MS) {
        steadyFrom ??= { at: Date.now(), calls: (await pricesCalls(simUrl)).calls };
        steadyP99.push(durationMs(a.p99!) / 1000);
        steadyOver = Math.max(steadyOver, Number(a.overMaxAge));
      }
      if (Date.now() - lastPrint > 30_000) {
        lastPrint = Date.now();
        const now = await pricesCalls(simUrl);
        process.stderr.write(`  … ${((Date.now() - t0) / 1000).toFixed(0)} s: p99 ${p99s.at(-1)!.toFixed(0)} s, max ${maxes.at(-1)!.toFixed(0)} s, over ${a.overMaxAge}, ${now.calls - before.calls} prices calls\n`);
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const after = await pricesCalls(simUrl);
    const stockCalls = (await endpointCalls(simUrl, 'stock')).calls - stockBefore.calls;
    const stockFigures = STOCK_MAX_AGE_MS
      ? {
          low_stock: lowStock,
          stock_max_age_s: STOCK_MAX_AGE_MS / 1000,
          stock_p99_age_s_worst: stockP99s.length ? Math.round(Math.max(...stockP99s)) : null,
          stock_max_age_seen_s: stockMaxes.length ? Math.round(Math.max(...stockMaxes)) : null,
          stock_over_max_age_worst_after_one_max_age: stockOver,
          stock_calls: stockCalls,
          stock_ratio_to_least: lowStock > 0 ? Number(((stockCalls / seconds) * (STOCK_MAX_AGE_MS / 1000) / lowStock).toFixed(3)) : null,
          stock_share_of_rate_limit_pct: Number(((stockCalls / seconds / RATE) * 100).toFixed(2)),
        }
      : {};
    const calls = after.calls - before.calls;
    const perMaxAge = (calls / seconds) * (MAX_AGE_MS / 1000);
    const least = procurable / 20;
    const steadySeconds = steadyFrom ? (Date.now() - steadyFrom.at) / 1000 : 0;
    const steadyPerMaxAge = steadyFrom && steadySeconds > 0 ? ((after.calls - steadyFrom.calls) / steadySeconds) * (MAX_AGE_MS / 1000) : Number.NaN;
    const figures = {
      products: PRODUCTS,
      procurable,
      max_age_s: MAX_AGE_MS / 1000,
      window_s: Math.round(seconds),
      p99_age_s_worst: Math.round(Math.max(...p99s)),
      max_age_seen_s: Math.round(Math.max(...maxes)),
      over_max_age_worst: overMax,
      prices_calls: calls,
      calls_per_max_age: Math.round(perMaxAge),
      least_calls_per_max_age: Math.round(least),
      ratio_to_least: Number((perMaxAge / least).toFixed(3)),
      steady_window_s: Math.round(steadySeconds),
      steady_p99_age_s_worst: steadyP99.length ? Math.round(Math.max(...steadyP99)) : null,
      steady_over_max_age_worst: steadyOver,
      steady_ratio_to_least: Number((steadyPerMaxAge / least).toFixed(3)),
      share_of_rate_limit_pct: Number(((calls / seconds / RATE) * 100).toFixed(2)),
      throttled: after.throttled - before.throttled,
      ...stockFigures,
      cpu_s: {
        catalog: Number((cpuSeconds(cat.child.pid) - cpu0.catalog).toFixed(1)),
        orchestrator: Number((cpuSeconds(orch.child.pid) - cpu0.orchestrator).toFixed(1)),
        gateway: Number((cpuSeconds(gw.child.pid) - cpu0.gateway).toFixed(1)),
      },
      peak_rss_mb: { orchestrator: Math.round(peakRss(orch.child.pid) / MB), catalog: Math.round(peakRss(cat.child.pid) / MB) },
    };
    console.log(`freshness at ${procurable} procurable products, SYNC_PRICE_MAX_AGE=${MAX_AGE}, share ${SHARE}, over ${figures.window_s} s after a FULL sync:`);
    console.log(`  p99 price age (worst sample) ${figures.p99_age_s_worst} s, max ${figures.max_age_seen_s} s (target ≤ ${MAX_AGE_MS / 1000} s); over the max age at worst: ${overMax}`);
    console.log(`  prices calls ${calls} = ${figures.calls_per_max_age} per max age vs the least ${figures.least_calls_per_max_age} (ratio ${figures.ratio_to_least}); ${figures.share_of_rate_limit_pct}% of ${RATE} calls/s; throttled ${figures.throttled}`);
    console.log(`  after one max age (${figures.steady_window_s} s, the FULL sync's ages gone): p99 (worst sample) ${figures.steady_p99_age_s_worst} s, over the max age at worst ${steadyOver}, calls ${figures.steady_ratio_to_least}× the least`);
    if (STOCK_MAX_AGE_MS) {
      const f = stockFigures as Record<string, unknown>;
      console.log(`  low stock (${lowStock} products, SYNC_LOW_STOCK_MAX_AGE=${STOCK_MAX_AGE}): p99 stock age (worst sample) ${f['stock_p99_age_s_worst']} s, max ${f['stock_max_age_seen_s']} s, over it after one max age ${stockOver}; stock calls ${stockCalls} (${f['stock_ratio_to_least']}× the least) = ${f['stock_share_of_rate_limit_pct']}% of ${RATE} calls/s`);
    }
    console.log(`  CPU in the window: catalog ${figures.cpu_s.catalog} s, orchestrator ${figures.cpu_s.orchestrator} s, gateway ${figures.cpu_s.gateway} s; peak RSS orchestrator ${figures.peak_rss_mb.orchestrator} MB, catalog ${figures.peak_rss_mb.catalog} MB`);
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench-results', 'sync-orchestrator-freshness-figures.json'), JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2));
  } finally {
    for (const p of procs.reverse()) await stop(p);
    closeGrpcClients();
    await deleteStreams(nc, prefix).catch(() => undefined);
    await nc.close();
    await db.drop().catch(() => undefined);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
