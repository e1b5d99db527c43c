// Test helpers shared by every package's Jest suites. Each test run gets its own
// Postgres database and its own NATS stream names, and removes them afterwards, so
// runs can share the machine's servers with each other and with CI.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer as createHttpServer } from 'node:http';
import { join, resolve } from 'node:path';
import { createServer } from 'node:net';
import { create, type DescService, type MessageInitShape } from '@bufbuild/protobuf';
import { Code, ConnectError, type Client as RpcClient, type Interceptor } from '@connectrpc/connect';
import { catalog, gateway, sync } from '@haier-sync/contracts';
import { createGrpcClient, type GrpcClientOptions } from './grpc-client';
import { CALLERS, PRIVATE_KEY_FILE_VAR, TRUSTED_KEYS_DIR_VAR, ensureServiceKeys, serviceCredentials, type ServiceCredentials } from './service-auth';
import { sleep } from './sleep';
import { Client } from 'pg';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';

/** The machine's Postgres (trust auth). Override with TEST_DATABASE_URL. */
export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The machine's NATS. Override with TEST_NATS_URL. */
export const TEST_NATS_URL = process.env.TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/**
 * A procurable product as a sync sends it to UpsertProducts, prices included and consistent with
 * the integrity check's invoice formula (1000 × (1 − 0.05) = 950, no rebate money); `over` replaces any field.
 */
export function sampleProduct(code: string, over: Omit<MessageInitShape<typeof catalog.ProductInputSchema>, '$typeName'> = {}): catalog.ProductInput {
  return create(catalog.ProductInputSchema, {
    productCode: code,
    productModel: `M-${code}`,
    productName: `Product ${code}`,
    productGroupName: '电热水器',
    productBrandName: '海尔',
    productImageUrl: `https://img.example/${code}.jpg`,
    productPageUrls: [`https://img.example/${code}-1.jpg`],
    isSales: true,
    supplyPrice: '1000',
    invoicePrice: '950',
    stockRebate: '0.05',
    hasPrices: true,
    ...over,
  });
}

/** The ConnectError a call failed with (fails the test when the call succeeds). */
export async function rpcFailure(call: Promise<unknown>): Promise<ConnectError> {
  return call.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (e: unknown) => ConnectError.from(e),
  );
}

/** A short random id, safe inside database, stream and subject names. */
export function uniqueId(prefix = 't'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates an empty database for one test file; `drop()` removes it (terminating stray connections). */
export async function createTestDatabase(prefix = 'hs_test'): Promise<TestDatabase> {
  const name = uniqueId(prefix).toLowerCase();
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: withDatabase(ADMIN_DATABASE_URL, name),
    async drop() {
      const c = new Client({ connectionString: ADMIN_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A TCP port that was free a moment ago (for servers that cannot listen on port 0). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** Polls `check` until it returns a truthy value or the timeout passes. */
export async function waitFor<T>(check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 50, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------------------
// In-process tracing for tests: spans land in memory, context flows through async code
// (AsyncLocalStorage) and W3C trace context crosses RPCs and messages.

export interface TestTracing {
  exporter: InMemorySpanExporter;
  /** Every span ended so far. */
  spans(): ReadableSpan[];
  reset(): void;
  /** Unregisters the provider, context manager and propagator. */
  stop(): Promise<void>;
}

export function startTestTracing(): TestTracing {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  if (!trace.setGlobalTracerProvider(provider) || !context.setGlobalContextManager(contextManager) || !propagation.setGlobalPropagator(new W3CTraceContextPropagator())) {
    throw new Error('startTestTracing: a tracer provider is already registered in this test file; call stop() on the previous one first');
  }
  return {
    exporter,
    spans: () => exporter.getFinishedSpans(),
    reset: () => exporter.reset(),
    async stop() {
      await provider.shutdown();
      contextManager.disable();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Collects what a logger writes, one parsed JSON object per line. */
export function captureLogs(): { stream: { write(line: string): void }; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  return {
    stream: { write: (line: string) => void chunks.push(line) },
    text: () => chunks.join(''),
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

/**
 * How a benchmark starts a built service as deployed (deploy/Dockerfile, scripts/start.mjs):
 * `node [extra flags] --require @haier-sync/runtime/telemetry dist/main.js` in the service's
 * directory (tools: without the telemetry preload). `dir` is relative to the repository root.
 */
export function deployedService(root: string, dir: string, nodeFlags: readonly string[] = []): { args: string[]; cwd: string } {
  const cwd = join(root, dir);
  if (!existsSync(join(cwd, 'dist', 'main.js'))) throw new Error(`${dir}/dist/main.js is missing: build first (pnpm build; pnpm bench does)`);
  const preload = dir.startsWith('services/') ? ['--require', '@haier-sync/runtime/telemetry'] : [];
  return { args: [...nodeFlags, ...preload, 'dist/main.js'], cwd };
}

// ---------------------------------------------------------------------------------------
// Service authentication in tests: one key set per test process (a temporary directory, removed
// at exit) with every real caller plus "intruder", a caller every server trusts but no policy
// names (for PERMISSION_DENIED). Services started by the starters below get the trusted keys
// (and the orchestrator its own key); their `client` signs each call as the caller the target
// service's rpc-policy.json lists first for that RPC.

/** A trusted caller that no policy allows anything. */
export const INTRUDER = 'intruder';

export interface TestAuth {
  /** Holds <caller>.key.pem and trusted/<caller>.pub.pem. */
  dir: string;
  /** For a service process: SERVICE_AUTH_TRUSTED_KEYS_DIR, and SERVICE_AUTH_PRIVATE_KEY_FILE of `caller` when given. */
  env(caller?: string): Record<string, string>;
  credentials(caller: string): ServiceCredentials;
  /** `authorization` metadata value for a call by `caller` to `audience` (a proto service's full name), e.g. for grpc-js clients. */
  bearer(caller: string, audience: string): Promise<string>;
}

let auth: TestAuth | undefined;

export function testAuth(): TestAuth {
  if (auth) return auth;
  const dir = mkdtempSync(join(tmpdir(), 'hs-service-auth-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const files = ensureServiceKeys(dir, [...Object.values(CALLERS), INTRUDER]);
  const creds = new Map<string, ServiceCredentials>();
  const credentials = (caller: string): ServiceCredentials => {
    const file = files.privateKeyFile[caller];
    if (!file) throw new Error(`testAuth: no key for caller ${caller}; the test key set has ${Object.keys(files.privateKeyFile).join(', ')}`);
    let c = creds.get(caller);
    if (!c) creds.set(caller, (c = serviceCredentials(caller, readFileSync(file))));
    return c;
  };
  auth = {
    dir,
    env: (caller) => ({ [TRUSTED_KEYS_DIR_VAR]: files.trustedDir, ...(caller ? { [PRIVATE_KEY_FILE_VAR]: files.privateKeyFile[caller]! } : {}) }),
    credentials,
    bearer: async (caller, audience) => `Bearer ${await credentials(caller).token(audience)}`,
  };
  return auth;
}

/** Where each of our proto services is served (its rpc-policy.json is there). */
const SERVICE_DIRS: Record<string, string> = {
  [catalog.CatalogService.typeName]: 'services/catalog',
  [gateway.HaierGatewayService.typeName]: 'services/haier-gateway',
  [sync.SyncService.typeName]: 'services/sync-orchestrator',
};

/** The policy of the service serving `service`, as data: RPC method name → callers. */
export function policyOf(service: DescService): Record<string, string[]> {
  const dir = SERVICE_DIRS[service.typeName];
  if (!dir) throw new Error(`policyOf: ${service.typeName} is not one of our services`);
  const table = JSON.parse(readFileSync(join(REPO_ROOT, dir, 'rpc-policy.json'), 'utf8')) as Record<string, Record<string, string[]>>;
  return table[service.typeName] ?? {};
}

/** Signs each call as the first caller the called service's policy allows for that RPC. */
export function intendedCallerInterceptor(): Interceptor {
  const policies = new Map<string, Record<string, string[]>>();
  return (next) => async (req) => {
    let p = policies.get(req.service.typeName);
    if (!p) policies.set(req.service.typeName, (p = policyOf(req.service)));
    const caller = p[req.method.name]?.[0];
    if (!caller) throw new Error(`test client: the policy of ${req.service.typeName} lets nobody call ${req.method.name}`);
    req.header.set('authorization', await testAuth().bearer(caller, req.service.typeName));
    return next(req);
  };
}

/**
 * A client of one of our services for a test: signs as `as` when given, else each call as the
 * RPC's intended caller (intendedCallerInterceptor). `as: null` sends no token.
 */
export function testClient<S extends DescService>(service: S, baseUrl: string, o: { as?: string | null; timeoutMs?: number; tls?: GrpcClientOptions['tls'] } = {}): RpcClient<S> {
  const signing = o.as === null ? {} : o.as ? { credentials: testAuth().credentials(o.as) } : { interceptors: [intendedCallerInterceptor()] };
  return createGrpcClient(service, { baseUrl, timeoutMs: o.timeoutMs ?? 60_000, tls: o.tls, ...signing });
}

/** A self-signed certificate for 127.0.0.1 and localhost, made with the openssl CLI (for one test file). */
export interface TestTls {
  certFile: string;
  keyFile: string;
  /** The certificate, to trust as the CA. */
  ca: Buffer;
  /** <prefix>_TLS_CERT_FILE and <prefix>_TLS_KEY_FILE for a server. */
  serverEnv(prefix: string): Record<string, string>;
}

export function selfSignedTls(): TestTls {
  const dir = mkdtempSync(join(tmpdir(), 'hs-tls-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const certFile = join(dir, 'cert.pem');
  const keyFile = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyFile, '-out', certFile,
  ], { stdio: 'pipe' });
  return { certFile, keyFile, ca: readFileSync(certFile), serverEnv: (prefix) => ({ [`${prefix}_TLS_CERT_FILE`]: certFile, [`${prefix}_TLS_KEY_FILE`]: keyFile }) };
}

/** Every caller of the test key set (the real ones and INTRUDER). */
export function testCallers(): string[] {
  return [...Object.values(CALLERS), INTRUDER];
}

/** How one call ended: the gRPC code's name ("OK" for an answer) and the message. */
export interface RpcOutcome {
  code: string;
  message: string;
}

/**
 * Calls `method` of `service` at `baseUrl` with an empty request, signed as `as` (null: no
 * token), and says how it ended. A server stream counts as answered at its first message (or its
 * end, or `timeoutMs` without either: the server accepted the call and is waiting for work).
 */
export async function callRpc(service: DescService, baseUrl: string, method: string, as: string | null, o: { tls?: GrpcClientOptions['tls']; timeoutMs?: number } = {}): Promise<RpcOutcome> {
  const m = service.methods.find((x) => x.name === method);
  if (!m) throw new Error(`callRpc: ${service.typeName} has no RPC ${method}`);
  const client = testClient(service, baseUrl, { as, tls: o.tls, timeoutMs: o.timeoutMs ?? 10_000 }) as unknown as Record<string, (req: unknown, opts?: unknown) => unknown>;
  const call = client[m.localName]!;
  try {
    if (m.methodKind === 'unary') await call({});
    else if (m.methodKind === 'server_streaming') {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), o.timeoutMs ?? 5_000);
      try {
        for await (const _ of call({}, { signal: ac.signal }) as AsyncIterable<unknown>) break;
      } finally {
        clearTimeout(t);
      }
    } else {
      async function* one() {
        yield {};
      }
      for await (const _ of call(one(), {}) as AsyncIterable<unknown>) break;
    }
    return { code: 'OK', message: '' };
  } catch (err) {
    const ce = ConnectError.from(err);
    return { code: Code[ce.code] ?? String(ce.code), message: ce.rawMessage };
  }
}

/**
 * The authorisation of one RPC as a client sees it: without a token it must answer
 * UNAUTHENTICATED; signed by each trusted caller its policy does not list, PERMISSION_DENIED
 * naming the caller and the RPC; signed by each caller it lists, anything but those two. Returns
 * what broke these rules (empty: none) and how many calls it made.
 */
export async function rpcAuthorizationProblems(service: DescService, baseUrl: string, method: string, o: { tls?: GrpcClientOptions['tls'] } = {}): Promise<{ problems: string[]; calls: number }> {
  const allowed = policyOf(service)[method] ?? [];
  const rpc = `${service.typeName}/${method}`;
  const problems: string[] = [];
  let calls = 0;
  const call = (as: string | null): Promise<RpcOutcome> => {
    calls++;
    return callRpc(service, baseUrl, method, as, o);
  };
  const anonymous = await call(null);
  if (anonymous.code !== 'Unauthenticated' || !anonymous.message.includes('service token')) problems.push(`${rpc} without a token: ${anonymous.code} ${anonymous.message}`);
  for (const caller of testCallers()) {
    const r = await call(caller);
    if (allowed.includes(caller)) {
      if (r.code === 'Unauthenticated' || r.code === 'PermissionDenied') problems.push(`${rpc} as ${caller} (allowed): ${r.code} ${r.message}`);
    } else if (r.code !== 'PermissionDenied' || !r.message.includes(`"${caller}"`) || !r.message.includes(rpc)) {
      problems.push(`${rpc} as ${caller} (not allowed): ${r.code} ${r.message}`);
    }
  }
  return { problems, calls };
}

/** A service started as a process for a test (see startServiceProcess). */
export interface ServiceProcess {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  child: ChildProcess;
  /** The last 200,000 characters of its stdout and stderr. */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (its graceful shutdown), SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** kill -9; resolves when it has exited. */
  kill(): Promise<void>;
}

export interface ServiceProcessOptions {
  /** The repository root. */
  root: string;
  /** The service's directory relative to the root, e.g. "services/catalog". */
  dir: string;
  /** Its environment on top of this process's (without NODE_OPTIONS and npm_*: the test runner's are not the child's); undefined removes a variable. */
  env: Record<string, string | undefined>;
  /** The port it listens on (the caller sets the service's port variable in `env`). */
  port: number;
  /** http (default) or https: the scheme of `url`. */
  scheme?: 'http' | 'https';
  /** Resolves (truthy) once the service answers; errors and falsy values mean "not yet". */
  ready: (url: string) => Promise<unknown>;
  /** Each line it prints on stdout (its JSON log lines), e.g. to collect logs. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

/**
 * Starts a built service as deployed (`deployedService`: node --require telemetry dist/main.js)
 * and waits until `ready` answers. Tests cross a service boundary this way, never by importing
 * the other service's code. Build first (`pnpm build`): a missing dist/main.js is an error
 * saying so.
 */
export async function startServiceProcess(o: ServiceProcessOptions): Promise<ServiceProcess> {
  const { args, cwd } = deployedService(o.root, o.dir);
  const env: NodeJS.ProcessEnv = { ...process.env };
  // the test runner's, not the service's: Jest's NODE_OPTIONS, pnpm's npm_* (npm_package_name would name the service "haier-sync")
  for (const k of Object.keys(env)) if (k === 'NODE_OPTIONS' || k.startsWith('npm_')) delete env[k];
  for (const [k, v] of Object.entries(o.env)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let partial = '';
  const keep = (text: string): void => {
    out += text;
    if (out.length > 400_000) out = out.slice(-200_000);
  };
  child.stdout!.on('data', (b: Buffer) => {
    const text = b.toString();
    keep(text);
    if (!o.onLine) return;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') o.onLine(line);
  });
  child.stderr!.on('data', (b: Buffer) => keep(b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const running = () => child.exitCode === null && child.signalCode === null;
  const stop = async (graceMs = 10_000): Promise<void> => {
    if (!running()) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  };
  const kill = async (): Promise<void> => {
    if (!running()) return;
    child.kill('SIGKILL');
    await exited;
  };
  const url = `${o.scheme ?? 'http'}://127.0.0.1:${o.port}`;
  try {
    await waitFor(
      async () => {
        if (!running()) throw new Error(`${o.dir} exited at start (code ${child.exitCode ?? child.signalCode})`);
        return o.ready(url).catch(() => false);
      },
      { timeoutMs: o.timeoutMs ?? 60_000, intervalMs: 200, what: `${o.dir} to answer on ${url}` },
    );
  } catch (err) {
    await kill();
    throw new Error(`${(err as Error).message}\n--- ${o.dir} output ---\n${out.slice(-4000)}`);
  }
  return { url, port: o.port, child, output: () => out, exited, stop, kill };
}

/** The repository root (this file is packages/runtime/{src,dist}/testing). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/** Options of the service starters below. */
export interface StartOptions {
  /** Extra environment (undefined removes a variable). Default: LOG_LEVEL=warn, no tracing. */
  env?: Record<string, string | undefined>;
  /** The service serves TLS (its <SERVICE>_TLS_* in `env`): its url is https:// and the client trusts this CA. */
  tls?: GrpcClientOptions['tls'];
  /** Each JSON log line the service prints. */
  onLine?: (line: string) => void;
  /** Listen here (to start a service again where it was); default a free port. */
  port?: number;
}

const QUIET = { LOG_LEVEL: 'warn', OTEL_SDK_DISABLED: 'true' };

export type CatalogProcess = ServiceWithRpcClient<typeof catalog.CatalogService>;
export type GatewayProcess = ServiceWithRpcClient<typeof gateway.HaierGatewayService>;
export type OrchestratorProcess = ServiceWithRpcClient<typeof sync.SyncService>;

/** A built service as a process, with a Connect client for its API. */
export type ServiceWithRpcClient<S extends Parameters<typeof createGrpcClient>[0]> = ServiceProcess & { client: RpcClient<S> };

async function startWithClient<S extends Parameters<typeof createGrpcClient>[0]>(
  dir: string,
  service: S,
  portVar: string,
  env: Record<string, string | undefined>,
  o: StartOptions,
  ready: (c: RpcClient<S>) => Promise<unknown>,
): Promise<ServiceWithRpcClient<S>> {
  const port = o.port ?? (await freePort());
  let client: RpcClient<S> | undefined;
  const proc = await startServiceProcess({
    root: REPO_ROOT,
    dir,
    env: { ...QUIET, ...testAuth().env(), ...env, [portVar]: String(port), ...o.env },
    port,
    scheme: o.tls ? 'https' : 'http',
    onLine: o.onLine,
    ready: async (url) => ready((client ??= testClient(service, url, { tls: o.tls }))),
  });
  return Object.assign(proc, { client: client! });
}

/** The catalog service (built) against `databaseUrl`; ready when Stats answers. */
export function startCatalogProcess(databaseUrl: string, o: StartOptions = {}): Promise<CatalogProcess> {
  return startWithClient('services/catalog', catalog.CatalogService, 'CATALOG_PORT', { DATABASE_URL: databaseUrl }, o, (c) => c.stats({}, { timeoutMs: 2_000 }));
}

/** The haier-gateway (built) talking to `haierBaseUrl`; the account comes in `o.env` (tools/haier-sim gatewayAccountEnv). Ready when GetUsage answers. */
export function startGatewayProcess(haierBaseUrl: string, o: StartOptions = {}): Promise<GatewayProcess> {
  // mirrored images go to a directory of this test process, never the repo's .data/ (o.env may name another)
  const images = { IMAGE_STORE_DIR: mkdtempSync(join(tmpdir(), 'gateway-images-')) };
  return startWithClient('services/haier-gateway', gateway.HaierGatewayService, 'GATEWAY_PORT', { HAIER_BASE_URL: haierBaseUrl, ...images }, o, (c) => c.getUsage({}, { timeoutMs: 2_000 }));
}

/** The sync orchestrator (built); its DATABASE_URL, GATEWAY_URL, CATALOG_URL, SYNC_* come in `o.env`. Ready when ListRuns answers. */
export function startOrchestratorProcess(o: StartOptions = {}): Promise<OrchestratorProcess> {
  return startWithClient('services/sync-orchestrator', sync.SyncService, 'SYNC_PORT', testAuth().env(CALLERS.orchestrator), o, (c) => c.listRuns({ pageSize: 1 }, { timeoutMs: 2_000 }));
}

/**
 * Starts services together; when one fails to start, the others are stopped again and the first
 * error is thrown (so a failed start leaks no process).
 */
export async function startAll<T extends readonly Promise<ServiceProcess>[]>(...starts: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(settled.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
    throw failed.reason;
  }
  return settled.map((r) => (r as PromiseFulfilledResult<ServiceProcess>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

/** One span as a service exported it over OTLP/HTTP (JSON), with the exporting service's name. */
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** The span's links (trace and span id of each). */
  links: { traceId: string; spanId: string }[];
  /** Its attributes, values as sent (string, number or boolean). */
  attributes: Record<string, string | number | boolean>;
}

/** An OTLP/HTTP trace receiver for services started as processes (OTEL_EXPORTER_OTLP_ENDPOINT = url). */
export async function startOtlpReceiver(): Promise<{ url: string; spans(): ReceivedSpan[]; close(): Promise<void> }> {
  const got: ReceivedSpan[] = [];
  // the JSON encoding carries ids as hex; accept base64 too
  const hex = (id: unknown): string => {
    const s = typeof id === 'string' ? id : '';
    return /^[0-9a-f]*$/i.test(s) && (s.length === 32 || s.length === 16 || s.length === 0) ? s.toLowerCase() : Buffer.from(s, 'base64').toString('hex');
  };
  interface OtlpJson {
    resourceSpans?: Array<{
      resource?: { attributes?: Array<{ key: string; value?: { stringValue?: string } }> };
      scopeSpans?: Array<{
        spans?: Array<{ traceId?: string; spanId?: string; parentSpanId?: string; name?: string; kind?: number; links?: Array<{ traceId?: string; spanId?: string }>; attributes?: OtlpAttribute[] }>;
      }>;
    }>;
  }
  interface OtlpAttribute {
    key: string;
    value?: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
  }
  const attributes = (list: OtlpAttribute[] = []): Record<string, string | number | boolean> =>
    Object.fromEntries(list.map((a) => [a.key, a.value?.stringValue ?? (a.value?.intValue !== undefined ? Number(a.value.intValue) : (a.value?.doubleValue ?? a.value?.boolValue ?? ''))]));
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpJson;
        for (const rs of body.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value?.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) {
            for (const sp of ss.spans ?? []) {
              got.push({
                service,
                traceId: hex(sp.traceId),
                spanId: hex(sp.spanId),
                parentSpanId: hex(sp.parentSpanId),
                name: sp.name ?? '',
                kind: sp.kind ?? 0,
                links: (sp.links ?? []).map((l) => ({ traceId: hex(l.traceId), spanId: hex(l.spanId) })),
                attributes: attributes(sp.attributes),
              });
            }
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...got],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
