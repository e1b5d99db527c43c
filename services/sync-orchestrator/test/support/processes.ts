// Other services as real processes for this package's tests (a service never imports another
// service's code): the catalog (and the gateway) started from their own main.ts with tsx, on a
// free port, against a test database. Also a private nats-server for tests that stop NATS.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connect } from 'nats';
import { freePort, waitFor } from '@haier-sync/runtime/testing';
import { createGrpcClient } from '@haier-sync/runtime';
import type { Client } from '@connectrpc/connect';
import { catalog, gateway } from '@haier-sync/contracts';

const ROOT = resolve(__dirname, '../../../..');

export interface ServiceProcess {
  url: string;
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

async function startService(entry: string, env: Record<string, string>, ready: (url: string) => Promise<boolean>, timeoutMs = 60_000): Promise<ServiceProcess> {
  let out = '';
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', entry], {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  const port = Number(env.__PORT);
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}: ${out}`);
        return ready(url).catch(() => false);
      },
      { timeoutMs, intervalMs: 250, what: `${entry} to serve on ${url}` },
    );
  } catch (err) {
    await stop();
    throw new Error(`${String((err as Error).message)}\n--- output ---\n${out}`);
  }
  return { url, port, child, output: () => out, stop };
}

export interface CatalogProcess extends ServiceProcess {
  client: Client<typeof catalog.CatalogService>;
}

/** The catalog service (services/catalog/src/main.ts) on a free port against `databaseUrl`. */
export async function startCatalogProcess(databaseUrl: string, env: Record<string, string> = {}, atPort?: number): Promise<CatalogProcess> {
  const port = atPort ?? (await freePort());
  let client: Client<typeof catalog.CatalogService> | undefined;
  const proc = await startService(
    'services/catalog/src/main.ts',
    { DATABASE_URL: databaseUrl, CATALOG_PORT: String(port), __PORT: String(port), ...env },
    async (url) => {
      client ??= createGrpcClient(catalog.CatalogService, { baseUrl: url });
      await client.stats({}, { timeoutMs: 2_000 });
      return true;
    },
  );
  return { ...proc, client: client! };
}

export interface GatewayProcess extends ServiceProcess {
  client: Client<typeof gateway.HaierGatewayService>;
}

/** The haier-gateway (services/haier-gateway/src/main.ts) on a free port, talking to `haierBaseUrl`. */
export async function startGatewayProcess(haierBaseUrl: string, env: Record<string, string> = {}, atPort?: number): Promise<GatewayProcess> {
  const port = atPort ?? (await freePort());
  let client: Client<typeof gateway.HaierGatewayService> | undefined;
  const proc = await startService(
    'services/haier-gateway/src/main.ts',
    { HAIER_BASE_URL: haierBaseUrl, GATEWAY_PORT: String(port), __PORT: String(port), ...env },
    async (url) => {
      client ??= createGrpcClient(gateway.HaierGatewayService, { baseUrl: url });
      await client.getUsage({}, { timeoutMs: 2_000 });
      return true;
    },
  );
  return { ...proc, client: client! };
}

export interface NatsServerProcess {
  url: string;
  port: number;
  /** Stops the server (SIGTERM), keeping its store directory. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same store. */
  start(): Promise<void>;
  /** Stops it and removes its store. */
  destroy(): Promise<void>;
}

/** A private nats-server with JetStream on a free port and its own store (never the machine's). */
export async function startNatsServer(): Promise<NatsServerProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hs-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = '';
  const start = async (): Promise<void> => {
    child = spawn('/usr/sbin/nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
    child.stderr?.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-10_000)));
    await waitFor(
      async () => {
        if (child?.exitCode !== null) throw new Error(`nats-server exited: ${log}`);
        const nc = await connect({ servers: url, reconnect: false, timeout: 1_000 });
        try {
          await (await nc.jetstreamManager()).getAccountInfo();
        } finally {
          await nc.close();
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: `nats-server on ${url}` },
    );
  };
  const stop = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };
  await start();
  return {
    url,
    port,
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
