// The shared test stack of the edge tests: the simulator as Haier; the gateway, the catalog and
// the sync orchestrator as built services, each in its own process (a test never imports another
// service's code; build first); one fresh Postgres database; and the edge itself, in-process,
// listening on an ephemeral port. The services' JSON log lines are collected for secret checks.
//
//   const stack = await startEdgeStack();
//   const r = await stack.request('GET', '/api/haier/catalog/products/', { key: stack.keys.viewer });
//   await stack.close();
import { DEFAULT_CREDENTIALS, gatewayAccountEnv, startSimulator, type SimHandle, type SimOptions } from '@haier-sync/haier-sim';
import { CALLERS, closeGrpcClients, createLogger } from '@haier-sync/runtime';
import {
  captureLogs,
  createTestDatabase,
  startAll,
  startCatalogProcess,
  startGatewayProcess,
  startOrchestratorProcess,
  testAuth,
  type CatalogProcess,
  type GatewayProcess,
  type OrchestratorProcess,
  type ServiceProcess,
  type TestDatabase,
  waitFor,
} from '@haier-sync/runtime/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { Client as PgClient } from 'pg';
import { startEdge, type EdgeHandle } from '../src/app';
import type { Role } from '../src/domain/api-keys';

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
  /** Extra environment of every service process (e.g. OTEL_EXPORTER_OTLP_ENDPOINT for a trace test). */
  processEnv?: Record<string, string | undefined>;
  /** The image store the gateway writes and the edge reads (default: a filesystem store in a temporary directory of this stack). */
  imageStoreEnv?: Record<string, string>;
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
  /** The IMAGE_STORE* variables the gateway and the edge share. */
  imageStoreEnv: Record<string, string>;
  edge: EdgeHandle;
  gateway: GatewayProcess;
  catalog: CatalogProcess;
  orchestrator?: OrchestratorProcess;
  /** Every JSON log line of every service (the edge here, the others from their stdout), for secret checks. */
  logs: ReturnType<typeof captureLogs>;
  /** All the service processes printed (stdout and stderr, JSON or not), for secret checks. */
  processOutput(): string;
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

/**
 * Deletes the JetStream streams a test made: every stream whose subjects all start with `prefix`,
 * and the products bucket's stream (`$KV.<PREFIX>_CATALOG_PRODUCTS.>`).
 */
export async function deleteStreamsUnder(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connect({ servers: natsUrl });
  const bucketSubjects = `$KV.${prefix.replace(/\.$/, '').toUpperCase().replace(/[^A-Z0-9_-]/g, '_')}_`;
  try {
    const jsm = await nc.jetstreamManager();
    for await (const info of jsm.streams.list()) {
      const subjects = info.config.subjects ?? [];
      const ours = subjects.length > 0 && subjects.every((x) => x.startsWith(prefix) || x.startsWith(bucketSubjects));
      if (ours) await jsm.streams.delete(info.config.name).catch(() => undefined);
    }
  } finally {
    await nc.close();
  }
}

/** A small FULL run (products + prices) started over REST as an operator, followed until it ends; answers the run as GET shows it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function fullRunToEnd(stack: EdgeStack): Promise<{ runId: string; run: any }> {
  const started = await stack.request('POST', '/api/haier/sync/', { key: stack.keys.operator, body: { mode: 'FULL', sync_type: 'PRODUCTS', options: { prices: true } } });
  if (started.status !== 202) throw new Error(`POST /api/haier/sync/ answered ${started.status}: ${started.text}`);
  const runId = started.json.data.id as string;
  const run = await waitFor(
    async () => {
      const r = await stack.request('GET', `/api/haier/sync/${runId}/`, { key: stack.keys.viewer });
      return ['SUCCESS', 'PARTIAL', 'FAILED', 'CANCELLED'].includes(r.json?.data?.status) ? r.json.data : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250, what: 'the FULL run to end' },
  );
  return { runId, run };
}

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

    const level = opts.logLevel ?? 'debug';
    // JSON lines into the captured logs (a partial or non-JSON line is in processOutput only)
    const collect = (line: string): void => {
      if (line.startsWith('{') && line.endsWith('}')) logs.stream.write(`${line}\n`);
    };
    const base = { LOG_LEVEL: level, OTEL_SDK_DISABLED: 'true', ...opts.processEnv };
    let imageStoreEnv = opts.imageStoreEnv;
    if (!imageStoreEnv) {
      const dir = await mkdtemp(join(tmpdir(), 'edge-stack-images-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      imageStoreEnv = { IMAGE_STORE: 'filesystem', IMAGE_STORE_DIR: dir };
    }
    const [gateway, catalog] = await startAll(
      startGatewayProcess(sim.url, { env: { ...base, ...gatewayAccountEnv({ ...DEFAULT_CREDENTIALS, ...opts.sim?.credentials }), HAIER_TIMEOUT_MS: '5000', ...imageStoreEnv, ...opts.gatewayEnv }, onLine: collect }),
      startCatalogProcess(dbUrl, { env: { ...base, CATALOG_DEFAULT_COUNTY: '110101' }, onLine: collect }),
    );
    const processes: ServiceProcess[] = [gateway, catalog];
    cleanups.push(() => gateway.stop(), () => catalog.stop());

    let orchestrator: OrchestratorProcess | undefined;
    let syncUrl = 'http://127.0.0.1:9'; // nothing listens there: sync routes answer 503
    if (opts.orchestrator !== false) {
      const o = await startOrchestratorProcess({
        env: {
          ...base,
          DATABASE_URL: dbUrl,
          GATEWAY_URL: gateway.url,
          CATALOG_URL: catalog.url,
          SYNC_SCHEDULER_ENABLED: 'false',
          SYNC_FIRST_DEPLOY: opts.firstDeploy ? 'true' : 'false',
          SYNC_PUBLISHER_ENABLED: 'false',
          SYNC_COUNTIES: '110101',
          // FULL runs here count one change per product (images are asked for explicitly: options.images)
          SYNC_IMAGES_IN_FULL: 'false',
          ...imageStoreEnv,
          ...opts.syncEnv,
        },
        onLine: collect,
      });
      orchestrator = o;
      processes.push(o);
      cleanups.push(() => o.stop());
      syncUrl = o.url;
    }

    const printed: string[] = [];
    const edge = await startEdge({
      env: {
        DATABASE_URL: dbUrl,
        GATEWAY_URL: gateway.url,
        CATALOG_URL: catalog.url,
        SYNC_URL: syncUrl,
        EDGE_RATE_LIMIT: '100000',
        EDGE_AUTH_CACHE_MS: '0',
        ...testAuth().env(CALLERS.edge),
        ...imageStoreEnv,
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
      imageStoreEnv,
      edge,
      gateway,
      catalog,
      orchestrator,
      logs,
      processOutput: () => processes.map((p) => p.output()).join('\n'),
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
