// Catalog reads through the edge (HTTP/1.1 + JSON, auth, audit) against the same reads made
// straight to the catalog over gRPC: latency at a fixed 1,000 req/s and the most an unthrottled
// run sustains. The catalog and the edge run as separate processes, as deployed (the built
// services: `node --require @haier-sync/runtime/telemetry dist/main.js`; pnpm bench builds first).
//
// Fixed-rate runs use one open-loop schedule for both paths (each request is due at its slot,
// evenly spaced; at most CONNECTIONS in flight), the edge through an undici pool of CONNECTIONS
// keep-alive connections. autocannon's own rate mode is not used for them: it sends each
// connection's per-second quota back to back at the start of every second (so "100 req/s" is a
// burst at concurrency 10, then idle) and adds coordinated-omission samples at a 1 ms interval,
// which made the edge's latencies at a fixed rate bursts' queueing, not comparable with the
// direct calls. Unthrottled runs (most req/s) use autocannon, closed loop, CONNECTIONS connections.
//
//   pnpm bench http-edge      (builds first), or after `pnpm build`:
//   node --conditions=source --import tsx services/http-edge/bench/reads.bench.ts
//
// Knobs (environment): BENCH_PRODUCTS (5000), BENCH_RATE (1000 req/s), BENCH_SECONDS (20, the
// fixed-rate runs), BENCH_LOW_RATE (100 req/s) and BENCH_LOW_SECONDS (10), a second fixed rate the
// machine sustains even when busy, BENCH_MAX_SECONDS (10, the unthrottled runs), BENCH_CONNECTIONS (10),
// BENCH_EDGE_NODE_ARGS (extra node flags for the edge, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
import autocannon from 'autocannon';
import { create } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { catalog } from '@haier-sync/contracts';
import { createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { closeGrpcClients, createGrpcClient } from '@haier-sync/runtime';
import { createTestDatabase, deployedService, freePort, testAuth, testClient, waitFor, type TestDatabase } from '@haier-sync/runtime/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Pool } from 'undici';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 5000);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
/** A rate this machine sustains even when busy: latency there is service time, not queueing. */
const LOW_RATE = Number(process.env.BENCH_LOW_RATE ?? 100);
const LOW_SECONDS = Number(process.env.BENCH_LOW_SECONDS ?? 10);
const PAGE_SIZE = 20;
const ADMIN_KEY = `hs_${'Bench'.repeat(8)}`;

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  name: string;
  child: ChildProcess;
  output: string[];
}

const procs: Proc[] = [];

function startService(name: string, dir: string, env: Record<string, string>, nodeArgs: string[] = []): Proc {
  const { args, cwd } = deployedService(ROOT, dir, nodeArgs);
  const child = spawn(process.execPath, args, {
    cwd,
    // service authentication: the trusted keys, and the edge its own key
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production', ...testAuth().env(name === 'http-edge' ? 'http-edge' : undefined), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const p: Proc = { name, child, output: [] };
  const keep = (b: Buffer) => {
    p.output.push(b.toString());
    if (p.output.length > 200) p.output.shift();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  procs.push(p);
  return p;
}

async function stopAll(): Promise<void> {
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
          const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
          p.child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          p.child.kill('SIGTERM');
        }),
    ),
  );
}

function alive(p: Proc): void {
  if (p.child.exitCode !== null) throw new Error(`${p.name} exited with ${p.child.exitCode}:\n${p.output.join('').slice(-4000)}`);
}

/** utime+stime of a process in ms (Linux /proc; 100 ticks/s). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** CPU used by each service process and by this (load-generating) process while `fn` runs. */
async function withCpu(fn: () => Promise<Figures>): Promise<Figures> {
  const pids = procs.map((p) => [p.name, p.child.pid as number] as const);
  const before = pids.map(([, pid]) => cpuMsOf(pid));
  const self = process.cpuUsage();
  const f = await fn();
  const own = process.cpuUsage(self);
  const cpu: Record<string, number> = {};
  const n = Math.max(1, f.requests - f.errors);
  pids.forEach(([name, pid], i) => {
    cpu[name] = round((cpuMsOf(pid) - (before[i] as number)) / n);
  });
  cpu['load generator'] = round((own.user + own.system) / 1000 / n);
  return { ...f, cpuMsPerRequest: cpu, loadAvg1: round(loadavg()[0] as number) };
}

// ---------------------------------------------------------------------------------------------
// Catalog content

function productInput(i: number): catalog.ProductInput {
  const code = `BENCH${String(i).padStart(6, '0')}`;
  const supply = 1000 + (i % 997);
  return create(catalog.ProductInputSchema, {
    productCode: code,
    productModel: `M-${i}`,
    productName: `Bench product ${i}`,
    productGroupName: ['冰箱', '洗衣机', '空调', '电热水器'][i % 4] as string,
    productBrandName: ['海尔', '卡萨帝', '统帅'][i % 3] as string,
    productImageUrl: `https://img.example/${code}.jpg`,
    productPageUrls: [`https://img.example/${code}-1.jpg`, `https://img.example/${code}-2.jpg`],
    isSales: i % 10 !== 0,
    supplyPrice: `${supply}.00`,
    invoicePrice: `${supply - 50}.00`,
    stockRebate: '0.05',
    rebateMoney: '0',
    hasPrices: true,
  });
}

async function fill(client: Client<typeof catalog.CatalogService>): Promise<string[]> {
  const codes: string[] = [];
  for (let start = 0; start < PRODUCTS; start += 500) {
    const batch = Array.from({ length: Math.min(500, PRODUCTS - start) }, (_, k) => productInput(start + k));
    const r = await client.upsertProducts({ products: batch, runId: 'bench-fill' }, { timeoutMs: 120_000 });
    if (r.failed > 0) throw new Error(`fill: ${r.failed} products failed: ${r.results.find((x) => x.reason)?.reason}`);
    codes.push(...batch.map((p) => p.productCode));
  }
  return codes;
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface Figures {
  requests: number;
  errors: number;
  non2xx: number;
  seconds: number;
  reqPerSec: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** CPU ms per answered request, by process (load-independent-ish: what each hop costs). */
  cpuMsPerRequest?: Record<string, number>;
  /** 1-minute load average when the run ended (2 cores: above 2 means waiting for CPU). */
  loadAvg1?: number;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** autocannon against the edge, closed loop (CONNECTIONS connections, back to back). */
async function edgeMaxRun(baseUrl: string, path: (i: number) => string, seconds: number): Promise<Figures> {
  let i = 0;
  const r = await autocannon({
    url: baseUrl,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path(i++) }) }],
    timeout: 10,
  });
  const requests = r['2xx'] + r.non2xx;
  return {
    requests,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    seconds: r.duration,
    reqPerSec: round(requests / r.duration),
    // autocannon 8 records latency with microsecond resolution, reported in ms
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: round(r.latency.mean) },
  };
}

/** One edge GET through a keep-alive pool; throws unless 200. */
function edgeGetter(pool: Pool, path: (i: number) => string): (i: number) => Promise<void> {
  const headers = { authorization: `Bearer ${ADMIN_KEY}` };
  return async (i) => {
    const r = await pool.request({ method: 'GET', path: path(i), headers });
    const body = await r.body.text();
    if (r.statusCode !== 200) throw new Error(`GET ${path(i)} answered ${r.statusCode}: ${body.slice(0, 200)}`);
  };
}

/**
 * Calls on an open-loop schedule at `rate` (each request is due at its slot; at most
 * CONNECTIONS in flight), latency from send to answer. `rate` 0 = CONNECTIONS loops back to back.
 */
async function openLoopRun(call: (i: number) => Promise<unknown>, seconds: number, rate: number): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const one = async () => {
    const t0 = performance.now();
    try {
      await call(i++);
      latencies.push(performance.now() - t0);
    } catch {
      errors++;
    }
  };
  if (rate <= 0) {
    await Promise.all(
      Array.from({ length: CONNECTIONS }, async () => {
        while (performance.now() < end) await one();
      }),
    );
  } else {
    let sent = 0;
    let inFlight = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (now >= end) {
          if (inFlight === 0) return resolve();
          return void setTimeout(tick, 1);
        }
        const due = Math.floor(((now - started) / 1000) * rate);
        while (sent < due && inFlight < CONNECTIONS) {
          sent++;
          inFlight++;
          void one().finally(() => {
            inFlight--;
          });
        }
        setTimeout(tick, 1);
      };
      tick();
    });
  }
  const secondsTaken = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length);
  return {
    requests: latencies.length + errors,
    errors,
    non2xx: 0,
    seconds: round(secondsTaken),
    reqPerSec: round(latencies.length / secondsTaken),
    latencyMs: { p50: round(pct(latencies, 50)), p90: round(pct(latencies, 90)), p99: round(pct(latencies, 99)), max: round(latencies.at(-1) ?? NaN), mean: round(mean) },
  };
}

function line(label: string, f: Figures): string {
  const l = f.latencyMs;
  const cpu = f.cpuMsPerRequest ? Object.entries(f.cpuMsPerRequest).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  return `${label.padEnd(34)} ${String(f.reqPerSec).padStart(8)} req/s  p50 ${String(l.p50).padStart(6)} ms  p90 ${String(l.p90).padStart(6)} ms  p99 ${String(l.p99).padStart(6)} ms  max ${String(l.max).padStart(7)} ms  errors ${f.errors + f.non2xx}  load ${f.loadAvg1 ?? '?'}  cpu ms/req: ${cpu}`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const db: TestDatabase = await createTestDatabase('hs_edge_bench');
  try {
    const catalogPort = await freePort();
    const edgePort = await freePort();
    const deadPort = await freePort(); // gateway and orchestrator are not part of this benchmark
    const cat = startService('catalog', 'services/catalog', { DATABASE_URL: db.url, CATALOG_PORT: String(catalogPort) });
    const catalogUrl = `http://127.0.0.1:${catalogPort}`;
    const client = testClient(catalog.CatalogService, catalogUrl, { timeoutMs: 10_000 });
    await waitFor(
      async () => {
        alive(cat);
        await client.stats({});
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'the catalog to serve' },
    );

    const t0 = performance.now();
    const codes = await fill(client);
    const fillSeconds = (performance.now() - t0) / 1000;
    process.stdout.write(`catalog filled: ${codes.length} products in ${fillSeconds.toFixed(1)} s (UpsertProducts, batches of 500)\n`);

    const edge = startService('http-edge', 'services/http-edge', {
      DATABASE_URL: db.url,
      EDGE_PORT: String(edgePort),
      EDGE_HOST: '127.0.0.1',
      CATALOG_URL: catalogUrl,
      GATEWAY_URL: `http://127.0.0.1:${deadPort}`,
      SYNC_URL: `http://127.0.0.1:${deadPort}`,
      EDGE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
      EDGE_RATE_LIMIT: '100000000',
      EDGE_KEY_CACHE_MS: '60000',
    }, (process.env.BENCH_EDGE_NODE_ARGS ?? '').split(' ').filter(Boolean));
    const baseUrl = `http://127.0.0.1:${edgePort}`;
    const productPath = (i: number) => `/api/haier/catalog/products/${codes[(i * 7919) % codes.length]}/`;
    const listPath = (i: number) => `/api/haier/catalog/products/?page_size=${PAGE_SIZE}&category=${encodeURIComponent(['冰箱', '洗衣机', '空调', '电热水器'][i % 4] as string)}`;
    await waitFor(
      async () => {
        alive(edge);
        const r = await fetch(`${baseUrl}${productPath(0)}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        if (r.status !== 200) throw new Error(`GET ${productPath(0)} answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
        const list = await fetch(`${baseUrl}${listPath(0)}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        if (list.status !== 200) throw new Error(`GET ${listPath(0)} answered ${list.status}: ${(await list.text()).slice(0, 300)}`);
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'the edge to serve catalog reads' },
    );

    const grpcGet = (i: number) => client.getProduct({ productCode: codes[(i * 7919) % codes.length] as string });
    const grpcList = (i: number) => client.listProducts({ pageSize: PAGE_SIZE, category: ['冰箱', '洗衣机', '空调', '电热水器'][i % 4] as string });
    // the same client without gzip (the runtime's clients accept it, so answers over 1 KiB are compressed on loopback)
    const plain = createClient(catalog.CatalogService, createGrpcTransport({ baseUrl: catalogUrl, acceptCompression: [] }));
    const grpcListPlain = (i: number) => plain.listProducts({ pageSize: PAGE_SIZE, category: ['冰箱', '洗衣机', '空调', '电热水器'][i % 4] as string });

    const pool = new Pool(baseUrl, { connections: CONNECTIONS });
    const edgeGet = edgeGetter(pool, productPath);
    const edgeList = edgeGetter(pool, listPath);

    // warm up both paths (JIT, connection pools, Postgres caches); not reported
    await edgeMaxRun(baseUrl, productPath, 3);
    await edgeMaxRun(baseUrl, listPath, 3);
    await openLoopRun(edgeGet, 2, 0);
    await openLoopRun(grpcGet, 3, 0);
    await openLoopRun(grpcList, 3, 0);

    const loadAtStart = round(loadavg()[0] as number);
    const results = {
      edgeGetLow: await withCpu(() => openLoopRun(edgeGet, LOW_SECONDS, LOW_RATE)),
      grpcGetLow: await withCpu(() => openLoopRun(grpcGet, LOW_SECONDS, LOW_RATE)),
      edgeListLow: await withCpu(() => openLoopRun(edgeList, LOW_SECONDS, LOW_RATE)),
      grpcListLow: await withCpu(() => openLoopRun(grpcList, LOW_SECONDS, LOW_RATE)),
      edgeGetAtRate: await withCpu(() => openLoopRun(edgeGet, SECONDS, RATE)),
      grpcGetAtRate: await withCpu(() => openLoopRun(grpcGet, SECONDS, RATE)),
      edgeListAtRate: await withCpu(() => openLoopRun(edgeList, SECONDS, RATE)),
      grpcListAtRate: await withCpu(() => openLoopRun(grpcList, SECONDS, RATE)),
      edgeGetMax: await withCpu(() => edgeMaxRun(baseUrl, productPath, MAX_SECONDS)),
      grpcGetMax: await withCpu(() => openLoopRun(grpcGet, MAX_SECONDS, 0)),
      edgeListMax: await withCpu(() => edgeMaxRun(baseUrl, listPath, MAX_SECONDS)),
      grpcListMax: await withCpu(() => openLoopRun(grpcList, MAX_SECONDS, 0)),
      grpcListMaxNoGzip: await withCpu(() => openLoopRun(grpcListPlain, MAX_SECONDS, 0)),
    };
    await pool.close();
    alive(edge);
    alive(cat);

    const cpuTotal = (f: Figures) => round(Object.entries(f.cpuMsPerRequest ?? {}).reduce((a, [k, v]) => (k === 'load generator' ? a : a + v), 0));
    const ratio = (a: Figures, b: Figures) => ({ p50: round(a.latencyMs.p50 / b.latencyMs.p50), p99: round(a.latencyMs.p99 / b.latencyMs.p99) });
    const sustained = (f: Figures, rate: number) => f.reqPerSec >= 0.95 * rate && f.errors + f.non2xx === 0;
    const ratios = {
      getLow: ratio(results.edgeGetLow, results.grpcGetLow),
      listLow: ratio(results.edgeListLow, results.grpcListLow),
      getAtRate: ratio(results.edgeGetAtRate, results.grpcGetAtRate),
      listAtRate: ratio(results.edgeListAtRate, results.grpcListAtRate),
      maxReqPerSec: { get: round(results.grpcGetMax.reqPerSec / results.edgeGetMax.reqPerSec), list: round(results.grpcListMax.reqPerSec / results.edgeListMax.reqPerSec) },
      cpu: { get: round(cpuTotal(results.edgeGetMax) / cpuTotal(results.grpcGetMax)), list: round(cpuTotal(results.edgeListMax) / cpuTotal(results.grpcListMax)) },
    };
    const rateSustained = {
      edgeGet: sustained(results.edgeGetAtRate, RATE),
      grpcGet: sustained(results.grpcGetAtRate, RATE),
      edgeList: sustained(results.edgeListAtRate, RATE),
      grpcList: sustained(results.grpcListAtRate, RATE),
    };
    const targets = {
      /** p50 latency through the edge at most twice the direct call, at the rate both sustain. */
      edgeHopAtMost2xLatency: ratios.getLow.p50 <= 2 && ratios.listLow.p50 <= 2,
      /** p99 through the edge at most 10 ms at RATE (false when the rate is not even sustained). */
      edgeP99AtMost10msAtRate: rateSustained.edgeGet && rateSustained.edgeList && results.edgeGetAtRate.latencyMs.p99 <= 10 && results.edgeListAtRate.latencyMs.p99 <= 10,
    };
    const out = [
      '',
      `http-edge reads: ${codes.length} products, ${CONNECTIONS} connections / in-flight, page size ${PAGE_SIZE}; fixed rates ${LOW_RATE} req/s for ${LOW_SECONDS} s and ${RATE} req/s for ${SECONDS} s, unthrottled for ${MAX_SECONDS} s`,
      `(one machine: 2 cores shared by the load generator, the edge, the catalog, Postgres and other work; figures vary run to run)`,
      '',
      line(`GET product, edge @${LOW_RATE}/s`, results.edgeGetLow),
      line(`GetProduct, gRPC @${LOW_RATE}/s`, results.grpcGetLow),
      line(`GET list page, edge @${LOW_RATE}/s`, results.edgeListLow),
      line(`ListProducts, gRPC @${LOW_RATE}/s`, results.grpcListLow),
      line(`GET product, edge @${RATE}/s`, results.edgeGetAtRate),
      line(`GetProduct, gRPC @${RATE}/s`, results.grpcGetAtRate),
      line(`GET list page, edge @${RATE}/s`, results.edgeListAtRate),
      line(`ListProducts, gRPC @${RATE}/s`, results.grpcListAtRate),
      line('GET product, edge, unthrottled', results.edgeGetMax),
      line('GetProduct, gRPC, unthrottled', results.grpcGetMax),
      line('GET list page, edge, unthrottled', results.edgeListMax),
      line('ListProducts, gRPC, unthrottled', results.grpcListMax),
      line('ListProducts, gRPC, no gzip, unthr.', results.grpcListMaxNoGzip),
      '',
      `edge/gRPC latency at ${LOW_RATE}/s: product p50 ${ratios.getLow.p50}x p99 ${ratios.getLow.p99}x; list p50 ${ratios.listLow.p50}x p99 ${ratios.listLow.p99}x`,
      `edge/gRPC latency at ${RATE}/s: product p50 ${ratios.getAtRate.p50}x p99 ${ratios.getAtRate.p99}x; list p50 ${ratios.listAtRate.p50}x p99 ${ratios.listAtRate.p99}x`,
      `${RATE}/s sustained (>= 95%, no errors): edge product ${rateSustained.edgeGet}, gRPC product ${rateSustained.grpcGet}, edge list ${rateSustained.edgeList}, gRPC list ${rateSustained.grpcList}${Object.values(rateSustained).some((v) => !v) ? ' -- where not, those latencies are queueing at saturation, not service time' : ''}`,
      `gRPC/edge max req/s: product ${ratios.maxReqPerSec.get}x, list ${ratios.maxReqPerSec.list}x; edge/gRPC CPU per read: product ${ratios.cpu.get}x, list ${ratios.cpu.list}x`,
      `CPU per read (edge + catalog processes, unthrottled; the client side is in the load generator's column): product edge ${cpuTotal(results.edgeGetMax)} ms vs gRPC ${cpuTotal(results.grpcGetMax)} ms; list edge ${cpuTotal(results.edgeListMax)} ms vs gRPC ${cpuTotal(results.grpcListMax)} ms (Postgres not counted)`,
      `load average (1 min) at start ${loadAtStart}, at end ${round(loadavg()[0] as number)} on 2 cores`,
      `targets: edge hop <= 2x (p50 at ${LOW_RATE}/s): ${targets.edgeHopAtMost2xLatency ? 'met' : 'NOT met'}; edge p99 <= 10 ms at ${RATE}/s: ${targets.edgeP99AtMost10msAtRate ? 'met' : 'NOT met'}`,
      '',
    ];
    process.stdout.write(out.join('\n'));

    const dir = join(ROOT, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'http-edge-reads.figures.json');
    writeFileSync(
      file,
      JSON.stringify({ bench: 'http-edge-reads', at: new Date().toISOString(), products: codes.length, rate: RATE, seconds: SECONDS, lowRate: LOW_RATE, lowSeconds: LOW_SECONDS, maxSeconds: MAX_SECONDS, connections: CONNECTIONS, pageSize: PAGE_SIZE, fillSeconds: round(fillSeconds), loadAtStart, loadAtEnd: round(loadavg()[0] as number), results, ratios, rateSustained, targets }, null, 2),
    );
    process.stdout.write(`figures written to ${file}\n`);
  } finally {
    closeGrpcClients();
    await stopAll();
    await db.drop();
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`reads bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  await stopAll().catch(() => undefined);
  process.exit(1);
});
