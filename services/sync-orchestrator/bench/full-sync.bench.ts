// Full sync (products + prices) of 50,000 simulator products at 100 calls/s and 50 ms latency,
// each service in its own process as deployed (simulator, gateway, catalog, orchestrator:
// `node --require @haier-sync/runtime/telemetry dist/main.js`, built by `pnpm build`, which
// `pnpm bench` runs first), a fresh database, a unique NATS prefix. The simulator counts its limit
// strictly (any sliding second, at arrival: SIM_RATE_LIMIT_MODE=sliding).
//
// Reports:
//   - wall time ÷ ceiling time, ceiling = calls needed (1 listing + ⌈N/20⌉ price calls) ÷ rate limit   (target ≤ 1.1)
//   - throttled answers counted by the simulator                                                      (target 0)
//   - peak RSS (VmHWM) of each process                                                                (target < 300 MB)
//   - an unchanged INCREMENTAL re-run: catalog writes (change-log rows) and events published          (target 0 and 0)
// Then the same full sync with the gateway and orchestrator scaled out (BENCH_SHARED_GATEWAYS=3
// gateways sharing the account's budget through NATS KV, BENCH_SHARED_ORCHESTRATORS=2
// orchestrators claiming the run's batches, reaching the gateways through a round-robin TCP
// proxy as a k8s Service would; BENCH_SHARED_GATEWAYS=0 skips it), on a fresh database:
//   - its wall time ÷ the single-process one measured just before                                   (target ≤ 1.05)
//   - throttled (target 0), the busiest sliding second at the simulator (≤ the limit), peak RSS per process
// The cost model (issue 11): the capacity phase runs the same first full sync with the upstream
// unconstrained (simulator without a limit, gateway limit 1,000,000/s, BENCH_CAPACITY_LATENCY_MS=20),
// then the unchanged re-run; the floor phase runs bench/floor.ts, the same work done the simplest
// way in one process, against its own simulator with the same settings. For each: products/s
// (start to the last catalog event in the stream) and CPU ms per product of every process, of
// Postgres (this run's sessions + the server's background processes, bench/proc-cpu.ts) and of
// NATS (the whole nats-server), their total without the simulator; capacity ÷ floor and cost ÷ floor
// (targets: ≥ 6,000 products/s, ≤ 0.25 ms, re-run ≤ 0.1 ms, capacity ÷ floor ≥ 0.3).
// BENCH_PHASES (default ceiling,capacity,floor,scaled) picks phases: BENCH_PHASES=capacity,floor
// gives the cost model alone in ~2 minutes.
// BENCH_RERUN=0 skips the unchanged re-runs (e.g. to profile the first sync alone).
// BENCH_OTLP=1 exports every service's spans over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT, the SDK's
// default batch processor) to a sink in this process that counts them: the cost of tracing with
// the exporter, against the same phases without it (spans made, none exported: the default).
// BENCH_SCRAPE_S=N opens every service's metrics port and scrapes each /metrics every N seconds
// through the phase, as Prometheus would (it scrapes every 15 s by default): with --cpu-prof and
// bench/profile-summary.ts, the share of CPU that metrics (counting and exposition) take.
// Interactive lookups (issue 10): in the phases at the limit (ceiling, scaled), a GetPrices of 5
// codes in the interactive lane (as the edge sends them) every BENCH_INTERACTIVE_MS (default 500;
// 0 = none) for 15 s before the full sync (idle) and all through it: p50/p99 of each and the
// ratio of the p99s (target ≤ 3). Each lookup is one upstream call, counted in the run's wall time.
// BENCH_LOG_LEVEL (default warn) is the services' LOG_LEVEL, and BENCH_LOGS_DIR=DIR keeps each
// process's output there (e.g. BENCH_LOG_LEVEL=info to see the gateways' share changes).
// BENCH_PRODUCTS, BENCH_RATE, BENCH_LATENCY_MS change the sizes; BENCH_NODE_FLAGS adds node flags to
// every service process and the floor (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": one profile per
// process; summarise with bench/profile-summary.ts). Prints a summary; writes
// bench-results/sync-orchestrator-full-sync-figures.json (from the repo root).
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { gateway, sync } from '@haier-sync/contracts';
import { DEFAULT_CREDENTIALS } from '@haier-sync/haier-sim';
import { closeGrpcClients, HAIER_LANE_HEADER } from '@haier-sync/runtime';
import { createTestDatabase, freePort, testClient, TEST_NATS_URL, uniqueId, waitFor } from '@haier-sync/runtime/testing';
import { connect, type NatsConnection } from 'nats';
import { Client as PgClient } from 'pg';
import { cpuSeconds, sampleShared, sharedDelta, type SharedCpu, type SharedCpuSample } from './proc-cpu';
import { peakRss, ROOT, runToEnd, simStats, startProcess, stop, waitServing, type Proc } from './support';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 50_000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const SHARED_GATEWAYS = Number(process.env.BENCH_SHARED_GATEWAYS ?? 3);
const SHARED_ORCHESTRATORS = Number(process.env.BENCH_SHARED_ORCHESTRATORS ?? 2);
const CAPACITY_LATENCY_MS = Number(process.env.BENCH_CAPACITY_LATENCY_MS ?? 20);
/** The gateway's limit when the upstream is unconstrained (the simulator counts none): high enough never to wait. */
const UNCONSTRAINED_RATE = 1_000_000;
const PHASE_NAMES = ['ceiling', 'capacity', 'floor', 'scaled'] as const;
type Phase = (typeof PHASE_NAMES)[number];
const PHASES = new Set((process.env.BENCH_PHASES ?? PHASE_NAMES.join(',')).split(',').map((p) => p.trim()).filter(Boolean));
for (const p of PHASES) if (!(PHASE_NAMES as readonly string[]).includes(p)) throw new Error(`BENCH_PHASES: unknown phase ${p}; expected some of ${PHASE_NAMES.join(',')}`);
const runs = (p: Phase): boolean => PHASES.has(p);
const OTLP = process.env.BENCH_OTLP === '1';
const SCRAPE_S = Number(process.env.BENCH_SCRAPE_S ?? 0);
const INTERACTIVE_MS = Number(process.env.BENCH_INTERACTIVE_MS ?? 500);
const IDLE_PROBE_MS = 15_000;

interface Latencies { n: number; p50: number; p99: number; max: number }

/** Latency percentiles (ms) of a sample. */
function percentiles(ms: number[]): Latencies {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
  const r = (v: number) => Math.round(v * 10) / 10;
  return { n: s.length, p50: r(at(0.5)), p99: r(at(0.99)), max: r(s[s.length - 1] ?? Number.NaN) };
}

/** Interactive lookups against the gateway, one every INTERACTIVE_MS, until stopped: their latencies. */
function startProber(gatewayUrl: string, codes: string[]): { stop: () => Promise<{ ms: number[]; failed: string[] }> } {
  const gw = testClient(gateway.HaierGatewayService, gatewayUrl, { as: 'http-edge', timeoutMs: 30_000 });
  const ms: number[] = [];
  const failed: string[] = [];
  let running = true;
  let i = 0;
  const loop = (async () => {
    while (running) {
      const pick = Array.from({ length: 5 }, (_, k) => codes[(i * 5 + k) % codes.length]!);
      i++;
      const t0 = performance.now();
      try {
        await gw.getPrices({ productCodes: pick }, { headers: { [HAIER_LANE_HEADER]: 'interactive' } });
        ms.push(performance.now() - t0);
      } catch (e) {
        failed.push(String((e as Error).message).slice(0, 200));
      }
      await new Promise((r) => setTimeout(r, INTERACTIVE_MS));
    }
  })();
  return { stop: async () => { running = false; await loop; return { ms, failed }; } };
}

/** Scrapes each URL every SCRAPE_S seconds until stopped; counts answers and bytes. */
function startScraper(urls: string[]): { stop: () => { scrapes: number; failures: number; bytes: number } } {
  const counts = { scrapes: 0, failures: 0, bytes: 0 };
  const timer = setInterval(() => {
    for (const u of urls) {
      fetch(u).then(
        async (r) => {
          const text = await r.text();
          if (r.ok) counts.scrapes++;
          else counts.failures++;
          counts.bytes += text.length;
        },
        () => counts.failures++,
      );
    }
  }, SCRAPE_S * 1000);
  return { stop: () => (clearInterval(timer), counts) };
}

/** Counts what the services export (spans, requests, bytes); the figures are the exporter's work, not kept. */
interface OtlpSink {
  url: string;
  counts: { spans: number; requests: number; bytes: number };
  close(): Promise<void>;
}

async function startOtlpSink(): Promise<OtlpSink> {
  const counts = { spans: 0, requests: 0, bytes: 0 };
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      counts.requests++;
      counts.bytes += body.length;
      try {
        const j = JSON.parse(body.toString('utf8')) as { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: unknown[] }> }> };
        for (const rs of j.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) counts.spans += ss.spans?.length ?? 0;
      } catch {
        // not JSON: counted as a request only
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${port}`, counts, close: () => new Promise<void>((r) => server.close(() => r())) };
}
const MB = 1024 * 1024;

function cpuOf(procs: Proc[]): Record<string, number> {
  return Object.fromEntries(procs.map((p) => [p.name, cpuSeconds(p.child.pid)]));
}

function cpuDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Math.round((v - (a[k] ?? 0)) * 10) / 10]));
}

async function streamMessages(nc: NatsConnection, name: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  try {
    return (await jsm.streams.info(name)).state.messages;
  } catch {
    return 0;
  }
}

async function count(pg: PgClient, sql: string): Promise<number> {
  return Number((await pg.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
}

/** A round-robin TCP proxy on a free port: each connection goes to the next of `ports` (what a k8s Service does for gRPC). */
async function roundRobin(ports: number[]): Promise<{ port: number; server: Server }> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server = createServer((down) => {
    const up = tcpConnect(ports[next++ % ports.length]!, '127.0.0.1');
    for (const s of [down, up]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    down.pipe(up).pipe(down);
    down.once('close', () => up.destroy());
    up.once('close', () => down.destroy());
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { port, server };
}

interface Topology {
  gateways: number;
  orchestrators: number;
  /** Also the unchanged incremental re-run. */
  incremental: boolean;
}

/** The simulator's settings: `unconstrained` = no limit at the simulator, none to speak of at the gateway. */
interface Upstream {
  rate: number;
  latencyMs: number;
  unconstrained?: boolean;
}

const AT_LIMIT: Upstream = { rate: RATE, latencyMs: LATENCY_MS };
const UNCONSTRAINED: Upstream = { rate: UNCONSTRAINED_RATE, latencyMs: CAPACITY_LATENCY_MS, unconstrained: true };

/** CPU seconds per process and of the shared servers between two points. */
interface Cost {
  seconds: number;
  processes: Record<string, number>;
  shared: SharedCpu;
}

interface Point {
  at: number;
  procs: Record<string, number>;
  shared: SharedCpuSample;
}

async function point(procs: Proc[], pg: PgClient): Promise<Point> {
  return { at: performance.now(), procs: cpuOf(procs), shared: await sampleShared(pg, Object.fromEntries(procs.map((p) => [p.name, p.child.pid]))) };
}

function costBetween(a: Point, b: Point): Cost {
  return { seconds: (b.at - a.at) / 1000, processes: cpuDelta(a.procs, b.procs), shared: sharedDelta(a.shared, b.shared) };
}

async function main(): Promise<void> {
  process.stderr.write(`phases: ${[...PHASES].join(', ')} (BENCH_PHASES)${OTLP ? '; spans exported over OTLP (BENCH_OTLP=1)' : ''}\n`);
  // every service process inherits this environment (support.ts startProcess)
  const sink = OTLP ? await startOtlpSink() : undefined;
  if (sink) process.env.OTEL_EXPORTER_OTLP_ENDPOINT = sink.url;
  else delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const single = runs('ceiling') ? await measure({ gateways: 1, orchestrators: 1, incremental: true }, AT_LIMIT) : undefined;
  const capacity = runs('capacity') ? await measure({ gateways: 1, orchestrators: 1, incremental: true }, UNCONSTRAINED) : undefined;
  const floor = runs('floor') ? await measureFloor() : undefined;
  const shared = runs('scaled') && SHARED_GATEWAYS > 0 ? await measure({ gateways: SHARED_GATEWAYS, orchestrators: SHARED_ORCHESTRATORS, incremental: false }, AT_LIMIT) : undefined;
  await sink?.close();
  report(single, capacity, floor, shared, sink ? { exporter: 'otlp', ...sink.counts } : { exporter: 'none' });
}

async function measure(topology: Topology, upstream: Upstream): Promise<Record<string, unknown>> {
  const { rate: RATE, latencyMs: LATENCY_MS } = upstream;
  const db = await createTestDatabase('hs_bench_sync');
  const prefix = uniqueId('bench').toLowerCase();
  const streamBase = prefix.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
  const streams = { catalog: `${streamBase}_CATALOG`, sync: `${streamBase}_SYNC` };
  const [simPort, catPort] = [await freePort(), await freePort()];
  const gwPorts: number[] = [];
  for (let i = 0; i < topology.gateways; i++) gwPorts.push(await freePort());
  const syncPorts: number[] = [];
  for (let i = 0; i < topology.orchestrators; i++) syncPorts.push(await freePort());
  const shared = topology.gateways > 1;
  // BENCH_SCRAPE_S: each service's metrics port (empty: not served, the default)
  const metricsPorts: number[] = [];
  const metricsPort = async (): Promise<string> => {
    if (!SCRAPE_S) return '';
    const port = await freePort();
    metricsPorts.push(port);
    return String(port);
  };
  let scraper: ReturnType<typeof startScraper> | undefined;
  let scraped: ReturnType<ReturnType<typeof startScraper>['stop']> | undefined;
  let prober: ReturnType<typeof startProber> | undefined;
  const bucket = `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}_budget`;
  const simUrl = `http://127.0.0.1:${simPort}`;
  const procs: Proc[] = [];
  let proxy: Server | undefined;
  const nc = await connect({ servers: TEST_NATS_URL });
  const pg = new PgClient({ connectionString: db.url });
  let figures: Record<string, unknown> = {};
  try {
    process.stderr.write(`starting simulator (${PRODUCTS} products, ${upstream.unconstrained ? 'no limit' : `${RATE} calls/s`}, ${LATENCY_MS} ms), ${topology.gateways} gateway(s), catalog, ${topology.orchestrators} orchestrator(s)…\n`);
    const sim = startProcess('haier-sim', 'tools/haier-sim', {
      SIM_PORT: String(simPort), SIM_SIZE: String(PRODUCTS), SIM_RATE_LIMIT: String(upstream.unconstrained ? 0 : RATE), SIM_RATE_LIMIT_MODE: 'sliding', SIM_LATENCY_MS: String(LATENCY_MS), SIM_SEED: '42',
    });
    procs.push(sim);
    await waitFor(async () => {
      if (sim.child.exitCode !== null) throw new Error(`haier-sim exited:\n${sim.output()}`);
      return fetch(`${simUrl}/__sim/config`).then((r) => r.ok, () => false);
    }, { timeoutMs: 90_000, intervalMs: 250, what: 'the simulator' });

    const c = DEFAULT_CREDENTIALS;
    const gws: Proc[] = [];
    for (const [i, port] of gwPorts.entries()) gws.push(
      startProcess(topology.gateways > 1 ? `haier-gateway-${i + 1}` : 'haier-gateway', 'services/haier-gateway', {
        GATEWAY_PORT: String(port), GATEWAY_METRICS_PORT: await metricsPort(), HAIER_BASE_URL: simUrl, HAIER_RATE_LIMIT: String(RATE),
        HAIER_CLIENT_ID: c.clientId, HAIER_CLIENT_SECRET: c.clientSecret, HAIER_CUSTOMER_CODE: c.customerCode, HAIER_SEND_TO_CODE: c.sendToCode,
        HAIER_PASSWORD: c.passWord, HAIER_SELLER_PASSWORD: c.sellerPassword, HAIER_CUSTOMER_PASSWORD: c.customerPassword,
        // one gateway takes the whole budget; several share it through NATS KV
        ...(shared ? { NATS_URL: TEST_NATS_URL, HAIER_BUDGET_BUCKET: bucket } : { NATS_URL: '' }),
      }),
    );
    const cat = startProcess('catalog', 'services/catalog', { CATALOG_PORT: String(catPort), CATALOG_METRICS_PORT: await metricsPort(), DATABASE_URL: db.url });
    procs.push(...gws, cat);
    await Promise.all([...gws.map((g, i) => waitServing(g, `http://127.0.0.1:${gwPorts[i]}`)), waitServing(cat, `http://127.0.0.1:${catPort}`)]);
    let gatewayUrl = `http://127.0.0.1:${gwPorts[0]}`;
    if (shared) {
      const rr = await roundRobin(gwPorts);
      proxy = rr.server;
      gatewayUrl = `http://127.0.0.1:${rr.port}`;
      await new Promise((r) => setTimeout(r, 2000)); // the gateways have seen each other and settled their shares
    }
    const orchs: Proc[] = [];
    for (const [i, port] of syncPorts.entries()) orchs.push(
      startProcess(topology.orchestrators > 1 ? `sync-orchestrator-${i + 1}` : 'sync-orchestrator', 'services/sync-orchestrator', {
        SYNC_PORT: String(port), SYNC_METRICS_PORT: await metricsPort(), DATABASE_URL: db.url, NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix,
        GATEWAY_URL: gatewayUrl, CATALOG_URL: `http://127.0.0.1:${catPort}`,
        SYNC_SCHEDULER_ENABLED: 'false', SYNC_FIRST_DEPLOY: 'false',
        // products + prices, as the targets are stated (images have their own bench: images.bench.ts)
        SYNC_IMAGES_IN_FULL: 'false',
      }),
    );
    procs.push(...orchs);
    await Promise.all(orchs.map((o, i) => waitServing(o, `http://127.0.0.1:${syncPorts[i]}`)));
    if (SCRAPE_S) scraper = startScraper(metricsPorts.map((p) => `http://127.0.0.1:${p}/metrics`));
    await pg.connect();
    const client = testClient(sync.SyncService, `http://127.0.0.1:${syncPorts[0]}`, { timeoutMs: 60_000 });

    // interactive lookups, idle first (the phases at the limit)
    const probing = !upstream.unconstrained && INTERACTIVE_MS > 0;
    let interactive: Record<string, unknown> | undefined;
    let idleProbe: Awaited<ReturnType<ReturnType<typeof startProber>['stop']>> | undefined;
    if (probing) {
      const listed = (await (await fetch(`${simUrl}/__sim/products?offset=0&limit=2000`)).json()) as { products: { productCode: string }[] };
      const codes = listed.products.map((p) => p.productCode);
      process.stderr.write(`interactive lookups while idle (${IDLE_PROBE_MS / 1000} s)…\n`);
      const idle = startProber(gatewayUrl, codes);
      await new Promise((r) => setTimeout(r, IDLE_PROBE_MS));
      idleProbe = await idle.stop();
      prober = startProber(gatewayUrl, codes);
    }

    // --- full sync
    await fetch(`${simUrl}/__sim/stats/reset`, { method: 'POST' });
    process.stderr.write('full sync…\n');
    const p0 = await point(procs, pg);
    const cpu0 = p0.procs;
    const load0 = (await import('node:os')).loadavg()[0];
    const full = await runToEnd(client, { mode: sync.RunMode.FULL, options: { prices: true } });
    if (prober && idleProbe) {
      const during = await prober.stop();
      prober = undefined;
      const a = percentiles(idleProbe.ms);
      const b = percentiles(during.ms);
      interactive = {
        everyMs: INTERACTIVE_MS, codesPerLookup: 5, idle: a, duringRun: b, p99Ratio: Math.round((b.p99 / a.p99) * 100) / 100,
        failed: { idle: idleProbe.failed.length, duringRun: during.failed.length, first: [...idleProbe.failed, ...during.failed].slice(0, 3) },
      };
    }
    const fullStats = await simStats(simUrl);
    const p1 = await point(procs, pg);
    const cpu1 = p1.procs;
    const load1 = (await import('node:os')).loadavg()[0];
    const needed = 1 + Math.ceil(PRODUCTS / 20);
    const ceilingMs = (needed / RATE) * 1000;
    const runMs = full.run.duration ? Number(full.run.duration.seconds) * 1000 + full.run.duration.nanos / 1e6 : Number.NaN;

    // the publisher relays the change log: wait until every change is in the stream
    const changesAfterFull = await count(pg, 'select count(*) as n from catalog.change_log');
    const publishT0 = performance.now();
    let catalogEventsAfterFull = 0;
    try {
      await waitFor(async () => (catalogEventsAfterFull = await streamMessages(nc, streams.catalog)) >= changesAfterFull, {
        timeoutMs: 600_000, intervalMs: 200, what: `${changesAfterFull} catalog events in ${streams.catalog}`,
      });
    } catch (e) {
      process.stderr.write(`  ${String(e)}\n`);
    }
    const publishLagMs = performance.now() - publishT0;
    const pPublished = await point(procs, pg);
    await new Promise((r) => setTimeout(r, 3000)); // lifecycle events settle
    const cpuAfterPublish = cpuOf(procs);
    const syncEventsBefore = await streamMessages(nc, streams.sync);
    catalogEventsAfterFull = await streamMessages(nc, streams.catalog);

    const num = (v: bigint | undefined) => Number(v ?? 0n);
    let unchangedIncremental: Record<string, unknown> | undefined;
    if (topology.incremental && process.env.BENCH_RERUN !== '0') {
      // --- unchanged incremental re-run
      await fetch(`${simUrl}/__sim/stats/reset`, { method: 'POST' });
      process.stderr.write('unchanged incremental re-run…\n');
      const pIncr0 = await point(procs, pg);
      const incr = await runToEnd(client, { mode: sync.RunMode.INCREMENTAL });
      const incrStats = await simStats(simUrl);
      const pIncr1 = await point(procs, pg);
      const cpu2 = pIncr1.procs;
      await new Promise((r) => setTimeout(r, 5000)); // give the publisher time to (wrongly) publish anything
      const changesAfterIncr = await count(pg, 'select count(*) as n from catalog.change_log');
      const catalogEventsAfterIncr = await streamMessages(nc, streams.catalog);
      const syncEventsAfter = await streamMessages(nc, streams.sync);
      unchangedIncremental = {
        status: sync.RunStatus[incr.run.status],
        wallSeconds: incr.wallMs / 1000,
        runCounts: { total: num(incr.run.counts?.total), updated: num(incr.run.counts?.updated), unchanged: num(incr.run.counts?.unchanged), failed: num(incr.run.counts?.failed), upstreamCalls: num(incr.run.counts?.upstreamCalls) },
        simCalls: incrStats.total,
        simThrottled: incrStats.throttled,
        catalogWrites: changesAfterIncr - changesAfterFull,
        catalogEvents: catalogEventsAfterIncr - catalogEventsAfterFull,
        runLifecycleEvents: syncEventsAfter - syncEventsBefore,
        cpuSecondsDuringRun: cpuDelta(cpuAfterPublish, cpu2),
        cost: costBetween(pIncr0, pIncr1),
      };
    }

    const rss = Object.fromEntries(procs.map((p) => [p.name, peakRss(p.child.pid)]));
    scraped = scraper?.stop();
    figures = {
      products: PRODUCTS,
      rateLimit: RATE,
      rateLimitMode: 'sliding',
      latencyMs: LATENCY_MS,
      upstreamUnconstrained: upstream.unconstrained === true,
      topology: { gateways: topology.gateways, orchestrators: topology.orchestrators, budget: shared ? `shared through NATS KV ${bucket}` : 'one gateway, the whole budget' },
      full: {
        status: sync.RunStatus[full.run.status],
        wallSeconds: full.wallMs / 1000,
        runSeconds: runMs / 1000,
        callsNeeded: needed,
        ceilingSeconds: ceilingMs / 1000,
        wallOverCeiling: full.wallMs / ceilingMs,
        runCounts: { total: num(full.run.counts?.total), created: num(full.run.counts?.created), failed: num(full.run.counts?.failed), upstreamCalls: num(full.run.counts?.upstreamCalls) },
        simCalls: fullStats.total,
        simThrottled: fullStats.throttled,
        simTokenRequests: fullStats.tokenRequests,
        simMaxObservedRps: fullStats.maxObservedRps,
        simByEndpoint: fullStats.byEndpoint,
        changeLogRows: changesAfterFull,
        catalogEventsPublished: catalogEventsAfterFull,
        publishCatchUpAfterRunSeconds: publishLagMs / 1000,
        cpuSecondsDuringRun: cpuDelta(cpu0, cpu1),
        // from the start until every change is in the stream: what the run costs, events included
        cost: costBetween(p0, pPublished),
        loadAverage1mAtStartAndEnd: [load0, load1],
      },
      ...(unchangedIncremental ? { unchangedIncremental } : {}),
      peakRssMB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, Math.round((v / MB) * 10) / 10])),
      ...(interactive ? { interactive } : {}),
      ...(scraped ? { metricsScraped: { everySeconds: SCRAPE_S, endpoints: metricsPorts.length, ...scraped } } : {}),
      machine: { cpus: (await import('node:os')).cpus().length, loadavg: (await import('node:os')).loadavg() },
    };
  } finally {
    scraper?.stop();
    await prober?.stop();
    for (const p of procs.reverse()) await stop(p);
    proxy?.close();
    closeGrpcClients();
    await pg.end().catch(() => undefined);
    const jsm = await nc.jetstreamManager().catch(() => undefined);
    for (const s of [...Object.values(streams), `KV_${bucket}`]) await jsm?.streams.delete(s).catch(() => undefined);
    await nc.close();
    await db.drop();
  }

  return figures;
}

/**
 * The floor (bench/floor.ts) in one child process against its own simulator (the capacity phase's
 * settings), its own database and throwaway streams; CPU from its "go" to its answer.
 */
async function measureFloor(): Promise<Record<string, unknown>> {
  const db = await createTestDatabase('hs_bench_floor');
  const simPort = await freePort();
  const simUrl = `http://127.0.0.1:${simPort}`;
  const procs: Proc[] = [];
  const pg = new PgClient({ connectionString: db.url });
  let floorProc: ChildProcess | undefined;
  try {
    process.stderr.write(`floor: simulator (${PRODUCTS} products, no limit, ${CAPACITY_LATENCY_MS} ms) and bench/floor.ts in one process…\n`);
    const sim = startProcess('haier-sim', 'tools/haier-sim', {
      SIM_PORT: String(simPort), SIM_SIZE: String(PRODUCTS), SIM_RATE_LIMIT: '0', SIM_RATE_LIMIT_MODE: 'sliding', SIM_LATENCY_MS: String(CAPACITY_LATENCY_MS), SIM_SEED: '42',
    });
    procs.push(sim);
    await waitFor(async () => {
      if (sim.child.exitCode !== null) throw new Error(`haier-sim exited:\n${sim.output()}`);
      return fetch(`${simUrl}/__sim/config`).then((r) => r.ok, () => false);
    }, { timeoutMs: 90_000, intervalMs: 250, what: 'the simulator' });
    await pg.connect();
    const env: NodeJS.ProcessEnv = { ...process.env, FLOOR_SIM_URL: simUrl, FLOOR_DATABASE_URL: db.url, FLOOR_NATS_URL: TEST_NATS_URL, FLOOR_PREFIX: uniqueId('floor') };
    delete env['NODE_OPTIONS'];
    const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const child = spawn(process.execPath, [...flags, '--conditions=source', '--import', 'tsx', join(__dirname, 'floor.ts')], { cwd: resolve(__dirname, '..'), env, stdio: ['pipe', 'pipe', 'pipe'] });
    floorProc = child;
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err = (err + b.toString()).slice(-5000)));
    const lines: string[] = [];
    let waiting: (() => void) | undefined;
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        waiting?.();
      }
    });
    const exited = new Promise<void>((r) => child.once('exit', () => (waiting?.(), r())));
    const nextLine = async (what: string): Promise<string> => {
      while (lines.length === 0) {
        if (child.exitCode !== null) throw new Error(`bench/floor.ts exited before ${what}:\n${err}`);
        await new Promise<void>((r) => (waiting = r));
      }
      return lines.shift()!;
    };
    const ready = await nextLine('ready');
    if (ready !== 'ready') throw new Error(`bench/floor.ts said ${ready}, expected ready:\n${err}`);
    const floorCpu = (): Record<string, number> => ({ floor: cpuSeconds(child.pid), 'haier-sim': cpuSeconds(sim.child.pid) });
    const owners = { floor: child.pid };
    const a = { at: performance.now(), procs: floorCpu(), shared: await sampleShared(pg, owners) };
    child.stdin!.write('go\n');
    const answer = JSON.parse(await nextLine('its answer')) as { floor: { products: number; calls: number; changeLogRows: number; events: number; wallSeconds: number; streamMessages: number; bucketValues: number } };
    const b = { at: performance.now(), procs: floorCpu(), shared: await sampleShared(pg, owners) };
    const rss = { floor: peakRss(child.pid), 'haier-sim': peakRss(sim.child.pid) };
    child.stdin!.end();
    await exited;
    return {
      ...answer.floor,
      latencyMs: CAPACITY_LATENCY_MS,
      upstreamUnconstrained: true,
      cost: costBetween(a, b),
      peakRssMB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, Math.round((v / MB) * 10) / 10])),
    };
  } finally {
    if (floorProc && floorProc.exitCode === null) floorProc.kill('SIGKILL');
    for (const p of procs.reverse()) await stop(p);
    await pg.end().catch(() => undefined);
    await db.drop();
  }
}

/** The report's lines for the interactive lookups and the metrics scrapes of a phase, when it had them. */
function sideLines(f: FullFigures, ok: (b: boolean) => string): string[] {
  const out: string[] = [];
  const i = f.interactive;
  if (i) {
    out.push(
      `  ${ok(i.p99Ratio <= 3)} interactive lookup (GetPrices, 5 codes, lane interactive, every ${i.everyMs} ms) p99 during the run ${i.duringRun.p99} ms ÷ idle ${i.idle.p99} ms = ${i.p99Ratio}   (target ≤ 3)`,
      `       p50 idle ${i.idle.p50} ms, during ${i.duringRun.p50} ms; max ${i.idle.max} / ${i.duringRun.max} ms; ${i.idle.n} + ${i.duringRun.n} lookups, ${i.failed.idle + i.failed.duringRun} failed${i.failed.first.length ? ` (${i.failed.first.join('; ')})` : ''}`,
    );
  }
  const m = f.metricsScraped;
  if (m) out.push(`       metrics: ${m.endpoints} /metrics endpoints scraped every ${m.everySeconds} s: ${m.scrapes} scrapes, ${m.failures} failed, ${(m.bytes / MB).toFixed(1)} MB`);
  return out;
}

interface FullFigures {
  full: {
    cpuSecondsDuringRun: Record<string, number>; cost: Cost; loadAverage1mAtStartAndEnd: number[]; status: string; wallSeconds: number; ceilingSeconds: number; wallOverCeiling: number;
    callsNeeded: number; simCalls: number; simThrottled: number; simMaxObservedRps: number; runCounts: { total: number; created: number; failed: number }; changeLogRows: number;
    catalogEventsPublished: number; publishCatchUpAfterRunSeconds: number;
  };
  unchangedIncremental?: { cpuSecondsDuringRun: Record<string, number>; cost: Cost; status: string; wallSeconds: number; simCalls: number; simThrottled: number; catalogWrites: number; catalogEvents: number; runLifecycleEvents: number; runCounts: { total: number } };
  peakRssMB: Record<string, number>;
  interactive?: { everyMs: number; idle: Latencies; duringRun: Latencies; p99Ratio: number; failed: { idle: number; duringRun: number; first: string[] } };
  metricsScraped?: { everySeconds: number; endpoints: number; scrapes: number; failures: number; bytes: number };
  machine: { cpus: number };
  topology: { gateways: number; orchestrators: number };
}

const CORES = cpus().length;
/** Products/s the machine's cores would give at this CPU per product, were nothing else waiting (the cost's capacity). */
const cpuBound = (perProduct: Record<string, number>): number => (CORES * 1000) / Math.max(1e-9, perProduct['total']!);

/** The upstream (the simulator) is not the pipeline's cost: it is shown, not summed. */
const UPSTREAM = 'haier-sim';

/** CPU ms per product of a phase: every process, Postgres (this run's), NATS, and the total without the upstream. */
function perProduct(cost: Cost, products: number): Record<string, number> {
  const ms = (s: number) => Math.round(((s * 1000) / Math.max(1, products)) * 1000) / 1000;
  const out: Record<string, number> = {};
  let total = 0;
  for (const [k, v] of Object.entries(cost.processes)) {
    out[k] = ms(v);
    if (k !== UPSTREAM) total += v;
  }
  out['postgres'] = ms(cost.shared.postgres);
  for (const [k, v] of Object.entries(cost.shared.postgresBy)) out[`  postgres: ${k}`] = ms(v);
  out['nats-server'] = ms(cost.shared.nats);
  out['total'] = ms(total + cost.shared.postgres + cost.shared.nats);
  out['postgres (whole server)'] = ms(cost.shared.postgresAll);
  return out;
}

function report(
  figures: Record<string, unknown> | undefined,
  capacityFigures: Record<string, unknown> | undefined,
  floorFigures: Record<string, unknown> | undefined,
  sharedFigures: Record<string, unknown> | undefined,
  tracing: { exporter: string; spans?: number; requests?: number; bytes?: number },
): void {
  const ok = (b: boolean) => (b ? 'ok  ' : 'MISS');
  const lines: string[] = [];
  const out: Record<string, unknown> = { products: PRODUCTS, phases: [...PHASES], tracing };
  lines.push(
    tracing.exporter === 'otlp'
      ? `Tracing: spans exported over OTLP/HTTP (BENCH_OTLP=1): ${tracing.spans} spans in ${tracing.requests} requests (${((tracing.bytes ?? 0) / MB).toFixed(1)} MB) over all phases`
      : process.env.OTEL_SDK_DISABLED === 'true'
        ? 'Tracing: off (OTEL_SDK_DISABLED=true: no spans made)'
        : 'Tracing: spans made, none exported (BENCH_OTLP=1 exports them)',
  );
  const f = figures as unknown as FullFigures | undefined;
  if (f) {
    Object.assign(out, figures);
    lines.push(
      `Full sync of ${PRODUCTS} products + prices at ${RATE} calls/s, ${LATENCY_MS} ms latency (simulator, gateway, catalog, orchestrator: one process each)`,
      `  run ${f.full.status}: ${f.full.runCounts.total} products, ${f.full.runCounts.failed} failed`,
      `  ${ok(f.full.wallOverCeiling <= 1.1)} wall ${f.full.wallSeconds.toFixed(1)} s ÷ ceiling ${f.full.ceilingSeconds.toFixed(1)} s (${f.full.callsNeeded} calls needed ÷ ${RATE}/s) = ${f.full.wallOverCeiling.toFixed(3)}   (target ≤ 1.1)`,
      `       calls made ${f.full.simCalls}, busiest second ${f.full.simMaxObservedRps} calls; load average ${f.full.loadAverage1mAtStartAndEnd.map((l) => l.toFixed(1)).join(' -> ')} on ${f.machine.cpus} cores`,
      `       CPU seconds used during the run: ${Object.entries(f.full.cpuSecondsDuringRun).map(([k, v]) => `${k} ${v}`).join(', ')}; postgres ${f.full.cost.shared.postgres}, nats ${f.full.cost.shared.nats} (to the last event)`,
      `  ${ok(f.full.simThrottled === 0)} throttled answers at the simulator: ${f.full.simThrottled}   (target 0; it counts strictly: any sliding second, at arrival)`,
      `  ${ok(f.full.simMaxObservedRps <= RATE)} busiest sliding second at the simulator: ${f.full.simMaxObservedRps} calls   (target ≤ ${RATE})`,
      ...Object.entries(f.peakRssMB).map(([k, v]) => `  ${ok(v < 300)} peak RSS ${k}: ${v} MB   (target < 300 MB)`),
      `       change log ${f.full.changeLogRows} rows; CATALOG stream ${f.full.catalogEventsPublished} events (caught up ${f.full.publishCatchUpAfterRunSeconds.toFixed(1)} s after the run)`,
      ...sideLines(f, ok),
    );
    const u = f.unchangedIncremental;
    if (u) {
      lines.push(
        `Unchanged incremental re-run: ${u.status} in ${u.wallSeconds.toFixed(1)} s, ${u.simCalls} calls, ${u.simThrottled} throttled`,
        `       CPU seconds used during the re-run: ${Object.entries(u.cpuSecondsDuringRun).map(([k, v]) => `${k} ${v}`).join(', ')}`,
        `  ${ok(u.catalogWrites === 0)} catalog writes (change-log rows): ${u.catalogWrites}   (target 0)`,
        `  ${ok(u.catalogEvents === 0)} catalog events: ${u.catalogEvents}   (target 0; run lifecycle events on SYNC: ${u.runLifecycleEvents})`,
      );
    }
  }

  // --- the cost model: capacity (upstream unconstrained) against the floor, same run
  const c = capacityFigures as unknown as FullFigures | undefined;
  const fl = floorFigures as { products: number; calls: number; changeLogRows: number; events: number; wallSeconds: number; streamMessages: number; bucketValues: number; cost: Cost } | undefined;
  if (c || fl) {
    const cols: Array<{ name: string; products: number; seconds: number; perProduct: Record<string, number> }> = [];
    const model: Record<string, unknown> = { upstream: `unconstrained (simulator without a limit, gateway limit ${UNCONSTRAINED_RATE}/s), ${CAPACITY_LATENCY_MS} ms latency` };
    if (c) {
      const n = c.full.runCounts.total;
      const seconds = c.full.cost.seconds;
      cols.push({ name: 'capacity run', products: n, seconds, perProduct: perProduct(c.full.cost, n) });
      Object.assign(model, {
        capacity: { status: c.full.status, products: n, runSeconds: c.full.wallSeconds, secondsToLastEvent: seconds, productsPerSecond: n / seconds, productsPerSecondRunOnly: n / c.full.wallSeconds, cpuMsPerProduct: perProduct(c.full.cost, n), cost: c.full.cost, simThrottled: c.full.simThrottled, changeLogRows: c.full.changeLogRows, catalogEventsPublished: c.full.catalogEventsPublished, loadAverage1mAtStartAndEnd: c.full.loadAverage1mAtStartAndEnd },
        capacityPeakRssMB: c.peakRssMB,
      });
      const u = c.unchangedIncremental;
      if (u) {
        const un = u.runCounts.total || n;
        cols.push({ name: 'unchanged re-run', products: un, seconds: u.cost.seconds, perProduct: perProduct(u.cost, un) });
        model['unchangedRerun'] = { status: u.status, products: un, seconds: u.cost.seconds, productsPerSecond: un / u.cost.seconds, cpuMsPerProduct: perProduct(u.cost, un), cost: u.cost, catalogWrites: u.catalogWrites, catalogEvents: u.catalogEvents };
      }
    }
    if (fl) {
      cols.push({ name: 'floor', products: fl.products, seconds: fl.cost.seconds, perProduct: perProduct(fl.cost, fl.products) });
      model['floor'] = { ...fl, productsPerSecond: fl.products / fl.cost.seconds, cpuMsPerProduct: perProduct(fl.cost, fl.products) };
    }
    const rows = [...new Set(cols.flatMap((col) => Object.keys(col.perProduct)))].sort((a, b) => rank(a) - rank(b));
    const w = 20;
    const cell = (v: string) => v.padStart(w);
    lines.push(
      `Cost model: ${PRODUCTS} new products + prices, upstream unconstrained (${CAPACITY_LATENCY_MS} ms latency, no limit); the floor (bench/floor.ts) in the same run`,
      `  ${''.padEnd(32)}${cols.map((col) => cell(col.name)).join('')}`,
      `  ${'products/s'.padEnd(32)}${cols.map((col) => cell((col.products / col.seconds).toFixed(0))).join('')}`,
      `  ${'seconds (to last event)'.padEnd(32)}${cols.map((col) => cell(col.seconds.toFixed(1))).join('')}`,
      `  ${`products/s by CPU (${CORES} cores)`.padEnd(32)}${cols.map((col) => cell(cpuBound(col.perProduct).toFixed(0))).join('')}`,
      `  CPU ms per product:`,
      ...rows.map((r) => `    ${(r === UPSTREAM ? `(${r}, upstream)` : r === 'postgres (whole server)' ? '(postgres, whole server)' : r).padEnd(30)}${cols.map((col) => cell(col.perProduct[r] === undefined ? '-' : col.perProduct[r]!.toFixed(3))).join('')}`),
    );
    const cap = cols.find((x) => x.name === 'capacity run');
    const re = cols.find((x) => x.name === 'unchanged re-run');
    const flo = cols.find((x) => x.name === 'floor');
    if (cap) {
      const rate = cap.products / cap.seconds;
      lines.push(
        `  ${ok(rate >= 6000)} capacity ${rate.toFixed(0)} products/s   (target ≥ 6,000)`,
        `  ${ok(cap.perProduct['total']! <= 0.25)} total CPU ${cap.perProduct['total']!.toFixed(3)} ms per product (services + Postgres + NATS)   (target ≤ 0.25)`,
      );
    }
    if (re) lines.push(`  ${ok(re.perProduct['total']! <= 0.1)} unchanged re-run: ${re.perProduct['total']!.toFixed(3)} ms CPU per product   (target ≤ 0.1)`);
    if (cap && flo) {
      const capOverFloor = cap.products / cap.seconds / (flo.products / flo.seconds);
      const costOverFloor = cap.perProduct['total']! / flo.perProduct['total']!;
      model['capacityOverFloor'] = capOverFloor;
      model['costOverFloor'] = costOverFloor;
      model['cpuBoundProductsPerSecond'] = { cores: CORES, capacity: cpuBound(cap.perProduct), floor: cpuBound(flo.perProduct) };
      lines.push(
        `  ${ok(capOverFloor >= 0.3)} capacity ÷ floor = ${capOverFloor.toFixed(3)}   (target ≥ 0.3; wall clock: on a loaded machine the pipeline's many round trips suffer more than the floor's)`,
        `       cost ÷ floor = ${costOverFloor.toFixed(2)} (CPU per product, totals; the steadier figure: = the CPU-bound capacity ratio ${(1 / costOverFloor).toFixed(3)} inverted)`,
      );
    }
    if (c) lines.push(...sideLines(c, ok));
    if (fl) lines.push(`       floor: ${fl.products} products, ${fl.calls} calls, ${fl.changeLogRows} change-log rows, ${fl.events} events acked (stream ${fl.streamMessages}, bucket ${fl.bucketValues})`);
    lines.push(`       shared machine: Postgres counts this run's sessions and the server's background processes; NATS is counted whole (other users' traffic included)`);
    out['costModel'] = model;
  }

  if (sharedFigures) {
    const g = sharedFigures as unknown as FullFigures;
    const ratio = f ? g.full.wallSeconds / f.full.wallSeconds : Number.NaN;
    out['scaledOut'] = { ...sharedFigures, wallOverSingle: ratio };
    lines.push(
      `Scaled out: the same full sync with ${g.topology.gateways} gateways sharing the budget (NATS KV) and ${g.topology.orchestrators} orchestrators, on a fresh database`,
      `  run ${g.full.status}: ${g.full.runCounts.total} products, ${g.full.runCounts.failed} failed`,
      f
        ? `  ${ok(ratio <= 1.05)} wall ${g.full.wallSeconds.toFixed(1)} s ÷ single-process ${f.full.wallSeconds.toFixed(1)} s = ${ratio.toFixed(3)}   (target ≤ 1.05: sharing costs nothing)`
        : `       wall ${g.full.wallSeconds.toFixed(1)} s (the ceiling phase did not run: no ratio)`,
      `  ${ok(g.full.simThrottled === 0)} throttled answers at the simulator: ${g.full.simThrottled}   (target 0)`,
      `  ${ok(g.full.simMaxObservedRps <= RATE)} busiest sliding second at the simulator: ${g.full.simMaxObservedRps} calls   (target ≤ ${RATE})`,
      `       CPU seconds used during the run: ${Object.entries(g.full.cpuSecondsDuringRun).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      ...Object.entries(g.peakRssMB).map(([k, v]) => `  ${ok(v < 300)} peak RSS ${k}: ${v} MB   (target < 300 MB)`),
      ...sideLines(g, ok),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sync-orchestrator-full-sync-figures.json'), JSON.stringify({ at: new Date().toISOString(), ...out }, null, 2));
}

/** Row order of the cost table: services, the floor, the shared servers, the total, then what is shown but not summed. */
function rank(row: string): number {
  const order = ['haier-gateway', 'catalog', 'sync-orchestrator', 'floor', 'postgres', 'nats-server', 'total', UPSTREAM, 'postgres (whole server)'];
  const i = order.indexOf(row);
  if (i >= 0) return i;
  return row.startsWith('  postgres: ') ? order.indexOf('postgres') + 0.5 : order.indexOf('floor') - 0.5;
}

main().catch((e: unknown) => {
  process.stderr.write(`full-sync bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
