// What the orchestrator's benches share: the services as deployed processes, their peak RSS and
// CPU time, readiness, and the simulator's counts.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { health, sync } from '@haier-sync/contracts';
import { createGrpcClient } from '@haier-sync/runtime';
import { deployedService, testAuth, waitFor } from '@haier-sync/runtime/testing';

export const ROOT = resolve(__dirname, '..', '..', '..');

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

/** Starts a built service as deployed (deploy/Dockerfile, scripts/start.mjs): `node [--require telemetry] dist/main.js` in its directory. */
export function startProcess(name: string, dir: string, env: Record<string, string>): Proc {
  // service authentication: the trusted keys, and the orchestrator its own key
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'warn', ...testAuth().env(name.startsWith('sync-orchestrator') ? 'sync-orchestrator' : undefined), ...env };
  delete childEnv['NODE_OPTIONS'];
  const { args, cwd } = deployedService(ROOT, dir, (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean));
  const child = spawn(process.execPath, args, { cwd, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return { name, child, output: () => out, exited };
}

/** Peak resident set (VmHWM) of a live process, in bytes. */
export function peakRss(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : Number.NaN;
}

/** CPU time of a live process (proc-cpu.ts, the one reader of /proc/<pid>/stat). */
export { cpuSeconds } from './proc-cpu';

/** With BENCH_LOGS_DIR set, each process's output (its last 100-200 kB) is written there, to <name>.<pid>.log, once it has stopped (its shutdown lines included). */
function keepLog(p: Proc): void {
  const dir = process.env.BENCH_LOGS_DIR;
  if (dir) writeFileSync(resolve(dir, `${p.name}.${p.child.pid}.log`), p.output());
}

export async function stop(p: Proc): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill('SIGTERM');
    const t = setTimeout(() => p.child.kill('SIGKILL'), 15_000);
    await p.exited;
    clearTimeout(t);
  }
  keepLog(p);
}

export async function waitServing(p: Proc, url: string): Promise<void> {
  const h = createGrpcClient(health.Health, { baseUrl: url, timeoutMs: 2000 });
  await waitFor(
    async () => {
      if (p.child.exitCode !== null) throw new Error(`${p.name} exited at start:\n${p.output().slice(-3000)}`);
      try {
        return (await h.check({ service: '' })).status === health.HealthCheckResponse_ServingStatus.SERVING;
      } catch {
        return false;
      }
    },
    { timeoutMs: 90_000, intervalMs: 250, what: `${p.name} to serve at ${url}` },
  );
}

export async function simStats(simUrl: string): Promise<{ total: number; throttled: number; tokenRequests: number; maxObservedRps: number; byEndpoint: Record<string, Record<string, number>> }> {
  const r = await fetch(`${simUrl}/__sim/stats`);
  return (await r.json()) as never;
}

const FINAL = new Set([sync.RunStatus.SUCCESS, sync.RunStatus.FAILED, sync.RunStatus.PARTIAL, sync.RunStatus.CANCELLED]);

/** Starts a run and follows WatchRun to its end; answers the final run and the wall time. */
export async function runToEnd(client: Client<typeof sync.SyncService>, req: MessageInitShape<typeof sync.StartRunRequestSchema>): Promise<{ run: sync.Run; wallMs: number }> {
  const t0 = performance.now();
  const res = await client.startRun({ trigger: sync.RunTrigger.MANUAL, startedBy: 'bench', ...req });
  const id = res.run!.id;
  let last = res.run!;
  let lastPrint = 0;
  for (;;) {
    try {
      for await (const m of client.watchRun({ id })) {
        if (!m.run) continue;
        last = m.run;
        if (Date.now() - lastPrint > 10_000) {
          lastPrint = Date.now();
          const c = last.counts;
          process.stderr.write(`  … ${((performance.now() - t0) / 1000).toFixed(0)} s: batches ${c?.batchesDone}/${c?.batchesTotal}, ${c?.total} products, ${c?.upstreamCalls} calls\n`);
        }
        if (FINAL.has(m.run.status)) {
          if (m.run.status !== sync.RunStatus.SUCCESS) process.stderr.write(`  run ${sync.RunStatus[m.run.status]}: ${m.run.message}\n`);
          return { run: m.run, wallMs: performance.now() - t0 };
        }
      }
    } catch (e) {
      process.stderr.write(`  (watch stream broke: ${String(e)}; polling)\n`);
    }
    const g = await client.getRun({ id });
    if (g.run && FINAL.has(g.run.status)) return { run: g.run, wallMs: performance.now() - t0 };
    await new Promise((r) => setTimeout(r, 500));
  }
}

