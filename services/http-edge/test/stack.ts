// The shared test stack of the edge tests: the simulator as Haier, the gateway and the catalog
// in-process behind real gRPC servers on loopback, the sync orchestrator (startOrchestrator),
// one fresh Postgres database, and the edge itself listening on an ephemeral port.
//
//   const stack = await startEdgeStack();
//   const r = await stack.request('GET', '/api/haier/catalog/products/', { key: stack.keys.viewer });
//   await stack.close();
import { catalog as catalogPb } from '@haier-sync/contracts';
import type { Client } from '@connectrpc/connect';
import { startSimulator, type SimHandle, type SimOptions } from '@haier-sync/haier-sim';
import { closeGrpcClients, createGrpcClient, createLogger, startGrpcServer, type GrpcServer, type Logger } from '@haier-sync/runtime';
import { captureLogs, createTestDatabase, type TestDatabase } from '@haier-sync/runtime/testing';
import { Client as PgClient } from 'pg';
import { loadGatewayConfig, SIMULATOR_ACCOUNT } from '../../haier-gateway/src/config';
import { buildGateway, type Gateway } from '../../haier-gateway/src/gateway';
import { buildCatalog, type Catalog } from '../../catalog/src/catalog';
import { startEdge, type EdgeHandle } from '../src/app';
import type { Role } from '../src/domain/api-keys';

/** The orchestrator is another service's code: loaded at run time, typed by what the stack uses. */
interface OrchestratorLike {
  url: string;
  close(): Promise<void>;
}
type StartOrchestrator = (o: { env: Record<string, string | undefined>; logger?: Logger; port?: number; host?: string; idlePollMs?: number }) => Promise<OrchestratorLike>;

export interface EdgeStackOptions {
  sim?: SimOptions;
  /** Extra edge environment (EDGE_RATE_LIMIT, EDGE_CORS_ORIGINS, EDGE_BOOTSTRAP_ADMIN_KEY, ...). */
  edgeEnv?: Record<string, string>;
  /** Extra gateway environment (HAIER_* account and secrets; the simulator must agree: pass sim.credentials). */
  gatewayEnv?: Record<string, string>;
  /** A password put into every service's DATABASE_URL (Postgres trusts loopback, so any value works): for secret checks. */
  dbPassword?: string;
  /** Extra orchestrator environment (SYNC_*). */
  syncEnv?: Record<string, string>;
  /** Start the sync orchestrator (default true). Without it the sync routes answer 503. */
  orchestrator?: boolean;
  /** Let the orchestrator's first-deployment trigger fill the catalog (default false). */
  firstDeploy?: boolean;
  /** Log level of the captured logs (default 'debug', so secret checks see everything). */
  logLevel?: string;
}

export interface EdgeStack {
  baseUrl: string;
  /** The bootstrap admin key (EDGE_BOOTSTRAP_ADMIN_KEY or the generated one). */
  adminKey: string;
  /** One key per role, made through the API at start (names stack-viewer, stack-operator, stack-admin). */
  keys: Record<Role, string>;
  sim: SimHandle;
  /** A pg client on the stack's database (schemas edge, catalog, sync). */
  pg: PgClient;
  db: TestDatabase;
  edge: EdgeHandle;
  gateway: { gw: Gateway; server: GrpcServer };
  catalog: { cat: Catalog; server: GrpcServer; client: Client<typeof catalogPb.CatalogService> };
  orchestrator?: OrchestratorLike;
  /** Every log line of every in-process service (JSON), for secret checks. */
  logs: ReturnType<typeof captureLogs>;
  /** Lines the edge printed at start (the "Admin API key (shown once): ..." line). */
  printed: string[];
  /** Makes a key with that role through the REST API; returns the plain key. */
  makeKey(role: Role, name?: string): Promise<string>;
  /** fetch() against the edge with a key; parses JSON answers. */
  request(method: string, path: string, opts?: { key?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<StackResponse>;
  /** Writes the edge's buffered audit rows now. */
  flushAudit(): Promise<void>;
  close(): Promise<void>;
}

export interface StackResponse {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

let keySeq = 0;

export async function startEdgeStack(opts: EdgeStackOptions = {}): Promise<EdgeStack> {
  const logs = captureLogs();
  const logger = createLogger('edge-stack', { destination: logs.stream, level: opts.logLevel ?? 'debug' });
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const db = await createTestDatabase('hs_edge');
    cleanups.push(() => db.drop());
    const dbUrl = opts.dbPassword ? Object.assign(new URL(db.url), { password: opts.dbPassword }).toString() : db.url;
    const sim = await startSimulator({ quiet: true, size: 200, ...opts.sim });
    cleanups.push(() => sim.close());

    const gwConfig = loadGatewayConfig({ HAIER_BASE_URL: sim.url, ...SIMULATOR_ACCOUNT, HAIER_TIMEOUT_MS: '5000', ...opts.gatewayEnv });
    const gwLogger = logger.child({ service: 'haier-gateway' });
    const gw = buildGateway(gwConfig, gwLogger, { backoff: { initialDelayMs: 20, maxDelayMs: 200 }, readinessCacheMs: 0 });
    cleanups.push(() => gw.close());
    const gwServer = await startGrpcServer({ service: 'haier-gateway', port: 0, host: '127.0.0.1', routes: (r) => gw.routes(r), readiness: () => gw.readiness(), errors: gw.errors, logger: gwLogger });
    cleanups.push(() => gwServer.close(1000));

    const catLogger = logger.child({ service: 'catalog' });
    const cat = await buildCatalog({ databaseUrl: dbUrl, logger: catLogger, defaultCounty: '110101', poolMax: 10 });
    cleanups.push(() => cat.close());
    const catServer = await startGrpcServer({ service: 'catalog', port: 0, host: '127.0.0.1', routes: cat.routes, readiness: cat.readiness, errors: cat.errors, connectionLost: cat.connectionLost, logger: catLogger });
    cleanups.push(() => catServer.close(1000));

    let orchestrator: OrchestratorLike | undefined;
    let syncUrl = 'http://127.0.0.1:9'; // nothing listens there: sync routes answer 503
    if (opts.orchestrator !== false) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { startOrchestrator } = require('../../sync-orchestrator/src/app') as { startOrchestrator: StartOrchestrator };
      orchestrator = await startOrchestrator({
        env: {
          DATABASE_URL: dbUrl,
          GATEWAY_URL: gwServer.url,
          CATALOG_URL: catServer.url,
          SYNC_SCHEDULER_ENABLED: 'false',
          SYNC_FIRST_DEPLOY: opts.firstDeploy ? 'true' : 'false',
          SYNC_PUBLISHER_ENABLED: 'false',
          SYNC_COUNTIES: '110101',
          LOG_LEVEL: 'debug',
          ...opts.syncEnv,
        },
        logger: logger.child({ service: 'sync-orchestrator' }),
        port: 0,
        host: '127.0.0.1',
        idlePollMs: 50,
      });
      const o = orchestrator;
      cleanups.push(() => o.close());
      syncUrl = o.url;
    }

    const printed: string[] = [];
    const edge = await startEdge({
      env: {
        DATABASE_URL: dbUrl,
        GATEWAY_URL: gwServer.url,
        CATALOG_URL: catServer.url,
        SYNC_URL: syncUrl,
        EDGE_RATE_LIMIT: '100000',
        EDGE_AUTH_CACHE_MS: '0',
        ...opts.edgeEnv,
      },
      logger: logger.child({ service: 'http-edge' }),
      port: 0,
      host: '127.0.0.1',
      print: (l) => printed.push(l),
    });
    cleanups.push(() => edge.close());
    const adminKey = edge.adminKey ?? opts.edgeEnv?.EDGE_BOOTSTRAP_ADMIN_KEY;
    if (!adminKey) throw new Error('the edge made no admin key and EDGE_BOOTSTRAP_ADMIN_KEY is unset');

    const pg = new PgClient({ connectionString: db.url });
    await pg.connect();
    cleanups.push(() => pg.end());
    cleanups.push(async () => closeGrpcClients());

    const baseUrl = edge.url;
    const request: EdgeStack['request'] = async (method, path, o = {}) => {
      const headers: Record<string, string> = { ...o.headers };
      if (o.key) headers.authorization = `Bearer ${o.key}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { status: res.status, headers: res.headers, text, json };
    };
    const makeKey = async (role: Role, name = `${role}-${++keySeq}-${Date.now().toString(36)}`) => {
      const r = await request('POST', '/api/haier/keys/', { key: adminKey, body: { name, role } });
      if (r.status !== 201) throw new Error(`could not make a ${role} key: ${r.status} ${r.text}`);
      return r.json.key as string;
    };
    const keys = {
      viewer: await makeKey('viewer', 'stack-viewer'),
      operator: await makeKey('operator', 'stack-operator'),
      admin: await makeKey('admin', 'stack-admin'),
    };
    return {
      baseUrl,
      adminKey,
      keys,
      sim,
      pg,
      db,
      edge,
      gateway: { gw, server: gwServer },
      catalog: { cat, server: catServer, client: createGrpcClient(catalogPb.CatalogService, { baseUrl: catServer.url }) },
      orchestrator,
      logs,
      printed,
      makeKey,
      request,
      flushAudit: () => edge.app.edge.audit.flush(),
      close: closeAll,
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
