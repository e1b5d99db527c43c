// /healthz (the process is alive), /readyz (every dependency answers), /metrics (Prometheus text).
import { health } from '@haier-sync/contracts';
import { createGrpcClient, redact } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { FastifyInstance } from 'fastify';
import type { EdgeContext } from '../context';
import type { EdgeMetrics } from '../metrics';

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

export function opsRoutes(app: FastifyInstance, _ctx: EdgeContext, deps: { orm: MikroORM; metrics: EdgeMetrics }): void {
  const { config } = app.edge;
  const targets = { gateway: config.gatewayUrl, catalog: config.catalogUrl, sync: config.syncUrl };
  const healthClients = Object.fromEntries(
    Object.entries(targets).map(([name, url]) => [name, createGrpcClient(health.Health, { baseUrl: url, timeoutMs: 2000 })]),
  );

  app.get('/healthz', { schema: { tags: ['ops'], summary: 'Liveness: the edge process answers', response: { 200: checkSchema } } }, async () => ({ status: 'ok', checks: {} }));

  app.get(
    '/readyz',
    { schema: { tags: ['ops'], summary: 'Readiness: Postgres and the gateway, catalog and sync services all answer', response: { 200: checkSchema, 503: checkSchema } } },
    async (_req, reply) => {
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
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
    },
  );

  app.get('/metrics', { schema: { tags: ['ops'], summary: 'Prometheus metrics', hide: false } }, async (_req, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
}
