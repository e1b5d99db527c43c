// Prometheus metrics of the edge (one registry per app, so several apps can live in one process):
// the runtime's registry (Node defaults, `service` label), REST requests by route template and
// status, and the database pool; the clients' RPC RED metrics are added by createClients.
import { Counter, createMetricsRegistry, Histogram, type Registry } from '@haier-sync/runtime';
import { ormPoolMetrics } from '@haier-sync/runtime/orm';
import type { MikroORM } from '@mikro-orm/postgresql';

export interface EdgeMetrics {
  registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createMetrics(orm?: MikroORM): EdgeMetrics {
  const registry = createMetricsRegistry('http-edge');
  if (orm) ormPoolMetrics(registry, orm);
  const requests = new Counter({
    name: 'edge_http_requests_total',
    help: 'REST requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'edge_http_request_duration_seconds',
    help: 'REST request duration, by method and route template',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return {
    registry,
    observe(method, route, status, seconds) {
      requests.inc({ method, route, status: String(status) });
      duration.observe({ method, route }, seconds);
    },
  };
}
