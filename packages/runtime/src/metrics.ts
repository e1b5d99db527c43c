// Prometheus metrics shared by every service: one registry per service (Node defaults plus a
// `service` label), RED per RPC through a Connect interceptor, and a small HTTP listener that
// answers GET /metrics on `<SERVICE>_METRICS_PORT`.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Interceptor } from '@connectrpc/connect';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from './logger';
import { observeOutcome } from './rpc-outcome';
import { rpcName } from './rpc-tracing';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** A registry with Node's default metrics, every series labelled with `service`. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

const RPC_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** RED per RPC: `rpc_<kind>_requests_total{method,code}` and `rpc_<kind>_duration_seconds{method}`. */
export function rpcMetricsInterceptor(registry: Registry, kind: 'server' | 'client' = 'server'): Interceptor {
  const name = `rpc_${kind}_requests_total`;
  const requests =
    (registry.getSingleMetric(name) as Counter<'method' | 'code'> | undefined) ??
    new Counter({ name, help: `RPCs ${kind === 'server' ? 'answered' : 'made'}, by method and gRPC code`, labelNames: ['method', 'code'] as const, registers: [registry] });
  const hname = `rpc_${kind}_duration_seconds`;
  const duration =
    (registry.getSingleMetric(hname) as Histogram<'method'> | undefined) ??
    new Histogram({ name: hname, help: `RPC duration (${kind} side), by method`, labelNames: ['method'] as const, buckets: RPC_BUCKETS, registers: [registry] });
  return observeOutcome((req) => {
    const method = rpcName(req);
    const end = duration.startTimer({ method });
    return (code) => {
      end();
      requests.inc({ method, code });
    };
  });
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Answers GET /metrics with the registry in Prometheus text format; 0 = an ephemeral port. */
export async function startMetricsServer(registry: Registry, port: number, host = '0.0.0.0'): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Only GET /metrics is served on this port\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`metrics port ${port} on ${host} is already in use; set a different <SERVICE>_METRICS_PORT`) : err),
    );
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Serves the registry on `port` (a service's `<SERVICE>_METRICS_PORT`) and says so in the log;
 * `undefined` (the variable unset) serves nothing. The caller closes it at shutdown.
 */
export async function serveMetrics(registry: Registry, port: number | undefined, logger: Logger, host = '0.0.0.0'): Promise<MetricsServer | undefined> {
  if (port === undefined) return undefined;
  const server = await startMetricsServer(registry, port, host);
  logger.info({ metricsPort: server.port }, `Prometheus metrics on http://${host}:${server.port}/metrics`);
  return server;
}

/**
 * A counter that follows a running total kept elsewhere (read at each scrape): for totals that
 * already exist as plain numbers (NATS connections, usage counters) without a second count on
 * their hot path. A total that goes down was started again from 0 (its source restarted): all of
 * the new value is added, so the counter never goes down.
 */
export function counterFrom(registry: Registry, name: string, help: string, read: () => number): Counter {
  let last = 0;
  return new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      const now = read();
      // a total below the last one was started again from 0: all of it is new
      const added = now >= last ? now - last : now;
      if (added > 0) this.inc(added);
      last = now;
    },
  });
}

/** One value, or one value per label set. */
export type GaugeReading<L extends string> = number | Array<{ labels: Partial<Record<L, string>>; value: number }>;

/** A gauge read at each scrape (`read` answers its value, or one value per label set). */
export function gaugeFrom<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  read: () => GaugeReading<L> | Promise<GaugeReading<L>>,
  labelNames: readonly L[] = [],
): Gauge<L> {
  return new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      const v = await read();
      if (typeof v === 'number') {
        this.set(v);
        return;
      }
      this.reset();
      for (const s of v) this.set(s.labels as never, s.value);
    },
  });
}
