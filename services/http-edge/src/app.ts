// The edge as a unit: buildEdgeApp() assembles Fastify (schemas, docs, auth, rate limit, audit,
// errors, routes) around given dependencies; startEdge() also opens the database, applies the
// edge migrations, bootstraps the first admin key and listens. main.ts and tests both use it.
import { dirname, join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client as PgClient } from 'pg';
import { catalog, gateway, rules, sync } from '@haier-sync/contracts';
import { CALLERS, createGrpcClient, grpcClientTlsFromEnv, loadServiceCredentials, type Logger } from '@haier-sync/runtime';
import { Authenticator } from './auth';
import { loadEdgeConfig, type EdgeConfig } from './config';
import type { Clients, EdgeContext } from './context';
import { AuditStore } from './db/audit-store';
import { KeyStore } from './db/key-store';
import { initOrm, migrate, withSchemaLock } from '@haier-sync/runtime/orm';
import { EDGE_SCHEMA } from './db/orm';
import { hashApiKey, keyFromHeaders } from './domain/api-keys';
import { badRequest, body as errorBody, EdgeError, mapError, type Upstream } from './domain/errors';
import { nonFiniteField } from './domain/finite';
import { sanitizeParams, storable } from './domain/sanitize';
import { clientErrorHandler } from './client-errors';
import { registerHttpTracing } from './http-tracing';
import { createMetrics, type EdgeMetrics } from './metrics';
import { adminRoutes } from './routes/admin';
import { catalogRoutes } from './routes/catalog';
import { configRoutes } from './routes/configs';
import { liveRoutes } from './routes/live';
import { opsRoutes } from './routes/ops';
import { syncRoutes } from './routes/sync';
import { registerUi } from './ui-static';

/** Bodies larger than this answer 413 (the largest legitimate body, a sync scope of 1,000 codes, is ~45 KiB). */
export const BODY_LIMIT = 64 * 1024;

export interface EdgeDeps {
  orm: MikroORM;
  logger: Logger;
  /** Defaults to gRPC clients for config.gatewayUrl / catalogUrl / syncUrl. */
  clients?: Clients;
}

/**
 * The edge's clients of the three services, signing each call as http-edge with the key in
 * SERVICE_AUTH_PRIVATE_KEY_FILE, trusting <SERVICE>_TLS_CA_FILE for https:// URLs.
 */
export function createClients(config: Pick<EdgeConfig, 'gatewayUrl' | 'catalogUrl' | 'syncUrl'>, env: NodeJS.ProcessEnv = process.env): Clients {
  const credentials = loadServiceCredentials(CALLERS.edge, env);
  return {
    gateway: createGrpcClient(gateway.HaierGatewayService, { baseUrl: config.gatewayUrl, timeoutMs: 60_000, credentials, tls: grpcClientTlsFromEnv('GATEWAY', env) }),
    catalog: createGrpcClient(catalog.CatalogService, { baseUrl: config.catalogUrl, timeoutMs: 15_000, credentials, tls: grpcClientTlsFromEnv('CATALOG', env) }),
    sync: createGrpcClient(sync.SyncService, { baseUrl: config.syncUrl, timeoutMs: 30_000, credentials, tls: grpcClientTlsFromEnv('SYNC', env) }),
  };
}

/** Which service a route mostly talks to, to word error messages. */
function upstreamOf(url: string | undefined): Upstream {
  if (!url) return 'gateway';
  if (url.startsWith('/api/haier/catalog/')) return url.includes('/sync-') ? 'sync' : 'catalog';
  if (/^\/api\/haier\/(sync|logs|config)\//.test(url)) return 'sync';
  return 'gateway';
}

declare module 'fastify' {
  interface FastifyInstance {
    edge: EdgeContext & { metrics: EdgeMetrics; config: EdgeConfig };
  }
}

/** Whether @fastify/swagger-ui can load here (its static-file plugin depends on an ES module). */
function swaggerUiLoadable(): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require(join(dirname(require.resolve('@fastify/swagger-ui')), 'lib', 'routes.js'));
    return true;
  } catch {
    return false;
  }
}

const UNAUDITED = /^\/(healthz|readyz|metrics|favicon\.ico)?$|^\/api\/docs|^\/ui(\/|$)/;

export async function buildEdgeApp(config: EdgeConfig, deps: EdgeDeps): Promise<FastifyInstance> {
  const { logger, orm } = deps;
  const clients = deps.clients ?? createClients(config);
  const keys = new KeyStore(orm);
  const audit = new AuditStore(orm, logger);
  const auth = new Authenticator(keys, config.keyCacheMs, (err) => logger.warn({ err }, 'Could not record API key use (last_used_at); check the database connection.'));
  const metrics = createMetrics();
  const ctx: EdgeContext = { clients, keys, audit, auth, logger };

  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    trustProxy: false,
    // a bad query string/JSON is a 400 from the error handler below, never a crash
    // formats: the rulebook's (an id's upper bound); verbose: errors carry the value, for the rulebook's message
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false, allErrors: false, formats: rules.jsonSchemaFormats, verbose: true } },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    // requests Node's parser refuses (headers over 16 KiB, bad HTTP) answer in our error shape
    clientErrorHandler,
    // a URL Fastify cannot decode (e.g. "%E0%A4%A") answers in our error shape too
    frameworkErrors: (err, _req, reply) => {
      void (reply as FastifyReply)
        .status(400)
        .type('application/json; charset=utf-8')
        .send(errorBody(err.code === 'FST_ERR_BAD_URL' ? 'BAD_URL' : 'BAD_REQUEST', 'The URL could not be decoded: percent-encode path and query values (a "%" must be followed by two hex digits).'));
    },
  });
  app.decorate('edge', { ...ctx, metrics, config });
  app.decorateRequest('auth', null);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'haier-sync REST API',
        version: '1.0.0',
        description:
          'The /api/haier surface: live Haier calls, the synced catalog, sync runs and Haier configs. Send an API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`. Errors answer `{success:false, error:{code, message, field?}}`.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
  });
  if (swaggerUiLoadable()) {
    await app.register(swaggerUi, { routePrefix: '/api/docs' });
  } else {
    // the UI's static-file plugin needs require(esm), which Jest's module loader lacks: the
    // OpenAPI document is still served where the UI serves it
    app.get('/api/docs/json', { schema: { hide: true } }, async () => app.swagger());
    app.get('/api/docs', { schema: { hide: true } }, async (_req, reply) =>
      reply.type('text/html; charset=utf-8').send('<!doctype html><title>haier-sync API</title><p>The OpenAPI document is at <a href="/api/docs/json">/api/docs/json</a>.</p>'),
    );
  }

  if (config.corsOrigins.length > 0) {
    await app.register(cors, { origin: config.corsOrigins, methods: ['GET', 'POST', 'PUT', 'DELETE'], allowedHeaders: ['Authorization', 'X-API-Key', 'Content-Type'] });
  }

  registerHttpTracing(app, (path) => UNAUDITED.test(path));
  // who is calling is settled first; the rate limit then counts per key (or per address)
  app.addHook('onRequest', auth.hook());
  await app.register(rateLimit, {
    global: true,
    hook: 'preHandler',
    max: config.rateLimitPerMinute,
    timeWindow: 60_000,
    keyGenerator: (req) => {
      const key = keyFromHeaders(req.headers);
      return key ? `k:${hashApiKey(key)}` : `ip:${req.ip}`;
    },
    allowList: (req) => UNAUDITED.test(req.url.split('?')[0] ?? ''),
    errorResponseBuilder: (_req, c) =>
      new EdgeError(429, 'RATE_LIMITED', `Too many requests for this API key: at most ${c.max} per minute. Retry after ${Math.ceil(c.ttl / 1000)} s.`, undefined, { retryAfter: Math.ceil(c.ttl / 1000) }),
  });

  // audit + metrics for every request, whatever its outcome
  const finished = (req: FastifyRequest, status: number, ms: number) => {
    const path = req.url.split('?')[0] ?? req.url;
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', status, ms / 1000);
    if (UNAUDITED.test(path)) return;
    audit.record({
      at: new Date(),
      keyName: req.auth?.name ?? null,
      method: req.method,
      path: storable(path.slice(0, 500)),
      params: sanitizeParams({ query: req.query, params: req.params, body: req.body }),
      status,
      durationMs: Math.round(ms * 1000) / 1000,
      ip: req.ip,
    });
  };
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => finished(req, reply.statusCode, reply.elapsedTime));
  // a client that goes away first (an SSE follower closing its tab) gets no 'finish' and so no
  // onResponse: it is audited as 499 (client closed request) when the connection closes
  app.addHook('onRequest', async (req, reply) => {
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) finished(req, 499, reply.elapsedTime);
    });
  });

  // ajv lets "Infinity"/"1e400" through integer limits (see domain/finite.ts): 400, not a failure further in
  app.addHook('preHandler', async (req) => {
    const field = nonFiniteField(req.query) ?? nonFiniteField(req.params) ?? nonFiniteField(req.body);
    if (field) throw badRequest(field, 'must be a finite number within the documented range');
  });

  app.setErrorHandler((err, req, reply) => {
    const m = mapError(err, upstreamOf(req.routeOptions.url));
    if (m.status >= 500) logger.error({ err, method: req.method, url: req.routeOptions.url }, m.body.error.message);
    else logger.debug({ code: m.body.error.code, url: req.routeOptions.url }, m.body.error.message);
    if (m.retryAfter) void reply.header('retry-after', String(m.retryAfter));
    void reply.status(m.status).type('application/json; charset=utf-8').send(m.body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply
      .status(404)
      .send(errorBody('NOT_FOUND', `No such endpoint: ${req.method} ${(req.url.split('?')[0] ?? '').slice(0, 200)}. See the API documentation at /api/docs.`));
  });

  opsRoutes(app, ctx, { orm, metrics });
  liveRoutes(app, ctx);
  catalogRoutes(app, ctx);
  syncRoutes(app, ctx);
  configRoutes(app, ctx);
  adminRoutes(app, ctx);
  registerUi(app);

  app.addHook('onClose', async () => {
    await auth.close();
    await audit.flush();
  });
  return app;
}

export interface StartEdgeOptions {
  env?: NodeJS.ProcessEnv;
  logger: Logger;
  /** Overrides EDGE_PORT (0 = an ephemeral port). */
  port?: number;
  host?: string;
  clients?: Clients;
  /** Where the one-time admin key line goes (default stdout). */
  print?: (line: string) => void;
}

export interface EdgeHandle {
  app: FastifyInstance;
  orm: MikroORM;
  config: EdgeConfig;
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The admin key generated at this start (only when one was made; it is printed once). */
  adminKey?: string;
  close(): Promise<void>;
}

export const ADMIN_KEY_LINE = 'Admin API key (shown once): ';

export async function startEdge(opts: StartEdgeOptions): Promise<EdgeHandle> {
  const config = loadEdgeConfig(opts.env ?? process.env);
  const clients = opts.clients ?? createClients(config, opts.env ?? process.env);
  if (opts.port !== undefined) config.port = opts.port;
  if (opts.host !== undefined) config.host = opts.host;
  const { logger } = opts;
  const orm = await initOrm(EDGE_SCHEMA, { databaseUrl: config.databaseUrl });
  let app: FastifyInstance | undefined;
  try {
    // replicas starting together take turns under the schema's lock (deploy/k8s migrates first);
    // the first admin key is made under the same lock, so only one replica makes it
    const applied = await migrate(orm, EDGE_SCHEMA);
    const boot = await withSchemaLock(config.databaseUrl, EDGE_SCHEMA.schema, () => new KeyStore(orm).ensureAdmin(config.bootstrapAdminKey));
    if (applied.length) logger.info({ migrations: applied }, 'edge migrations applied');
    if (boot.note) logger.warn(boot.note);
    if (boot.created) logger.info({ name: boot.name, from: boot.generatedKey ? 'generated' : 'EDGE_BOOTSTRAP_ADMIN_KEY' }, 'first admin API key registered');
    if (boot.generatedKey) (opts.print ?? ((l) => process.stdout.write(`${l}\n`)))(`${ADMIN_KEY_LINE}${boot.generatedKey}`);

    app = await buildEdgeApp(config, { orm, logger, clients });
    await app.listen({ port: config.port, host: config.host });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    logger.info({ port }, 'http-edge listening');
    const built = app;
    return {
      app: built,
      orm,
      config,
      port,
      url: `http://127.0.0.1:${port}`,
      adminKey: boot.generatedKey,
      async close() {
        await built.close();
        await orm.close(true);
      },
    };
  } catch (err) {
    await app?.close().catch(() => undefined);
    await orm.close(true);
    throw err;
  }
}

export { EdgeError };
