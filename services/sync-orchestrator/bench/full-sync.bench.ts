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
// BENCH_PRODUCTS, BENCH_RATE, BENCH_LATENCY_MS change the sizes; BENCH_NODE_FLAGS adds node flags to
// every service process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof": one profile per process). Prints a summary; writes
// bench-results/sync-orchestrator-full-sync-figures.json (from the repo root).
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sync } from '@haier-sync/contracts';
import { DEFAULT_CREDENTIALS } from '@haier-sync/haier-sim';
import { closeGrpcClients } from '@haier-sync/runtime';
import { createTestDatabase, freePort, testClient, TEST_NATS_URL, uniqueId, waitFor } from '@haier-sync/runtime/testing';
import { connect, type NatsConnection } from 'nats';
import { Client as PgClient } from 'pg';
import { cpuSeconds, peakRss, ROOT, runToEnd, simStats, startProcess, stop, waitServing, type Proc } from './support';

const PRODUCTS = Number(process.env.BENCH_PRODUCTS ?? 50_000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const SHARED_GATEWAYS = Number(process.env.BENCH_SHARED_GATEWAYS ?? 3);
const SHARED_ORCHESTRATORS = Number(process.env.BENCH_SHARED_ORCHESTRATORS ?? 2);
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

async function main(): Promise<void> {
  const single = await measure({ gateways: 1, orchestrators: 1, incremental: true });
  const shared = SHARED_GATEWAYS > 0 ? await measure({ gateways: SHARED_GATEWAYS, orchestrators: SHARED_ORCHESTRATORS, incremental: false }) : undefined;
  report(single, shared);
}

async function measure(topology: Topology): Promise<Record<string, unknown>> {
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
  const bucket = `${prefix.replace(/[^A-Za-z0-9_-]/g, '_')}_budget`;
  const simUrl = `http://127.0.0.1:${simPort}`;
  const procs: Proc[] = [];
  let proxy: Server | undefined;
  const nc = await connect({ servers: TEST_NATS_URL });
  const pg = new PgClient({ connectionString: db.url });
  let figures: Record<string, unknown> = {};
  try {
    process.stderr.write(`starting simulator (${PRODUCTS} products, ${RATE} calls/s, ${LATENCY_MS} ms), ${topology.gateways} gateway(s), catalog, ${topology.orchestrators} orchestrator(s)…\n`);
    const sim = startProcess('haier-sim', 'tools/haier-sim', {
      SIM_PORT: String(simPort), SIM_SIZE: String(PRODUCTS), SIM_RATE_LIMIT: String(RATE), SIM_RATE_LIMIT_MODE: 'sliding', SIM_LATENCY_MS: String(LATENCY_MS), SIM_SEED: '42',
    });
    procs.push(sim);
    await waitFor(async () => {
      if (sim.child.exitCode !== null) throw new Error(`haier-sim exited:\n${sim.output()}`);
      return fetch(`${simUrl}/__sim/config`).then((r) => r.ok, () => false);
    }, { timeoutMs: 90_000, intervalMs: 250, what: 'the simulator' });

    const c = DEFAULT_CREDENTIALS;
    const gws = gwPorts.map((port, i) =>
      startProcess(topology.gateways > 1 ? `haier-gateway-${i + 1}` : 'haier-gateway', 'services/haier-gateway', {
        GATEWAY_PORT: String(port), HAIER_BASE_URL: simUrl, HAIER_RATE_LIMIT: String(RATE),
        HAIER_CLIENT_ID: c.clientId, HAIER_CLIENT_SECRET: c.clientSecret, HAIER_CUSTOMER_CODE: c.customerCode, HAIER_SEND_TO_CODE: c.sendToCode,
        HAIER_PASSWORD: c.passWord, HAIER_SELLER_PASSWORD: c.sellerPassword, HAIER_CUSTOMER_PASSWORD: c.customerPassword,
        // one gateway takes the whole budget; several share it through NATS KV
        ...(shared ? { NATS_URL: TEST_NATS_URL, HAIER_BUDGET_BUCKET: bucket } : { NATS_URL: '' }),
      }),
    );
    const cat = startProcess('catalog', 'services/catalog', { CATALOG_PORT: String(catPort), DATABASE_URL: db.url });
    procs.push(...gws, cat);
    await Promise.all([...gws.map((g, i) => waitServing(g, `http://127.0.0.1:${gwPorts[i]}`)), waitServing(cat, `http://127.0.0.1:${catPort}`)]);
    let gatewayUrl = `http://127.0.0.1:${gwPorts[0]}`;
    if (shared) {
      const rr = await roundRobin(gwPorts);
      proxy = rr.server;
      gatewayUrl = `http://127.0.0.1:${rr.port}`;
      await new Promise((r) => setTimeout(r, 2000)); // the gateways have seen each other and settled their shares
    }
    const orchs = syncPorts.map((port, i) =>
      startProcess(topology.orchestrators > 1 ? `sync-orchestrator-${i + 1}` : 'sync-orchestrator', 'services/sync-orchestrator', {
        SYNC_PORT: String(port), DATABASE_URL: db.url, NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix,
        GATEWAY_URL: gatewayUrl, CATALOG_URL: `http://127.0.0.1:${catPort}`,
        SYNC_SCHEDULER_ENABLED: 'false', SYNC_FIRST_DEPLOY: 'false',
      }),
    );
    procs.push(...orchs);
    await Promise.all(orchs.map((o, i) => waitServing(o, `http://127.0.0.1:${syncPorts[i]}`)));
    await pg.connect();
    const client = testClient(sync.SyncService, `http://127.0.0.1:${syncPorts[0]}`, { timeoutMs: 60_000 });

    // --- full sync
    await fetch(`${simUrl}/__sim/stats/reset`, { method: 'POST' });
    process.stderr.write('full sync…\n');
    const cpu0 = cpuOf(procs);
    const load0 = (await import('node:os')).loadavg()[0];
    const full = await runToEnd(client, { mode: sync.RunMode.FULL, options: { prices: true } });
    const fullStats = await simStats(simUrl);
    const cpu1 = cpuOf(procs);
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
        timeoutMs: 600_000, intervalMs: 1000, what: `${changesAfterFull} catalog events in ${streams.catalog}`,
      });
    } catch (e) {
      process.stderr.write(`  ${String(e)}\n`);
    }
    const publishLagMs = performance.now() - publishT0;
    await new Promise((r) => setTimeout(r, 3000)); // lifecycle events settle
    const cpuAfterPublish = cpuOf(procs);
    const syncEventsBefore = await streamMessages(nc, streams.sync);
    catalogEventsAfterFull = await streamMessages(nc, streams.catalog);

    const num = (v: bigint | undefined) => Number(v ?? 0n);
    let unchangedIncremental: Record<string, unknown> | undefined;
    if (topology.incremental) {
      // --- unchanged incremental re-run
      await fetch(`${simUrl}/__sim/stats/reset`, { method: 'POST' });
      process.stderr.write('unchanged incremental re-run…\n');
      const incr = await runToEnd(client, { mode: sync.RunMode.INCREMENTAL });
      const incrStats = await simStats(simUrl);
      const cpu2 = cpuOf(procs);
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
      };
    }

    const rss = Object.fromEntries(procs.map((p) => [p.name, peakRss(p.child.pid)]));
    figures = {
      products: PRODUCTS,
      rateLimit: RATE,
      rateLimitMode: 'sliding',
      latencyMs: LATENCY_MS,
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
        loadAverage1mAtStartAndEnd: [load0, load1],
      },
      ...(unchangedIncremental ? { unchangedIncremental } : {}),
      peakRssMB: Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, Math.round((v / MB) * 10) / 10])),
      machine: { cpus: (await import('node:os')).cpus().length, loadavg: (await import('node:os')).loadavg() },
    };
  } finally {
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

function report(figures: Record<string, unknown>, sharedFigures: Record<string, unknown> | undefined): void {
  const f = figures as {
    full: { cpuSecondsDuringRun: Record<string, number>; loadAverage1mAtStartAndEnd: number[]; status: string; wallSeconds: number; ceilingSeconds: number; wallOverCeiling: number; callsNeeded: number; simCalls: number; simThrottled: number; simMaxObservedRps: number; runCounts: { total: number; failed: number }; changeLogRows: number; catalogEventsPublished: number; publishCatchUpAfterRunSeconds: number };
    unchangedIncremental: { cpuSecondsDuringRun: Record<string, number>; status: string; wallSeconds: number; simCalls: number; simThrottled: number; catalogWrites: number; catalogEvents: number; runLifecycleEvents: number };
    peakRssMB: Record<string, number>;
  };
  const ok = (b: boolean) => (b ? 'ok  ' : 'MISS');
  const lines = [
    `Full sync of ${PRODUCTS} products + prices at ${RATE} calls/s, ${LATENCY_MS} ms latency (simulator, gateway, catalog, orchestrator: one process each)`,
    `  run ${f.full.status}: ${f.full.runCounts.total} products, ${f.full.runCounts.failed} failed`,
    `  ${ok(f.full.wallOverCeiling <= 1.1)} wall ${f.full.wallSeconds.toFixed(1)} s ÷ ceiling ${f.full.ceilingSeconds.toFixed(1)} s (${f.full.callsNeeded} calls needed ÷ ${RATE}/s) = ${f.full.wallOverCeiling.toFixed(3)}   (target ≤ 1.1)`,
    `       calls made ${f.full.simCalls}, busiest second ${f.full.simMaxObservedRps} calls; load average ${f.full.loadAverage1mAtStartAndEnd.map((l) => l.toFixed(1)).join(' -> ')} on ${(figures as { machine: { cpus: number } }).machine.cpus} cores`,
    `       CPU seconds used during the run: ${Object.entries(f.full.cpuSecondsDuringRun).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  ${ok(f.full.simThrottled === 0)} throttled answers at the simulator: ${f.full.simThrottled}   (target 0; it counts strictly: any sliding second, at arrival)`,
    `  ${ok(f.full.simMaxObservedRps <= RATE)} busiest sliding second at the simulator: ${f.full.simMaxObservedRps} calls   (target ≤ ${RATE})`,
    ...Object.entries(f.peakRssMB).map(([k, v]) => `  ${ok(v < 300)} peak RSS ${k}: ${v} MB   (target < 300 MB)`),
    `       change log ${f.full.changeLogRows} rows; CATALOG stream ${f.full.catalogEventsPublished} events (caught up ${f.full.publishCatchUpAfterRunSeconds.toFixed(1)} s after the run)`,
    `Unchanged incremental re-run: ${f.unchangedIncremental.status} in ${f.unchangedIncremental.wallSeconds.toFixed(1)} s, ${f.unchangedIncremental.simCalls} calls, ${f.unchangedIncremental.simThrottled} throttled`,
    `       CPU seconds used during the re-run: ${Object.entries(f.unchangedIncremental.cpuSecondsDuringRun).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `  ${ok(f.unchangedIncremental.catalogWrites === 0)} catalog writes (change-log rows): ${f.unchangedIncremental.catalogWrites}   (target 0)`,
    `  ${ok(f.unchangedIncremental.catalogEvents === 0)} catalog events: ${f.unchangedIncremental.catalogEvents}   (target 0; run lifecycle events on SYNC: ${f.unchangedIncremental.runLifecycleEvents})`,
  ];
  let sharedOut: Record<string, unknown> | undefined;
  if (sharedFigures) {
    const g = sharedFigures as unknown as typeof f & { topology: { gateways: number; orchestrators: number } };
    const ratio = g.full.wallSeconds / f.full.wallSeconds;
    sharedOut = { ...sharedFigures, wallOverSingle: ratio };
    lines.push(
      `Scaled out: the same full sync with ${g.topology.gateways} gateways sharing the budget (NATS KV) and ${g.topology.orchestrators} orchestrators, on a fresh database`,
      `  run ${g.full.status}: ${g.full.runCounts.total} products, ${g.full.runCounts.failed} failed`,
      `  ${ok(ratio <= 1.05)} wall ${g.full.wallSeconds.toFixed(1)} s ÷ single-process ${f.full.wallSeconds.toFixed(1)} s = ${ratio.toFixed(3)}   (target ≤ 1.05: sharing costs nothing)`,
      `  ${ok(g.full.simThrottled === 0)} throttled answers at the simulator: ${g.full.simThrottled}   (target 0)`,
      `  ${ok(g.full.simMaxObservedRps <= RATE)} busiest sliding second at the simulator: ${g.full.simMaxObservedRps} calls   (target ≤ ${RATE})`,
      `       CPU seconds used during the run: ${Object.entries(g.full.cpuSecondsDuringRun).map(([k, v]) => `${k} ${v}`).join(', ')}`,
      ...Object.entries(g.peakRssMB).map(([k, v]) => `  ${ok(v < 300)} peak RSS ${k}: ${v} MB   (target < 300 MB)`),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sync-orchestrator-full-sync-figures.json'), JSON.stringify({ at: new Date().toISOString(), ...figures, ...(sharedOut ? { scaledOut: sharedOut } : {}) }, null, 2));
}

main().catch((e: unknown) => {
  process.stderr.write(`full-sync bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
