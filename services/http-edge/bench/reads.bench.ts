// Catalog reads (one product by code, a list page of a category) through the edge (HTTP/1.1 +
// JSON, auth, audit) cold (200 read from the catalog: a second edge process runs with its read
// cache off, EDGE_READ_CACHE_MB=0), kept (200 answered from the read cache: nothing changed since
// it was read) and revalidated (If-None-Match → 304), against the same reads
// made straight to the catalog over gRPC, and against a floor: a minimal Fastify server running
// the catalog's own SQL on the same database through `pg` (bench/floor-server.ts). Latency at
// fixed rates (BENCH_LOW_RATE, BENCH_RATE) and the most an unthrottled run sustains, each as a
// ratio to the floor (targets: the edge's max req/s at least 0.5x the floor's on 200s, 0.8x on
// 304s). The catalog, the edge and the floor run as separate processes, the services as deployed
// (the built services: `node --require @haier-sync/runtime/telemetry dist/main.js`; pnpm bench
// builds first).
//
// Fixed-rate runs use one open-loop schedule for both paths (each request is due at its slot,
// evenly spaced; at most CONNECTIONS in flight), the edge through an undici pool of CONNECTIONS
// keep-alive connections. autocannon's own rate mode is not used for them: it sends each
// connection's per-second quota back to back at the start of every second (so "100 req/s" is a
// burst at concurrency 10, then idle) and adds coordinated-omission samples at a 1 ms interval,
// which made the edge's latencies at a fixed rate bursts' queueing, not comparable with the
// direct calls. Unthrottled runs (most req/s) use autocannon, closed loop, at each concurrency of
// BENCH_MAX_CONNECTIONS (10,32), the best kept: one fixed concurrency would measure a path's latency,
// not its ceiling (two hops need more requests in flight than the floor to fill the same cores).
//
//   pnpm bench http-edge      (builds first), or after `pnpm build`:
//   node --conditions=source --import tsx services/http-edge/bench/reads.bench.ts
//
// The catalog does not change during the bench, so the read cache's answers stay current; the edge
// runs with EDGE_READ_CACHE_TTL_MS=BENCH_READ_CACHE_TTL_MS (600000) so that none expires midway (the
// TTL bounds only how far the check stamps may lag; see README, "The read cache").
//
// Knobs (environment): BENCH_PRODUCTS (5000), BENCH_RATE (1000 req/s), BENCH_SECONDS (20, the
// fixed-rate runs), BENCH_LOW_RATE (100 req/s) and BENCH_LOW_SECONDS (10), a second fixed rate the
// machine sustains even when busy, BENCH_MAX_SECONDS (10, the unthrottled runs), BENCH_CONNECTIONS (10, in flight at the fixed
// rates), BENCH_MAX_CONNECTIONS (10,32: the unthrottled runs' concurrencies),
// BENCH_EDGE_NODE_ARGS and BENCH_CATALOG_NODE_ARGS (extra node flags for the edge or the catalog,
// e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
import autocannon from 'autocannon';
import { create } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { catalog } from '@haier-sync/contracts';
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
/**
 * The unthrottled runs' concurrencies: each path is run at each and its best is reported (with the
 * concurrency it took). One fixed concurrency measures a latency bound, not a ceiling: a path of two
 * hops needs more requests in flight than the floor to fill the same cores.
 */
const MAX_CONNECTIONS = (process.env.BENCH_MAX_CONNECTIONS ?? '10,32').split(',').map(Number).filter((n) => n > 0);
/** A rate this machine sustains even when busy: latency there is service time, not queueing. */
const LOW_RATE = Number(process.env.BENCH_LOW_RATE ?? 100);
const LOW_SECONDS = Number(process.env.BENCH_LOW_SECONDS ?? 10);
const PAGE_SIZE = 20;
const READ_CACHE_TTL_MS = Number(process.env.BENCH_READ_CACHE_TTL_MS ?? 600_000);
/** Extra node flags for a service process, from the environment variable `name` (space-separated). */
const nodeArgs = (name: string) => (process.env[name] ?? '').split(' ').filter(Boolean);
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
    env: { ...process.env, LOG_LEVEL: 'warn', NODE_ENV: 'production', ...testAuth().env(name.startsWith('http-edge') ? 'http-edge' : undefined), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track(name, child);
}

/** Keeps the last lines a child printed (for alive()) and stops it with the others. */
function track(name: string, child: ChildProcess): Proc {
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

/** The floor server (bench/floor-server.ts) as its own process, through tsx as this bench runs. */
function startFloor(env: Record<string, string>): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'floor-server.ts')], {
    cwd: join(__dirname, '..'),
    env: { ...process.env, NODE_ENV: 'production', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return track('floor', child);
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
  /** The first failure of the run, when there was one. */
  firstError?: string;
  /** Requests in flight (unthrottled runs: the concurrency of the best of MAX_CONNECTIONS). */
  connections?: number;
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

const round = (n: number) => Math.round(n * 100) / 100;

interface HttpRead {
  /** The path of the i-th request. */
  path: (i: number) => string;
  /** Send the edge's API key (the floor takes none). */
  auth: boolean;
  /** Sent to the edge whose read cache is off (every read goes to the catalog). */
  cold?: boolean;
  /** If-None-Match of the i-th request's path (the ETag an earlier answer carried): the answer must be 304. */
  etagOf?: (path: string) => string;
}

const expectedStatus = (r: HttpRead) => (r.etagOf ? 304 : 200);
const headersOf = (r: HttpRead, path: string): Record<string, string> => ({
  ...(r.auth ? { authorization: `Bearer ${ADMIN_KEY}` } : {}),
  ...(r.etagOf ? { 'if-none-match': r.etagOf(path) } : {}),
});

/** autocannon against an HTTP server, closed loop (`connections` connections, back to back); answers other than the expected status count as errors. */
async function httpMaxRun(baseUrl: string, read: HttpRead, seconds: number, connections = CONNECTIONS): Promise<Figures> {
  let i = 0;
  const r = await autocannon({
    url: baseUrl,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'GET',
        setupRequest: (req) => {
          const path = read.path(i++);
          return { ...req, path, headers: { ...req.headers, ...headersOf(read, path) } };
        },
      },
    ],
    timeout: 10,
  });
  const requests = r['2xx'] + r.non2xx;
  const good = expectedStatus(read) === 304 ? r['3xx'] : r['2xx'];
  return {
    requests,
    errors: r.errors + r.timeouts,
    non2xx: requests - good,
    seconds: r.duration,
    reqPerSec: round(requests / r.duration),
    // autocannon 8 records latency with microsecond resolution, reported in ms
    latencyMs: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99, max: r.latency.max, mean: round(r.latency.mean) },
    connections,
  };
}

/** The most req/s a path sustains: one unthrottled run (CPU counted) at each of MAX_CONNECTIONS, the best kept. */
async function bestOf(run: (connections: number) => Promise<Figures>): Promise<Figures> {
  let best: Figures | undefined;
  for (const n of MAX_CONNECTIONS) {
    const f = await withCpu(() => run(n));
    if (!best || f.reqPerSec > best.reqPerSec) best = f;
  }
  return best as Figures;
}

/** One GET through a keep-alive pool; throws unless it answers the expected status (200, or 304 with If-None-Match). */
function httpGetter(pool: Pool, read: HttpRead): (i: number) => Promise<void> {
  const want = expectedStatus(read);
  return async (i) => {
    const path = read.path(i);
    const r = await pool.request({ method: 'GET', path, headers: headersOf(read, path) });
    const body = await r.body.text();
    if (r.statusCode !== want) throw new Error(`GET ${path} answered ${r.statusCode}: ${body.slice(0, 200)}`);
  };
}

/** The ETag the edge answers for each path (what a client that read it before sends back as If-None-Match). */
async function etagsOf(baseUrl: string, paths: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const todo = [...new Set(paths)];
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      for (let p = todo.pop(); p !== undefined; p = todo.pop()) {
        const r = await fetch(`${baseUrl}${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        await r.arrayBuffer();
        const tag = r.headers.get('etag');
        if (r.status !== 200 || !tag) throw new Error(`GET ${p} answered ${r.status} without an ETag`);
        out.set(p, tag);
      }
    }),
  );
  return out;
}

/**
 * Calls on an open-loop schedule at `rate` (each request is due at its slot; at most
 * `inFlight` in flight), latency from send to answer. `rate` 0 = `inFlight` loops back to back.
 */
async function openLoopRun(call: (i: number) => Promise<unknown>, seconds: number, rate: number, inFlight = CONNECTIONS): Promise<Figures> {
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let i = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const one = async () => {
    const t0 = performance.now();
    try {
      await call(i++);
      latencies.push(performance.now() - t0);
    } catch (err) {
      if (errors++ === 0) firstError = err instanceof Error ? err.message : String(err);
    }
  };
  if (rate <= 0) {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (performance.now() < end) await one();
      }),
    );
  } else {
    let sent = 0;
    let flying = 0;
    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (now >= end) {
          if (flying === 0) return resolve();
          return void setTimeout(tick, 1);
        }
        const due = Math.floor(((now - started) / 1000) * rate);
        while (sent < due && flying < inFlight) {
          sent++;
          flying++;
          void one().finally(() => {
            flying--;
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
    ...(firstError ? { firstError: firstError.slice(0, 300) } : {}),
    ...(rate <= 0 ? { connections: inFlight } : {}),
  };
}

function line(label: string, f: Figures): string {
  const l = f.latencyMs;
  const cpu = f.cpuMsPerRequest ? Object.entries(f.cpuMsPerRequest).map(([k, v]) => `${k} ${v}`).join(', ') : '';
  const conc = f.connections !== undefined ? ` @${f.connections}` : '';
  return `${label.padEnd(34)} ${String(f.reqPerSec).padStart(8)} req/s${conc.padEnd(4)}  p50 ${String(l.p50).padStart(6)} ms  p90 ${String(l.p90).padStart(6)} ms  p99 ${String(l.p99).padStart(6)} ms  max ${String(l.max).padStart(7)} ms  errors ${f.errors + f.non2xx}  load ${f.loadAvg1 ?? '?'}  cpu ms/req: ${cpu}${f.firstError ? `  first error: ${f.firstError}` : ''}`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const db: TestDatabase = await createTestDatabase('hs_edge_bench');
  try {
    const catalogPort = await freePort();
    const edgePort = await freePort();
    const deadPort = await freePort(); // gateway and orchestrator are not part of this benchmark
    const cat = startService('catalog', 'services/catalog', { DATABASE_URL: db.url, CATALOG_PORT: String(catalogPort) }, nodeArgs('BENCH_CATALOG_NODE_ARGS'));
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

    const edgeEnv = (port: number) => ({
      DATABASE_URL: db.url,
      EDGE_PORT: String(port),
      EDGE_HOST: '127.0.0.1',
      CATALOG_URL: catalogUrl,
      GATEWAY_URL: `http://127.0.0.1:${deadPort}`,
      SYNC_URL: `http://127.0.0.1:${deadPort}`,
      EDGE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
      EDGE_RATE_LIMIT: '100000000',
      EDGE_KEY_CACHE_MS: '60000',
      EDGE_READ_CACHE_TTL_MS: String(READ_CACHE_TTL_MS),
    });
    const edge = startService('http-edge', 'services/http-edge', edgeEnv(edgePort), nodeArgs('BENCH_EDGE_NODE_ARGS'));
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
    // the cold reads' edge: the same, with the read cache off (started once the first has migrated its schema and made the admin key)
    const coldPort = await freePort();
    const coldEdge = startService('http-edge (cache off)', 'services/http-edge', { ...edgeEnv(coldPort), EDGE_READ_CACHE_MB: '0' }, nodeArgs('BENCH_EDGE_NODE_ARGS'));
    const coldUrl = `http://127.0.0.1:${coldPort}`;
    await waitFor(
      async () => {
        alive(coldEdge);
        const r = await fetch(`${coldUrl}${productPath(0)}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
        if (r.status !== 200) throw new Error(`GET ${productPath(0)} answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
        return true;
      },
      { timeoutMs: 90_000, intervalMs: 250, what: 'the edge with its read cache off to serve catalog reads' },
    );

    const grpcGet = (i: number) => client.getProduct({ productCode: codes[(i * 7919) % codes.length] as string });
    const grpcList = (i: number) => client.listProducts({ pageSize: PAGE_SIZE, category: ['冰箱', '洗衣机', '空调', '电热水器'][i % 4] as string });

    // the floor: the catalog's SQL behind a bare Fastify handler, its own process, on the same database
    const floorPort = await freePort();
    const floor = startFloor({ DATABASE_URL: db.url, FLOOR_PORT: String(floorPort) });
    const floorUrl = `http://127.0.0.1:${floorPort}`;
    const floorProductPath = (i: number) => `/product/${codes[(i * 7919) % codes.length]}`;
    const floorListPath = (i: number) => `/products?page_size=${PAGE_SIZE}&category=${encodeURIComponent(['冰箱', '洗衣机', '空调', '电热水器'][i % 4] as string)}`;
    await waitFor(
      async () => {
        alive(floor);
        const r = await fetch(`${floorUrl}${floorProductPath(0)}`);
        if (r.status !== 200) throw new Error(`floor GET ${floorProductPath(0)} answered ${r.status}: ${(await r.text()).slice(0, 300)}`);
        const list = (await (await fetch(`${floorUrl}${floorListPath(0)}`)).json()) as { count: number };
        if (list.count !== PAGE_SIZE) throw new Error(`floor list page holds ${list.count} products, not ${PAGE_SIZE}`);
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'the floor server to serve' },
    );

    // what a client that read each product and page before sends back: the ETag it got (these
    // reads also leave every product and page in the edge's read cache)
    const etags = await etagsOf(baseUrl, [...codes.map((_, i) => productPath(i)), ...[0, 1, 2, 3].map(listPath)]);
    const etagOf = (path: string) => etags.get(path) as string;

    const reads = {
      edgeGet: { path: productPath, auth: true, cold: true },
      edgeList: { path: listPath, auth: true, cold: true },
      edgeGetKept: { path: productPath, auth: true },
      edgeListKept: { path: listPath, auth: true },
      edgeGet304: { path: productPath, auth: true, etagOf },
      edgeList304: { path: listPath, auth: true, etagOf },
      floorGet: { path: floorProductPath, auth: false },
      floorList: { path: floorListPath, auth: false },
    } satisfies Record<string, HttpRead>;
    // where each read goes: the floor (no key), the edge with its read cache off (cold), or the edge
    const urlOf = (r: HttpRead) => (!r.auth ? floorUrl : r.cold ? coldUrl : baseUrl);
    const pools = new Map([baseUrl, coldUrl, floorUrl].map((u) => [u, new Pool(u, { connections: CONNECTIONS })]));
    const getter = (r: HttpRead) => httpGetter(pools.get(urlOf(r))!, r);
    const maxRun = (r: HttpRead) => bestOf((n) => httpMaxRun(urlOf(r), r, MAX_SECONDS, n));
    const edgeGet = getter(reads.edgeGet);
    const edgeList = getter(reads.edgeList);
    const edgeGetKept = getter(reads.edgeGetKept);
    const edgeListKept = getter(reads.edgeListKept);
    const edgeGet304 = getter(reads.edgeGet304);
    const edgeList304 = getter(reads.edgeList304);
    const floorGet = getter(reads.floorGet);
    const floorList = getter(reads.floorList);

    // warm up every path (JIT, connection pools, Postgres caches); not reported
    for (const r of Object.values(reads)) await httpMaxRun(urlOf(r), r, 2);
    await openLoopRun(edgeGet, 2, 0);
    await openLoopRun(floorGet, 2, 0);
    await openLoopRun(grpcGet, 3, 0);
    await openLoopRun(grpcList, 3, 0);

    const loadAtStart = round(loadavg()[0] as number);
    const results = {
      edgeGetLow: await withCpu(() => openLoopRun(edgeGet, LOW_SECONDS, LOW_RATE)),
      edgeGetKeptLow: await withCpu(() => openLoopRun(edgeGetKept, LOW_SECONDS, LOW_RATE)),
      edgeGet304Low: await withCpu(() => openLoopRun(edgeGet304, LOW_SECONDS, LOW_RATE)),
      grpcGetLow: await withCpu(() => openLoopRun(grpcGet, LOW_SECONDS, LOW_RATE)),
      floorGetLow: await withCpu(() => openLoopRun(floorGet, LOW_SECONDS, LOW_RATE)),
      edgeListLow: await withCpu(() => openLoopRun(edgeList, LOW_SECONDS, LOW_RATE)),
      edgeListKeptLow: await withCpu(() => openLoopRun(edgeListKept, LOW_SECONDS, LOW_RATE)),
      edgeList304Low: await withCpu(() => openLoopRun(edgeList304, LOW_SECONDS, LOW_RATE)),
      grpcListLow: await withCpu(() => openLoopRun(grpcList, LOW_SECONDS, LOW_RATE)),
      floorListLow: await withCpu(() => openLoopRun(floorList, LOW_SECONDS, LOW_RATE)),
      edgeGetAtRate: await withCpu(() => openLoopRun(edgeGet, SECONDS, RATE)),
      edgeGetKeptAtRate: await withCpu(() => openLoopRun(edgeGetKept, SECONDS, RATE)),
      edgeGet304AtRate: await withCpu(() => openLoopRun(edgeGet304, SECONDS, RATE)),
      grpcGetAtRate: await withCpu(() => openLoopRun(grpcGet, SECONDS, RATE)),
      floorGetAtRate: await withCpu(() => openLoopRun(floorGet, SECONDS, RATE)),
      edgeListAtRate: await withCpu(() => openLoopRun(edgeList, SECONDS, RATE)),
      edgeListKeptAtRate: await withCpu(() => openLoopRun(edgeListKept, SECONDS, RATE)),
      edgeList304AtRate: await withCpu(() => openLoopRun(edgeList304, SECONDS, RATE)),
      grpcListAtRate: await withCpu(() => openLoopRun(grpcList, SECONDS, RATE)),
      floorListAtRate: await withCpu(() => openLoopRun(floorList, SECONDS, RATE)),
      edgeGetMax: await maxRun(reads.edgeGet),
      edgeGetKeptMax: await maxRun(reads.edgeGetKept),
      edgeGet304Max: await maxRun(reads.edgeGet304),
      grpcGetMax: await bestOf((n) => openLoopRun(grpcGet, MAX_SECONDS, 0, n)),
      floorGetMax: await maxRun(reads.floorGet),
      edgeListMax: await maxRun(reads.edgeList),
      edgeListKeptMax: await maxRun(reads.edgeListKept),
      edgeList304Max: await maxRun(reads.edgeList304),
      grpcListMax: await bestOf((n) => openLoopRun(grpcList, MAX_SECONDS, 0, n)),
      floorListMax: await maxRun(reads.floorList),
    };
    for (const p of pools.values()) await p.close();
    alive(edge);
    alive(coldEdge);
    alive(cat);
    alive(floor);

    // the edge and the catalog (the floor process idles meanwhile; it is counted for its own runs)
    const cpuTotal = (f: Figures) => round(Object.entries(f.cpuMsPerRequest ?? {}).reduce((a, [k, v]) => (k === 'load generator' || k === 'floor' ? a : a + v), 0));
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
      edgeGetKept: sustained(results.edgeGetKeptAtRate, RATE),
      edgeGet304: sustained(results.edgeGet304AtRate, RATE),
      grpcGet: sustained(results.grpcGetAtRate, RATE),
      floorGet: sustained(results.floorGetAtRate, RATE),
      edgeList: sustained(results.edgeListAtRate, RATE),
      edgeListKept: sustained(results.edgeListKeptAtRate, RATE),
      edgeList304: sustained(results.edgeList304AtRate, RATE),
      grpcList: sustained(results.grpcListAtRate, RATE),
      floorList: sustained(results.floorListAtRate, RATE),
    };

    // every path as a ratio to the floor: max req/s (path / floor: 1 is the floor's throughput) and latency (path / floor: 1 is as fast)
    type Read = 'Get' | 'List';
    type Way = 'edge' | 'edgeKept' | 'edge304' | 'grpc' | 'floor';
    const WAYS: Array<[Way, string]> = [
      ['floor', 'floor (Fastify + pg, same SQL)'],
      ['edge', 'edge, cold (200, cache off)'],
      ['edgeKept', 'edge, kept (200, read cache)'],
      ['edge304', 'edge, If-None-Match (304)'],
      ['grpc', 'catalog gRPC, direct'],
    ];
    const fig = (way: Way, read: Read, run: 'Low' | 'AtRate' | 'Max'): Figures => {
      const key = way === 'edge304' ? `edge${read}304${run}` : way === 'edgeKept' ? `edge${read}Kept${run}` : `${way}${read}${run}`;
      return (results as Record<string, Figures>)[key] as Figures;
    };
    const vsFloor = Object.fromEntries(
      (['Get', 'List'] as Read[]).map((read) => [
        read === 'Get' ? 'product' : 'list',
        Object.fromEntries(
          WAYS.map(([way]) => {
            const max = fig(way, read, 'Max');
            const at = (run: 'Low' | 'AtRate') => ({ ...ratio(fig(way, read, run), fig('floor', read, run)) });
            return [way, { maxReqPerSec: round(max.reqPerSec / fig('floor', read, 'Max').reqPerSec), latencyLow: at('Low'), latencyAtRate: at('AtRate') }];
          }),
        ),
      ]),
    ) as Record<'product' | 'list', Record<Way, { maxReqPerSec: number; latencyLow: { p50: number; p99: number }; latencyAtRate: { p50: number; p99: number } }>>;
    const targets = {
      /** p50 latency through the edge at most twice the direct call, at the rate both sustain. */
      edgeHopAtMost2xLatency: ratios.getLow.p50 <= 2 && ratios.listLow.p50 <= 2,
      /** p99 through the edge at most 10 ms at RATE (false when the rate is not even sustained). */
      edgeP99AtMost10msAtRate: rateSustained.edgeGet && rateSustained.edgeList && results.edgeGetAtRate.latencyMs.p99 <= 10 && results.edgeListAtRate.latencyMs.p99 <= 10,
      /** the edge's most req/s on cold reads (read from the catalog) at least half the floor's (product and list). */
      edge200AtLeastHalfTheFloor: vsFloor.product.edge.maxReqPerSec >= 0.5 && vsFloor.list.edge.maxReqPerSec >= 0.5,
      /** the same for 200s answered from the read cache. */
      keptAtLeastHalfTheFloor: vsFloor.product.edgeKept.maxReqPerSec >= 0.5 && vsFloor.list.edgeKept.maxReqPerSec >= 0.5,
      /** the edge's most req/s on revalidations (304) at least 0.8x the floor's cold reads. */
      edge304AtLeast08xTheFloor: vsFloor.product.edge304.maxReqPerSec >= 0.8 && vsFloor.list.edge304.maxReqPerSec >= 0.8,
    };
    const cell = (v: number | string, w: number) => String(v).padStart(w);
    const tableRows = (['Get', 'List'] as Read[]).flatMap((read) => {
      const name = read === 'Get' ? 'product' : 'list';
      return WAYS.map(([way, label]) => {
        const max = fig(way, read, 'Max');
        const low = fig(way, read, 'Low');
        const at = fig(way, read, 'AtRate');
        const v = vsFloor[name][way];
        const ok = (f: Figures, rate: number) => (sustained(f, rate) ? ' ' : '*');
        return [
          `${name.padEnd(8)}${label.padEnd(31)}`,
          cell(max.reqPerSec, 9), cell(`${v.maxReqPerSec}x`, 7),
          cell(low.latencyMs.p50, 8), cell(low.latencyMs.p99, 7), cell(`${v.latencyLow.p50}x/${v.latencyLow.p99}x`, 12), ok(low, LOW_RATE),
          cell(at.latencyMs.p50, 8), cell(at.latencyMs.p99, 7), cell(`${v.latencyAtRate.p50}x/${v.latencyAtRate.p99}x`, 12), ok(at, RATE),
        ].join(' ');
      });
    });
    const out = [
      '',
      `http-edge reads: ${codes.length} products, ${CONNECTIONS} connections / in-flight, page size ${PAGE_SIZE}; fixed rates ${LOW_RATE} req/s for ${LOW_SECONDS} s and ${RATE} req/s for ${SECONDS} s, unthrottled for ${MAX_SECONDS} s at each of ${MAX_CONNECTIONS.join(', ')} in flight (the best kept; @n in the unthrottled lines)`,
      `(one machine: 2 cores shared by the load generator, the edge, the catalog, the floor, Postgres and other work; figures vary run to run)`,
      '',
      line(`GET product, edge @${LOW_RATE}/s`, results.edgeGetLow),
      line(`GET product kept, edge @${LOW_RATE}/s`, results.edgeGetKeptLow),
      line(`GET product 304, edge @${LOW_RATE}/s`, results.edgeGet304Low),
      line(`GetProduct, gRPC @${LOW_RATE}/s`, results.grpcGetLow),
      line(`GET product, floor @${LOW_RATE}/s`, results.floorGetLow),
      line(`GET list page, edge @${LOW_RATE}/s`, results.edgeListLow),
      line(`GET list page kept, edge @${LOW_RATE}/s`, results.edgeListKeptLow),
      line(`GET list page 304, edge @${LOW_RATE}/s`, results.edgeList304Low),
      line(`ListProducts, gRPC @${LOW_RATE}/s`, results.grpcListLow),
      line(`GET list page, floor @${LOW_RATE}/s`, results.floorListLow),
      line(`GET product, edge @${RATE}/s`, results.edgeGetAtRate),
      line(`GET product kept, edge @${RATE}/s`, results.edgeGetKeptAtRate),
      line(`GET product 304, edge @${RATE}/s`, results.edgeGet304AtRate),
      line(`GetProduct, gRPC @${RATE}/s`, results.grpcGetAtRate),
      line(`GET product, floor @${RATE}/s`, results.floorGetAtRate),
      line(`GET list page, edge @${RATE}/s`, results.edgeListAtRate),
      line(`GET list page kept, edge @${RATE}/s`, results.edgeListKeptAtRate),
      line(`GET list page 304, edge @${RATE}/s`, results.edgeList304AtRate),
      line(`ListProducts, gRPC @${RATE}/s`, results.grpcListAtRate),
      line(`GET list page, floor @${RATE}/s`, results.floorListAtRate),
      line('GET product, edge, unthrottled', results.edgeGetMax),
      line('GET product kept, edge, unthrottled', results.edgeGetKeptMax),
      line('GET product 304, edge, unthrottled', results.edgeGet304Max),
      line('GetProduct, gRPC, unthrottled', results.grpcGetMax),
      line('GET product, floor, unthrottled', results.floorGetMax),
      line('GET list page, edge, unthrottled', results.edgeListMax),
      line('GET list page kept, edge, unthr.', results.edgeListKeptMax),
      line('GET list page 304, edge, unthr.', results.edgeList304Max),
      line('ListProducts, gRPC, unthrottled', results.grpcListMax),
      line('GET list page, floor, unthrottled', results.floorListMax),
      '',
      `against the floor (max req/s: path/floor, higher is better; latency p50/p99 in ms and path/floor, lower is better; * = that rate not sustained: queueing, not service time)`,
      `${''.padEnd(39)} ${cell('max req/s', 9)} ${cell('xfloor', 7)} ${cell(`p50@${LOW_RATE}`, 8)} ${cell('p99', 7)} ${cell('xfloor', 12)}  ${cell(`p50@${RATE}`, 8)} ${cell('p99', 7)} ${cell('xfloor', 12)}`,
      ...tableRows,
      '',
      `edge/gRPC latency at ${LOW_RATE}/s: product p50 ${ratios.getLow.p50}x p99 ${ratios.getLow.p99}x; list p50 ${ratios.listLow.p50}x p99 ${ratios.listLow.p99}x`,
      `edge/gRPC latency at ${RATE}/s: product p50 ${ratios.getAtRate.p50}x p99 ${ratios.getAtRate.p99}x; list p50 ${ratios.listAtRate.p50}x p99 ${ratios.listAtRate.p99}x`,
      `${RATE}/s sustained (>= 95%, no errors): ${Object.entries(rateSustained).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `gRPC/edge max req/s: product ${ratios.maxReqPerSec.get}x, list ${ratios.maxReqPerSec.list}x; edge/gRPC CPU per read: product ${ratios.cpu.get}x, list ${ratios.cpu.list}x`,
      `CPU per read (edge + catalog processes, unthrottled; the client side is in the load generator's column): product edge ${cpuTotal(results.edgeGetMax)} ms (kept: ${cpuTotal(results.edgeGetKeptMax)}, 304: ${cpuTotal(results.edgeGet304Max)}) vs gRPC ${cpuTotal(results.grpcGetMax)} ms vs floor ${results.floorGetMax.cpuMsPerRequest?.floor} ms; list edge ${cpuTotal(results.edgeListMax)} ms (kept: ${cpuTotal(results.edgeListKeptMax)}, 304: ${cpuTotal(results.edgeList304Max)}) vs gRPC ${cpuTotal(results.grpcListMax)} ms vs floor ${results.floorListMax.cpuMsPerRequest?.floor} ms (Postgres not counted)`,
      `load average (1 min) at start ${loadAtStart}, at end ${round(loadavg()[0] as number)} on 2 cores`,
      `targets: edge hop <= 2x (p50 at ${LOW_RATE}/s): ${targets.edgeHopAtMost2xLatency ? 'met' : 'NOT met'}; edge p99 <= 10 ms at ${RATE}/s: ${targets.edgeP99AtMost10msAtRate ? 'met' : 'NOT met'}`,
      `targets vs the floor (max req/s): edge 200s >= 0.5x: cold ${targets.edge200AtLeastHalfTheFloor ? 'met' : 'NOT met'} (product ${vsFloor.product.edge.maxReqPerSec}x, list ${vsFloor.list.edge.maxReqPerSec}x), kept ${targets.keptAtLeastHalfTheFloor ? 'met' : 'NOT met'} (product ${vsFloor.product.edgeKept.maxReqPerSec}x, list ${vsFloor.list.edgeKept.maxReqPerSec}x); edge 304s >= 0.8x: ${targets.edge304AtLeast08xTheFloor ? 'met' : 'NOT met'} (product ${vsFloor.product.edge304.maxReqPerSec}x, list ${vsFloor.list.edge304.maxReqPerSec}x)`,
      '',
    ];
    process.stdout.write(out.join('\n'));

    const dir = join(ROOT, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'http-edge-reads.figures.json');
    writeFileSync(
      file,
      JSON.stringify({ bench: 'http-edge-reads', at: new Date().toISOString(), products: codes.length, rate: RATE, seconds: SECONDS, lowRate: LOW_RATE, lowSeconds: LOW_SECONDS, maxSeconds: MAX_SECONDS, connections: CONNECTIONS, maxConnections: MAX_CONNECTIONS, pageSize: PAGE_SIZE, fillSeconds: round(fillSeconds), loadAtStart, loadAtEnd: round(loadavg()[0] as number), results, ratios, vsFloor, rateSustained, targets }, null, 2),
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
