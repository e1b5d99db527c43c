// /healthz (the process is alive), /readyz (every dependency answers; the details, which name
// internal addresses, only for a caller with a valid API key), /metrics (Prometheus text: behind
// an API key here, or without one on its own port, EDGE_METRICS_PORT).
import { health } from '@haier-sync/contracts';
import { createGrpcClient, redact } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { EdgeContext } from '../context';
import type { EdgeMetrics } from '../metrics';
import { errors } from '../schemas';

const checkSchema = {
  type: 'object',
  properties: {
    status: { type: 'string' },
    checks: {
      type: 'object',
      additionalProperties: { type: 'object', properties: { ok: { type: 'boolean' }, detail: { type: 'string' } } },
    },
  },
} as const;

/** GET /metrics on `app`; `role` set: only for a key with that role. */
export function metricsRoute(app: FastifyInstance, metrics: EdgeMetrics, role?: 'viewer'): void {
  app.get(
    '/metrics',
    {
      config: role ? { role } : {},
      schema: { tags: ['ops'], operationId: 'getMetrics', summary: role ? 'Prometheus metrics (any API key; without a key on EDGE_METRICS_PORT when that is set)' : 'Prometheus metrics', hide: false, response: { 200: { description: 'Prometheus text exposition', content: { 'text/plain': { schema: { type: 'string' } } } }, ...(role ? errors : {}) } },
    },
    async (_req, reply) => {
      const text = await metrics.registry.metrics();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );
}

/** A readiness detail fit for a caller without a key: what state, never where or why. */
function publicDetail(c: { ok: boolean; detail: string }): string {
  if (c.ok) return c.detail === 'reachable' ? 'reachable' : 'serving';
  return c.detail.startsWith('not serving') ? 'not serving' : 'unreachable';
}

export function opsRoutes(app: FastifyInstance, ctx: EdgeContext, deps: { orm: MikroORM; metrics: EdgeMetrics }): void {
  const { config } = app.edge;
  const targets = { gateway: config.gatewayUrl, catalog: config.catalogUrl, sync: config.syncUrl };
  const healthClients = Object.fromEntries(
    Object.entries(targets).map(([name, url]) => [name, createGrpcClient(health.Health, { baseUrl: url, timeoutMs: 2000 })]),
  );

  app.get('/healthz', { schema: { tags: ['ops'], operationId: 'getHealth', summary: 'Liveness: the edge process answers', response: { 200: checkSchema, ...errors } } }, async () => ({ status: 'ok', checks: {} }));

  app.get(
    '/readyz',
    { schema: { tags: ['ops'], operationId: 'getReadiness', summary: 'Readiness: Postgres and the gateway, catalog and sync services all answer (with an API key: the details, addresses included)', response: { 200: checkSchema, 503: checkSchema, ...errors } } },
    async (req, reply) => {
      // a key that does not authenticate (or none) gets the short answer; the failure is counted
      const caller = await ctx.auth.authenticate(req).catch(() => null);
      const checks: Record<string, { ok: boolean; detail: string }> = {};
      const grpc = Object.entries(healthClients).map(async ([name, c]) => {
        try {
          const r = await c.check({ service: '' }, { timeoutMs: 2000 });
          const ok = r.status === health.HealthCheckResponse_ServingStatus.SERVING;
          checks[name] = { ok, detail: ok ? 'serving' : `not serving (${health.HealthCheckResponse_ServingStatus[r.status]})` };
        } catch (e) {
          checks[name] = { ok: false, detail: redact(`unreachable at ${targets[name as keyof typeof targets]}: ${(e as Error).message}`) };
        }
      });
      const pg = (async () => {
        try {
          await deps.orm.em.getConnection().execute('select 1');
          checks.postgres = { ok: true, detail: 'reachable' };
        } catch (e) {
          checks.postgres = { ok: false, detail: redact(`unreachable: ${(e as Error).message}`) };
        }
      })();
      await Promise.all([...grpc, pg]);
      const ready = Object.values(checks).every((c) => c.ok);
      const shown = caller ? checks : Object.fromEntries(Object.entries(checks).map(([k, c]) => [k, { ok: c.ok, detail: publicDetail(c) }]));
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks: shown });
    },
  );

  if (config.metricsPort === undefined) metricsRoute(app, deps.metrics, 'viewer');
}
