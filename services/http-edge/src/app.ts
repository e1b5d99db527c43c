// The edge as a unit: buildEdgeApp() assembles Fastify (schemas, docs, auth, rate limit, audit,
// errors, routes) around given dependencies; startEdge() also opens the database, applies the
// edge migrations, bootstraps the first admin key and listens. main.ts and tests both use it.
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import cors from '@fastify/cors';
import etag from '@fastify/etag';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Client as PgClient } from 'pg';
import { catalog, gateway, rules, sync } from '@haier-sync/contracts';
import { CALLERS, createGrpcClient, grpcClientTlsFromEnv, HAIER_LANE_HEADER, loadServiceCredentials, rpcMetricsInterceptor, type Logger, type Registry } from '@haier-sync/runtime';
import { Authenticator, keyHashOf, type FailureLimiter } from './auth';
import { CallBudget } from './call-budget';
import { loadEdgeConfig, type EdgeConfig } from './config';
import type { Clients, EdgeContext } from './context';
import { AuditStore } from './db/audit-store';
import { KeyStore } from './db/key-store';
import { initOrm, migrate, withSchemaLock } from '@haier-sync/runtime/orm';
import { EDGE_SCHEMA } from './db/orm';
import { badRequest, body as errorBody, EdgeError, loggableError, mapError, type Upstream } from './domain/errors';
import { inputProblem } from './domain/input-check';
import { sanitizeParams, storable } from './domain/sanitize';
import { clientErrorHandler } from './client-errors';
import { registerHttpTracing } from './http-tracing';
import { createMetrics, type EdgeMetrics } from './metrics';
import { ReadCache } from './read-cache';
import { adminRoutes } from './routes/admin';
import { catalogRoutes } from './routes/catalog';
import { configRoutes } from './routes/configs';
import { liveRoutes } from './routes/live';
import { metricsRoute, opsRoutes } from './routes/ops';
import { scheduleRoutes } from './routes/schedules';
import { syncRoutes } from './routes/sync';
import { CONSOLE_PATHS, registerUi } from './ui-static';
import { imageRoutes } from './routes/images';
import { imageStoreFromEnv, type ImageStore } from '@haier-sync/runtime/image-store';
import { CODES_LIST, componentSchemas } from './schemas';

const DOCS_FALLBACK_CSP = "default-src 'none'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Which methods each route path takes (for 405 with Allow): the paths as patterns, ":param" one segment. */
class RouteMethods {
  private routes: Array<{ re: RegExp; methods: Set<string> }> = [];
  private byUrl = new Map<string, Set<string>>();

  add(method: string | string[], url: string): void {
    if (url.includes('*')) return;
    let methods = this.byUrl.get(url);
    if (!methods) {
      methods = new Set();
      this.byUrl.set(url, methods);
      const source = url
        .replace(/\/+$/, '')
        .split('/')
        .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      this.routes.push({ re: new RegExp(`^${source}/?$`), methods });
    }
    for (const m of Array.isArray(method) ? method : [method]) methods.add(m.toUpperCase());
  }

  methodsOf(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.routes) if (r.re.test(path)) for (const m of r.methods) out.add(m);
    return [...out].sort();
  }
}

/** Query parameters the route checks item by item through the rulebook (comma-separated code lists). */
function itemCheckedParams(req: FastifyRequest): ReadonlySet<string> | undefined {
  const props = (req.routeOptions.schema?.querystring as { properties?: Record<string, unknown> } | undefined)?.properties;
  if (!props) return undefined;
  const names = Object.keys(props).filter((k) => props[k] === CODES_LIST);
  return names.length ? new Set(names) : undefined;
}

/** Bodies larger than this answer 413 (the largest legitimate body, a sync scope of 1,000 codes, is ~45 KiB). */
export const BODY_LIMIT = 64 * 1024;

export interface EdgeDeps {
  orm: MikroORM;
  logger: Logger;
  /** Defaults to gRPC clients for config.gatewayUrl / catalogUrl / syncUrl (signing with the key `env` names). */
  clients?: Clients;
  /** Where the default clients read their service key and TLS settings (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where product images are read from (default: the store config.imageStoreEnv names). */
  imageStore?: ImageStore;
}

/**
 * The edge's clients of the three services, signing each call as http-edge with the key in
 * SERVICE_AUTH_PRIVATE_KEY_FILE, trusting <SERVICE>_TLS_CA_FILE for https:// URLs; with `metrics`,
 * their calls count in rpc_client_* (RED per method).
 */
export function createClients(config: Pick<EdgeConfig, 'gatewayUrl' | 'catalogUrl' | 'syncUrl'>, env: NodeJS.ProcessEnv = process.env, metrics?: Registry): Clients {
  const credentials = loadServiceCredentials(CALLERS.edge, env);
  const interceptors = metrics ? [rpcMetricsInterceptor(metrics, 'client')] : [];
  return {
    // everything the edge asks of Haier is a live request: the interactive lane of the call budget
    gateway: createGrpcClient(gateway.HaierGatewayService, {
      baseUrl: config.gatewayUrl,
      timeoutMs: 60_000,
      credentials,
      tls: grpcClientTlsFromEnv('GATEWAY', env),
      interceptors: [
        ...interceptors,
        (next) => (req) => {
          req.header.set(HAIER_LANE_HEADER, 'interactive');
          return next(req);
        },
      ],
    }),
    catalog: createGrpcClient(catalog.CatalogService, { baseUrl: config.catalogUrl, timeoutMs: 15_000, credentials, tls: grpcClientTlsFromEnv('CATALOG', env), interceptors }),
    sync: createGrpcClient(sync.SyncService, { baseUrl: config.syncUrl, timeoutMs: 30_000, credentials, tls: grpcClientTlsFromEnv('SYNC', env), interceptors }),
  };
}

/** Which service a route mostly talks to, to word error messages. */
function upstreamOf(url: string | undefined): Upstream {
  if (!url) return 'gateway';
  if (url.startsWith('/api/haier/catalog/')) return url.includes('/sync-') ? 'sync' : 'catalog';
  if (/^\/api\/haier\/(sync|logs|config|schedules|events|me)\//.test(url)) return 'sync';
  return 'gateway';
}

declare module 'fastify' {
  interface FastifySchema {
    /** The body may be left out (the route fills in `{}`): the document says requestBody.required false. */
    'x-body-optional'?: boolean;
  }
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

const API_UNAUDITED = /^\/(healthz|readyz|metrics)$|^\/api\/docs/;
const UNAUDITED = { test: (path: string) => API_UNAUDITED.test(path) || CONSOLE_PATHS.test(path) };

export const REQUEST_ID_HEADER = 'x-request-id';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id of a request: the caller's X-Request-Id when it is a plain token, else a new UUID. */
export function requestIdOf(header: string | string[] | undefined): string {
  const v = Array.isArray(header) ? header[0] : header;
  return v !== undefined && REQUEST_ID.test(v) ? v : randomUUID();
}

/** Operations marked 'x-body-optional' (their route fills in `{}`) get `requestBody.required: false`. */
function bodiesOptional<T extends { paths?: Record<string, Record<string, unknown> | undefined> }>(doc: T): T {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item ?? {}) as Array<Record<string, unknown> & { requestBody?: { required?: boolean } }>) {
      if (op && typeof op === 'object' && op['x-body-optional'] === true) {
        delete op['x-body-optional'];
        if (op.requestBody) op.requestBody.required = false;
      }
    }
  }
  return doc;
}

export async function buildEdgeApp(config: EdgeConfig, deps: EdgeDeps): Promise<FastifyInstance> {
  const { logger, orm } = deps;
  const metrics = createMetrics(orm);
  const clients = deps.clients ?? createClients(config, deps.env ?? process.env, metrics.registry);
  const keys = new KeyStore(orm);
  const audit = new AuditStore(orm, logger);
  const auth = new Authenticator(keys, config.keyCacheMs, (err, what) =>
    logger.warn({ err: loggableError(err) }, what === 'touch' ? 'Could not record API key use (last_used_at); check the database connection.' : 'Could not check the keys of open event streams; check the database connection.'),
  );
  const images = deps.imageStore ?? imageStoreFromEnv(config.imageStoreEnv);
  const ctx: EdgeContext = { clients, keys, audit, auth, callBudget: new CallBudget(config.callBudget), images, imageUrlTtlS: config.imageUrlTtlS, logger };

  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    // X-Request-Id: the caller's, when it is a plain token (letters, digits, . _ : -, at most 128),
    // else a new UUID; answered on every response and carried by the request's log lines
    requestIdHeader: false,
    genReqId: (raw) => requestIdOf(raw.headers[REQUEST_ID_HEADER]),
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'request_id' }),
    bodyLimit: BODY_LIMIT,
    trustProxy: false,
    // a Host-less HTTP/1.1 request is refused below, in our error shape (Node's own 400 has no body)
    http: { requireHostHeader: false },
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
  app.decorateRequest('readHead', null);
  // a head probe slower than 2 s means trouble: the read then goes to the catalog (under its own timeout) rather than waiting on
  const changeHead = async () => (await clients.catalog.getChangeHead({}, { timeoutMs: 2000 })).headSeq;
  const readCache = config.readCache.maxBytes > 0 ? new ReadCache({ ...config.readCache, head: changeHead, registry: metrics.registry }) : undefined;
  const routes = new RouteMethods();
  app.addHook('onRoute', (r) => routes.add(r.method, r.url));

  // security headers on every answer (the console and the docs page set their own CSP);
  // API answers are never stored by a browser or a proxy
  await app.register(helmet, {
    global: true,
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  app.addHook('onSend', async (req, reply, payload) => {
    // a route's own Cache-Control is for its answers; an error is never kept
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', (reply.statusCode < 300 && req.routeOptions.config?.cacheControl) || 'no-store');
    return payload;
  });
  // a catalog read's answer is kept before its ETag is taken (read-cache.ts)
  if (readCache) app.addHook('onSend', readCache.store);
  // a weak ETag of every answer's bytes, and 304 for a matching If-None-Match: exact whatever
  // changed (a price, a pin, a stock row, which products a page holds), with no extra query
  await app.register(etag, { weak: true });
  // set first, so that answers written by hand (SSE, the error paths) carry it too
  app.addHook('onRequest', async (req, reply) => {
    void reply.header(REQUEST_ID_HEADER, req.id);
  });
  app.addHook('onRequest', async (req) => {
    if (req.raw.httpVersion === '1.1' && !req.headers.host) {
      throw new EdgeError(400, 'MISSING_HOST', 'An HTTP/1.1 request must carry a Host header (RFC 9112, section 3.2): send "Host: <the address you called>".', 'host');
    }
  });

  // the named schemas (Error, Run, Product, …): routes refer to them as { $ref: 'Name#' }, and the
  // document publishes each once under components.schemas by the same name
  for (const [name, schema] of Object.entries(componentSchemas)) app.addSchema({ $id: name, title: name, ...schema });
  await app.register(swagger, {
    // a route whose body may be left out (schema 'x-body-optional': true) says so in the document
    transformObject: (d) => ('openapiObject' in d ? bodiesOptional(d.openapiObject) : d.swaggerObject),
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      servers: [
        { url: '/', description: 'The edge that serves this document' },
        { url: 'http://127.0.0.1:8080', description: 'A local `npm start` (EDGE_PORT 8080)' },
      ],
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
  if (!config.apiDocs) {
    // EDGE_API_DOCS=false: no /api/docs (404)
  } else if (swaggerUiLoadable()) {
    // its own CSP (hashes of its inline parts), without upgrade-insecure-requests, which would
    // break the page on a plain-http local run
    await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true, transformStaticCSP: (h) => h.replace(/\s*upgrade-insecure-requests;?/, '') });
  } else {
    // the UI's static-file plugin needs require(esm), which Jest's module loader lacks: the
    // OpenAPI document is still served where the UI serves it
    app.get('/api/docs/json', { schema: { hide: true } }, async () => app.swagger());
    app.get('/api/docs', { schema: { hide: true } }, async (_req, reply) =>
      reply
        .header('content-security-policy', DOCS_FALLBACK_CSP)
        .type('text/html; charset=utf-8')
        .send('<!doctype html><title>haier-sync API</title><p>The OpenAPI document is at <a href="/api/docs/json">/api/docs/json</a>.</p>'),
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
      const hash = keyHashOf(req);
      return hash ? `k:${hash}` : `ip:${req.ip}`;
    },
    allowList: (req) => UNAUDITED.test(req.url.split('?')[0] ?? ''),
    errorResponseBuilder: (_req, c) =>
      new EdgeError(429, 'RATE_LIMITED', `Too many requests for this API key: at most ${c.max} per minute. Retry after ${Math.ceil(c.ttl / 1000)} s.`, undefined, { retryAfter: Math.ceil(c.ttl / 1000) }),
  });
  // last before the handler, after the route's rate limit (which the plugin appends to each
  // route's own preHandlers as the route is added): a catalog read the catalog has not changed
  // since is answered here
  if (readCache) {
    const lookup = readCache.lookup;
    app.addHook('onRoute', (r) => {
      if (r.config?.readCache) r.preHandler = [...(Array.isArray(r.preHandler) ? r.preHandler : r.preHandler ? [r.preHandler] : []), lookup];
    });
  }
  auth.useFailureLimiter(app.createRateLimit({ max: config.authFailuresPerMinute, timeWindow: 60_000, keyGenerator: (req) => `authfail:${req.ip}`, allowList: () => false }) as FailureLimiter);

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

  // what the schemas cannot say (non-finite numbers, NUL and lone surrogates, JSON too deep; see
  // domain/input-check.ts): 400 naming the field, before anything is sent to a service
  app.addHook('preHandler', async (req) => {
    const found = inputProblem(req.query, '', 0, itemCheckedParams(req)) ?? inputProblem(req.params) ?? inputProblem(req.body);
    if (found) throw badRequest(found.field, found.problem);
  });

  app.setErrorHandler((err, req, reply) => {
    const m = mapError(err, upstreamOf(req.routeOptions.url));
    // the error as loggableError() words it: never a failing statement or a request's values
    if (m.status >= 500) logger.error({ err: loggableError(err), method: req.method, url: req.routeOptions.url, request_id: req.id }, m.body.error.message);
    else logger.debug({ code: m.body.error.code, url: req.routeOptions.url }, m.body.error.message);
    if (m.retryAfter) void reply.header('retry-after', String(m.retryAfter));
    void reply.status(m.status).type('application/json; charset=utf-8').send(m.body);
  });
  app.setNotFoundHandler((req, reply) => {
    const path = (req.url.split('?')[0] ?? '').slice(0, 200);
    const allowed = routes.methodsOf(path);
    if (allowed.length > 0) {
      void reply
        .status(405)
        .header('allow', allowed.join(', '))
        .send(errorBody('METHOD_NOT_ALLOWED', `${path} does not take ${req.method}; it takes ${allowed.join(', ')}. See the API documentation at /api/docs.`));
      return;
    }
    void reply.status(404).send(errorBody('NOT_FOUND', `No such endpoint: ${req.method} ${path}. See the API documentation at /api/docs.`));
  });

  opsRoutes(app, ctx, { orm, metrics });
  liveRoutes(app, ctx);
  catalogRoutes(app, ctx);
  imageRoutes(app, ctx);
  syncRoutes(app, ctx);
  scheduleRoutes(app, ctx);
  configRoutes(app, ctx);
  adminRoutes(app, ctx);
  registerUi(app, config.consoleDir);

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
  /** The port serving /metrics without a key (EDGE_METRICS_PORT), when set. */
  metricsPort?: number;
  close(): Promise<void>;
}

export const ADMIN_KEY_LINE = 'Admin API key (shown once): ';

export async function startEdge(opts: StartEdgeOptions): Promise<EdgeHandle> {
  const config = loadEdgeConfig(opts.env ?? process.env);
  if (opts.port !== undefined) config.port = opts.port;
  if (opts.host !== undefined) config.host = opts.host;
  const { logger } = opts;
  const orm = await initOrm(EDGE_SCHEMA, { databaseUrl: config.databaseUrl });
  let app: FastifyInstance | undefined;
  let metricsApp: FastifyInstance | undefined;
  try {
    // replicas starting together take turns under the schema's lock (deploy/k8s migrates first);
    // the first admin key is made under the same lock, so only one replica makes it
    const applied = await migrate(orm, EDGE_SCHEMA);
    const boot = await withSchemaLock(config.databaseUrl, EDGE_SCHEMA.schema, () => new KeyStore(orm).ensureAdmin(config.bootstrapAdminKey));
    if (applied.length) logger.info({ migrations: applied }, 'edge migrations applied');
    if (boot.note) logger.warn(boot.note);
    if (boot.created) logger.info({ name: boot.name, from: boot.generatedKey ? 'generated' : 'EDGE_BOOTSTRAP_ADMIN_KEY' }, 'first admin API key registered');
    if (boot.generatedKey) (opts.print ?? ((l) => process.stdout.write(`${l}\n`)))(`${ADMIN_KEY_LINE}${boot.generatedKey}`);

    app = await buildEdgeApp(config, { orm, logger, clients: opts.clients, env: opts.env ?? process.env });
    await app.listen({ port: config.port, host: config.host });
    const addr = app.server.address();
    const port = typeof addr === 'object' && addr ? addr.port : config.port;
    logger.info({ port }, 'http-edge listening');
    let metricsPort: number | undefined;
    if (config.metricsPort !== undefined) {
      // /metrics without a key, on its own address (reach it from the scraper's network only)
      metricsApp = Fastify({ http: { requireHostHeader: false } });
      await metricsApp.register(helmet, { global: true });
      metricsRoute(metricsApp, app.edge.metrics);
      await metricsApp.listen({ port: config.metricsPort, host: config.metricsHost });
      const m = metricsApp.server.address();
      metricsPort = typeof m === 'object' && m ? m.port : config.metricsPort;
      logger.info({ port: metricsPort, host: config.metricsHost }, 'http-edge metrics listening');
    }
    const built = app;
    const builtMetrics = metricsApp;
    return {
      app: built,
      orm,
      config,
      port,
      url: `http://127.0.0.1:${port}`,
      adminKey: boot.generatedKey,
      metricsPort,
      async close() {
        await builtMetrics?.close();
        await built.close();
        await orm.close(true);
      },
    };
  } catch (err) {
    await metricsApp?.close().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await orm.close(true);
    throw err;
  }
}

export { EdgeError };
