// GetPrices for 20,000 codes through the gateway, with the simulator as Haier at its real
// limit (100 calls/s) and 50 ms latency per call.
//
// The gateway runs as its own process, started as deployed from source
// (`node --conditions=source --import tsx services/haier-gateway/src/main.ts`), so its memory is
// its own: peak RSS is read from /proc/<pid>/status (VmHWM; VmRSS sampled every 100 ms). The
// bench process plays the simulator and a client that splits the codes into requests of
// BENCH_REQUEST_CODES (default 500) with BENCH_IN_FLIGHT (default 8) requests in flight.
//
// Reports: upstream calls/s achieved as a share of what the gate allows (target >= 95%): the
// limit less the 5% margin, each call holding its place for its round trip more than a second
// (README, "The call budget"); also as a share of the limit; throttled answers at the simulator,
// which counts strictly (any sliding second, at arrival; target 0), its busiest second (target
// <= the limit); the gateway's peak RSS. Writes
// bench-results/haier-gateway-prices-figures.json (from the repo root).
//
//   node --conditions=source --import tsx services/haier-gateway/bench/prices.bench.ts
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gateway, health } from '@haier-sync/contracts';
import { startSimulator } from '@haier-sync/haier-sim';
import { closeGrpcClients, createGrpcClient } from '@haier-sync/runtime';
import { freePort, testAuth, testClient, waitFor } from '@haier-sync/runtime/testing';
import { usable } from '../src/budget';
import { SIMULATOR_ACCOUNT } from '../src/config';

const CODES = Number(process.env.BENCH_CODES ?? 20_000);
const LIMIT = Number(process.env.BENCH_RATE_LIMIT ?? 100);
const LATENCY_MS = Number(process.env.BENCH_LATENCY_MS ?? 50);
const REQUEST_CODES = Number(process.env.BENCH_REQUEST_CODES ?? 500);
const IN_FLIGHT = Number(process.env.BENCH_IN_FLIGHT ?? 8);
const REPO = join(__dirname, '..', '..', '..');

function procStatus(pid: number): { rssKb: number; hwmKb: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
    return { rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** CPU seconds a process has used (user + system), from /proc/<pid>/stat (clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime
  } catch {
    return NaN;
  }
}

const mb = (kb: number) => Math.round((kb / 1024) * 10) / 10;

async function main(): Promise<void> {
  const sim = await startSimulator({ quiet: true, size: CODES, rateLimit: LIMIT, rateLimitMode: 'sliding', latencyMs: LATENCY_MS });
  const port = await freePort();
  // BENCH_GATEWAY_NODE_OPTIONS adds node flags to the gateway (e.g. --cpu-prof --cpu-prof-dir=/tmp/prof)
  const logPath = join(tmpdir(), `haier-gateway-bench-${process.pid}.log`);
  const logFd = openSync(logPath, 'w');
  const extraFlags = (process.env.BENCH_GATEWAY_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...extraFlags, '--conditions=source', '--import', 'tsx', join(REPO, 'services/haier-gateway/src/main.ts')], {
    cwd: REPO,
    env: {
      ...process.env,
      ...testAuth().env(),
      ...SIMULATOR_ACCOUNT,
      HAIER_BASE_URL: sim.url,
      HAIER_RATE_LIMIT: String(LIMIT),
      GATEWAY_PORT: String(port),
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info', // as deployed: one line per upstream call
      OTEL_SDK_DISABLED: 'true',
    },
    // The log goes to a file, as to a log collector that keeps up: a pipe read by this busy
    // process would block the gateway's (synchronous) log writes and measure us, not it.
    stdio: ['ignore', logFd, 'pipe'],
  });
  closeSync(logFd);
  /** Durations of the upstream calls the gateway logged after byte `from` of its log. */
  const upstreamDurations = (from: number): number[] => {
    const out: number[] = [];
    for (const line of readFileSync(logPath, 'utf8').slice(from).split('\n')) {
      if (!line.includes('"upstream":"prices"')) continue;
      try {
        const rec = JSON.parse(line) as { durationMs?: number };
        if (typeof rec.durationMs === 'number') out.push(rec.durationMs);
      } catch {
        // not a JSON line
      }
    }
    return out;
  };
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const pid = child.pid!;

  let peakRssKb = 0;
  const samples: number[] = [];
  const sampler = setInterval(() => {
    const s = procStatus(pid);
    if (s && Number.isFinite(s.rssKb)) {
      samples.push(s.rssKb);
      peakRssKb = Math.max(peakRssKb, s.rssKb);
    }
  }, 100);

  const baseUrl = `http://127.0.0.1:${port}`;
  const h = createGrpcClient(health.Health, { baseUrl, timeoutMs: 2000 });
  const client = testClient(gateway.HaierGatewayService, baseUrl, { timeoutMs: 300_000 }); // signs as the orchestrator, as deployed
  try {
    await waitFor(async () => (await h.check({})).status === health.HealthCheckResponse_ServingStatus.SERVING, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: `the gateway (pid ${pid}) to report SERVING${stderr ? `; stderr: ${stderr.slice(-500)}` : ''}`,
    });
    const idle = procStatus(pid);
    // warm: the token is held (health fetched it); one small call opens the connections
    await client.getPrices({ productCodes: sim.control.products(0, 1).map((p) => p.productCode) });
    await new Promise((r) => setTimeout(r, 1100)); // let the simulator's bucket refill
    sim.control.resetStats();
    const logFrom = statSync(logPath).size;

    const codes = sim.control.products(0, CODES).map((p) => p.productCode);
    const requests: string[][] = [];
    for (let i = 0; i < codes.length; i += REQUEST_CODES) requests.push(codes.slice(i, i + REQUEST_CODES));
    let next = 0;
    let prices = 0;
    let itemErrors = 0;
    let failedRequests = 0;
    const latencies: number[] = [];
    const t0 = performance.now();
    const gwCpu0 = cpuSeconds(pid);
    const benchCpu0 = process.cpuUsage();
    const load0 = loadavg()[0]!;
    await Promise.all(
      Array.from({ length: Math.min(IN_FLIGHT, requests.length) }, async () => {
        for (;;) {
          const i = next++;
          if (i >= requests.length) return;
          const started = performance.now();
          try {
            const r = await client.getPrices({ productCodes: requests[i]! });
            prices += r.prices.length;
            itemErrors += r.errors.length;
          } catch (err) {
            failedRequests++;
            console.error(`request ${i} failed: ${String(err)}`);
          }
          latencies.push(performance.now() - started);
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const gatewayCpu = cpuSeconds(pid) - gwCpu0;
    const bc = process.cpuUsage(benchCpu0);
    const benchCpu = (bc.user + bc.system) / 1e6;
    const load1 = loadavg()[0]!;
    const stats = sim.control.stats();
    const usage = await client.getUsage({});
    const end = procStatus(pid);
    const upstreamCalls = stats.total;
    const callsPerSecond = upstreamCalls / seconds;
    await new Promise((r) => setTimeout(r, 200)); // the last log lines
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0);
    const upstreamMs = upstreamDurations(logFrom).sort((a, b) => a - b);
    const upct = (p: number) => upstreamMs[Math.min(upstreamMs.length - 1, Math.floor(p * upstreamMs.length))] ?? 0;
    let cpuPressure: string | undefined;
    try {
      cpuPressure = /avg10=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'))?.[1];
    } catch {
      cpuPressure = undefined;
    }

    const allowed = (usable(LIMIT, 5) * 1000) / (1000 + upct(0.5));
    const figures = {
      bench: 'haier-gateway-prices',
      at: new Date().toISOString(),
      setup: { codes: CODES, rateLimit: LIMIT, latencyMs: LATENCY_MS, requestCodes: REQUEST_CODES, inFlight: IN_FLIGHT, gateway: 'separate process (node --conditions=source --import tsx src/main.ts)' },
      seconds: Math.round(seconds * 100) / 100,
      upstreamCalls,
      expectedCalls: Math.ceil(CODES / 20),
      callsPerSecond: Math.round(callsPerSecond * 10) / 10,
      shareOfLimit: Math.round((callsPerSecond / LIMIT) * 1000) / 1000,
      allowedCallsPerSecond: Math.round(allowed * 10) / 10,
      shareOfAllowed: Math.round((callsPerSecond / allowed) * 1000) / 1000,
      throttled: stats.throttled,
      maxObservedRps: stats.maxObservedRps,
      gatewayRetries: Number(usage.retries),
      prices,
      itemErrors,
      failedRequests,
      upstreamCallMs: { logged: upstreamMs.length, p50: upct(0.5), p95: upct(0.95), max: upstreamMs[upstreamMs.length - 1] ?? 0 },
      requestMs: { p50: pct(0.5), p95: pct(0.95), max: Math.round(latencies[latencies.length - 1] ?? 0) },
      gatewayRssMb: { idle: idle ? mb(idle.rssKb) : null, peakSampled: mb(peakRssKb), peakVmHWM: end ? mb(end.hwmKb) : null, end: end ? mb(end.rssKb) : null },
      cpu: {
        gatewaySeconds: Math.round(gatewayCpu * 100) / 100,
        gatewayMsPerUpstreamCall: Math.round((gatewayCpu * 1000 * 100) / Math.max(1, upstreamCalls)) / 100,
        benchProcessSeconds: Math.round(benchCpu * 100) / 100, // simulator + client
        machineCores: cpus().length,
        cpuPressureSomeAvg10: cpuPressure === undefined ? null : Number(cpuPressure), // % of time some task waited for a CPU
        // what one core could carry at this cost per call (the limit needs LIMIT calls/s)
        callsPerCoreSecond: gatewayCpu > 0 ? Math.round(upstreamCalls / gatewayCpu) : null,
        loadAverage1m: { before: Math.round(load0 * 10) / 10, after: Math.round(load1 * 10) / 10 },
      },
      targets: { shareOfAllowed: '>= 0.95', throttled: 0, maxObservedRps: `<= ${LIMIT}` },
      met: callsPerSecond / allowed >= 0.95 && stats.throttled === 0 && stats.maxObservedRps <= LIMIT && failedRequests === 0,
    };

    console.log(
      [
        `haier-gateway GetPrices bench: ${CODES} codes in ${requests.length} requests of ${REQUEST_CODES} (${IN_FLIGHT} in flight); simulator at ${LIMIT} calls/s, ${LATENCY_MS} ms latency`,
        `  upstream calls     ${upstreamCalls} (expected ${figures.expectedCalls}) in ${figures.seconds} s`,
        `  achieved           ${figures.callsPerSecond} calls/s = ${(figures.shareOfAllowed * 100).toFixed(1)}% of the ${figures.allowedCallsPerSecond}/s the gate allows (target >= 95%), ${(figures.shareOfLimit * 100).toFixed(1)}% of the limit`,
        `  throttled (429)    ${stats.throttled} (target 0, strict simulator); busiest sliding second at the simulator ${stats.maxObservedRps} (target <= ${LIMIT}); gateway retries ${figures.gatewayRetries}`,
        `  upstream call      p50 ${figures.upstreamCallMs.p50} ms, p95 ${figures.upstreamCallMs.p95} ms (simulated latency ${LATENCY_MS} ms; ${upstreamMs.length} logged by the gateway)`,
        `  answers            ${prices} prices, ${itemErrors} item errors, ${failedRequests} failed requests; request p50 ${figures.requestMs.p50} ms, p95 ${figures.requestMs.p95} ms`,
        `  CPU                gateway ${figures.cpu.gatewaySeconds} s (${figures.cpu.gatewayMsPerUpstreamCall} ms per upstream call, i.e. ~${figures.cpu.callsPerCoreSecond} calls/s per core), simulator+client ${figures.cpu.benchProcessSeconds} s; machine: ${figures.cpu.machineCores} cores, load ${figures.cpu.loadAverage1m.before} -> ${figures.cpu.loadAverage1m.after}, CPU pressure ${figures.cpu.cpuPressureSomeAvg10 ?? '?'}%`,
        `  gateway RSS        idle ${figures.gatewayRssMb.idle} MB, peak ${figures.gatewayRssMb.peakVmHWM} MB (VmHWM), end ${figures.gatewayRssMb.end} MB`,
        `  targets ${figures.met ? 'MET' : 'NOT MET'}`,
      ].join('\n'),
    );
    const dir = join(REPO, 'bench-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'haier-gateway-prices-figures.json'), JSON.stringify({ ...figures, rssSamplesKb: samples.length }, null, 2));
  } finally {
    clearInterval(sampler);
    closeGrpcClients();
    child.kill('SIGTERM');
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 15_000))]);
    if (code === 'timeout') {
      console.error('the gateway did not stop within 15 s of SIGTERM; killing it');
      child.kill('SIGKILL');
    }
    await sim.close();
    rmSync(logPath, { force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
