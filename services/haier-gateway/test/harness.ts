// Test harness: the simulator in-process as Haier, the gateway behind a real gRPC server on
// port 0, and a Connect client over loopback.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@connectrpc/connect';
import { gateway } from '@haier-sync/contracts';
import { startSimulator, type SimHandle, type SimOptions } from '@haier-sync/haier-sim';
import { createGrpcClient, createLogger, startGrpcServer, type GrpcServer, type Logger, type Registry } from '@haier-sync/runtime';
import { captureLogs } from '@haier-sync/runtime/testing';
import { loadGatewayConfig, SIMULATOR_ACCOUNT, type GatewayConfig } from '../src/config';
import { buildGateway, type Gateway } from '../src/gateway';


export interface StackOptions {
  sim?: SimOptions;
  env?: Record<string, string>;
  backoff?: { initialDelayMs?: number; maxDelayMs?: number };
  /** Log level of the captured logs (default debug). */
  logLevel?: string;
  /** The gateway's metrics registry (default none). */
  metrics?: Registry;
}

export interface GatewayUnderTest {
  gw: Gateway;
  server: GrpcServer;
  client: Client<typeof gateway.HaierGatewayService>;
  config: GatewayConfig;
  logs: ReturnType<typeof captureLogs>;
  logger: Logger;
  close(): Promise<void>;
}

/** The gateway in front of its own simulator. */
export interface Stack extends GatewayUnderTest {
  sim: SimHandle;
}

/** The gateway for an upstream at `baseUrl` (simulator account unless `env` says otherwise), behind a real gRPC server on port 0. */
export async function startGateway(
  baseUrl: string,
  env: Record<string, string> = {},
  backoff?: StackOptions['backoff'],
  extra: Pick<StackOptions, 'logLevel' | 'metrics'> = {},
): Promise<GatewayUnderTest> {
  const config = loadGatewayConfig({
    HAIER_BASE_URL: baseUrl,
    ...SIMULATOR_ACCOUNT,
    HAIER_TIMEOUT_MS: '5000',
    // mirrored images go to a directory of this test run, never the repo's .data/
    IMAGE_STORE_DIR: mkdtempSync(join(tmpdir(), 'gateway-images-')),
    ...env,
  });
  const logs = captureLogs();
  const logger = createLogger('haier-gateway', { destination: logs.stream, level: extra.logLevel ?? 'debug' });
  // a config test reads the variables it names from the same environment the config came from
  const gw = buildGateway(config, logger, { backoff: backoff ?? { initialDelayMs: 20, maxDelayMs: 200 }, readinessCacheMs: 0, env: { ...SIMULATOR_ACCOUNT, ...env }, metrics: extra.metrics });
  const server = await startGrpcServer({
    service: 'haier-gateway',
    port: 0,
    host: '127.0.0.1',
    routes: (r) => gw.routes(r),
    readiness: () => gw.readiness(),
    errors: gw.errors,
    logger,
    metrics: extra.metrics,
  });
  const client = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url, timeoutMs: 60_000 });
  return {
    gw,
    server,
    client,
    config,
    logs,
    logger,
    async close() {
      await server.close(1000);
      await gw.close();
    },
  };
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const sim = await startSimulator({ quiet: true, ...opts.sim });
  const g = await startGateway(sim.url, opts.env, opts.backoff, opts);
  return {
    ...g,
    sim,
    async close() {
      await g.close();
      await sim.close();
    },
  };
}

/** The ConnectError a call failed with (runtime/testing's). */
export { rpcFailure } from '@haier-sync/runtime/testing';

/** Business calls the simulator saw for an endpoint (all outcomes). */
export function simCalls(sim: SimHandle, endpoint: string, outcome?: string): number {
  const by = sim.control.stats().byEndpoint[endpoint] ?? {};
  return outcome ? (by[outcome] ?? 0) : Object.values(by).reduce((a, b) => a + b, 0);
}
