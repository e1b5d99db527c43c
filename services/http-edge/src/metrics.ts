// Prometheus metrics of the edge (one registry per app, so several apps can live in one process).
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

export interface EdgeMetrics {
  registry: Registry;
  observe(method: string, route: string, status: number, seconds: number): void;
}

export function createMetrics(): EdgeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'http-edge' });
  collectDefaultMetrics({ register: registry });
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
