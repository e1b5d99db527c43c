// The whole sync path for tests: the simulator (as Haier), the gateway and the catalog as built
// processes (startGatewayProcess, startCatalogProcess: a test never imports another service's
// code; build first), a fresh database, and the orchestrator, in-process (startOrchestrator) or as
// a child process (node --conditions=source --import tsx src/main.ts) that a test may kill -9 and
// start again. NATS subjects and streams are unique per stack.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { catalog, gateway, sync } from '@haier-sync/contracts';
import { DEFAULT_CREDENTIALS, gatewayAccountEnv, startSimulator, type SimHandle, type SimOptions } from '@haier-sync/haier-sim';
import { CALLERS, closeGrpcClients, createLogger, type Logger } from '@haier-sync/runtime';
import {
  createTestDatabase,
  freePort,
  startCatalogProcess,
  startAll,
  startGatewayProcess,
  testAuth,
  testClient,
  TEST_NATS_URL,
  uniqueId,
  waitFor,
  type CatalogProcess,
  type GatewayProcess,
  type TestDatabase,
} from '@haier-sync/runtime/testing';
import { connect, DeliverPolicy, type NatsConnection } from 'nats';
import { deleteStreams } from '../src/events';
import { Client as PgClient } from 'pg';
import { startOrchestrator, type Orchestrator } from '../src/app';

export interface StackOptions {
  sim?: SimOptions;
  /** Extra gateway environment (HAIER_RATE_LIMIT, HAIER_TIMEOUT_MS, ...). */
  gatewayEnv?: Record<string, string>;
  /** Extra orchestrator environment. */
  env?: Record<string, string>;
  /** 'inprocess' (default) starts the orchestrator here; 'child' in a child process; 'none' not at all. */
  orchestrator?: 'inprocess' | 'child' | 'none';
  /** Log level of the services (default silent; STACK_LOG_LEVEL overrides). */
  logLevel?: string;
  /** The image store of the gateway and the orchestrator (IMAGE_STORE=s3, IMAGE_S3_*); default a filesystem store in a temp directory (`imageDir`). */
  imageEnv?: Record<string, string>;
}

export interface ChildOrchestrator {
  proc: ChildProcess;
  url: string;
  /** Lines the child wrote (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code/signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Stack {
  db: TestDatabase;
  pg: PgClient;
  sim: SimHandle;
  /** The gateway and the catalog, each a built service in its own process. */
  gatewayProcess: GatewayProcess;
  catalogProcess: CatalogProcess;
  gateway: Client<typeof gateway.HaierGatewayService>;
  catalog: Client<typeof catalog.CatalogService>;
  /** The SyncService of the current orchestrator (in-process or child). */
  sync: Client<typeof sync.SyncService>;
  /** NATS subject prefix of this stack (streams are <PREFIX>_CATALOG, <PREFIX>_SYNC). */
  prefix: string;
  /** The temp directory of the filesystem image store the gateway writes and the orchestrator sweeps (removed by close()). */
  imageDir: string;
  /** The orchestrator's environment (without process.env). */
  env: Record<string, string>;
  orch?: Orchestrator;
  child?: ChildOrchestrator;
  logger: Logger;
  /** Starts the in-process orchestrator (again). */
  startInProcess(env?: Record<string, string>): Promise<Orchestrator>;
  /** Starts the orchestrator as a child process on a fixed port (again after a kill). */
  startChild(env?: Record<string, string>): Promise<ChildOrchestrator>;
  /** kill -9 of the child. */
  killChild(): Promise<void>;
  /** A NATS connection to read this stack's streams and bucket (made on first use; close() closes it). */
  nats(): Promise<NatsConnection>;
  /** Stops everything, deletes the stack's streams and products bucket, drops the database. */
  close(): Promise<void>;
}

const SERVICE_DIR = path.resolve(__dirname, '..');

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const level = process.env.STACK_LOG_LEVEL ?? opts.logLevel ?? 'silent';
  const logger = createLogger('stack', { level });
  const db = await createTestDatabase('hs_sync');
  const cleanups: Array<() => Promise<unknown>> = [() => db.drop()];
  const cleanup = async (): Promise<void> => {
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const pg = new PgClient({ connectionString: db.url });
    await pg.connect();
    cleanups.push(() => pg.end());

    const imageDir = await mkdtemp(path.join(tmpdir(), 'hs-images-'));
    cleanups.push(() => rm(imageDir, { recursive: true, force: true }));
    const imageEnv = opts.imageEnv ?? { IMAGE_STORE: 'filesystem', IMAGE_STORE_DIR: imageDir };
    const sim = await startSimulator({ quiet: true, ...opts.sim });
    cleanups.push(() => sim.close());
    const childLevel = level === 'silent' ? 'error' : level;
    const [gatewayProcess, catalogProcess] = await startAll(
      startGatewayProcess(sim.url, { env: { ...gatewayAccountEnv({ ...DEFAULT_CREDENTIALS, ...opts.sim?.credentials }), HAIER_TIMEOUT_MS: '5000', LOG_LEVEL: childLevel, HAIER_IMAGE_RATE: '0', HAIER_IMAGE_CONCURRENCY: '16', ...imageEnv, ...opts.gatewayEnv } }),
      startCatalogProcess(db.url, { env: { CATALOG_DEFAULT_COUNTY: '110101', LOG_LEVEL: childLevel } }),
    );
    cleanups.push(() => gatewayProcess.stop(), () => catalogProcess.stop());

    const prefix = uniqueId('hs').toLowerCase();
    const env: Record<string, string> = {
      DATABASE_URL: db.url,
      NATS_URL: TEST_NATS_URL,
      NATS_SUBJECT_PREFIX: prefix,
      GATEWAY_URL: gatewayProcess.url,
      CATALOG_URL: catalogProcess.url,
      SYNC_SCHEDULER_ENABLED: 'false',
      SYNC_FIRST_DEPLOY: 'false',
      SYNC_PUBLISHER_ENABLED: 'false',
      SYNC_LEASE_SECONDS: '5',
      SYNC_CONCURRENCY: '8',
      // the suites written before images count one change per product in a FULL run; images-run.test.ts turns it on
      SYNC_IMAGES_IN_FULL: 'false',
      LOG_LEVEL: level === 'silent' ? 'error' : level,
      // the callers' keys it trusts and its own (it signs its calls to the gateway and the catalog)
      ...testAuth().env(CALLERS.orchestrator),
      ...imageEnv,
      ...opts.env,
    };

    let natsConnection: Promise<NatsConnection> | undefined;
    const stack: Stack = {
      db,
      pg,
      sim,
      gatewayProcess,
      catalogProcess,
      gateway: gatewayProcess.client,
      catalog: catalogProcess.client,
      sync: undefined as unknown as Client<typeof sync.SyncService>,
      prefix,
      imageDir,
      env,
      logger,
      async startInProcess(extra = {}) {
        const orch = await startOrchestrator({ env: { ...env, ...extra }, logger: logger.child({ svc: 'orchestrator' }), port: 0, host: '127.0.0.1', idlePollMs: 100 });
        stack.orch = orch;
        stack.sync = testClient(sync.SyncService, orch.url);
        return orch;
      },
      async startChild(extra = {}) {
        const port = stack.child ? new URL(stack.child.url).port : String(await freePort());
        const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env, SYNC_PORT: port, ...extra };
        if (extra['NODE_OPTIONS'] === undefined && env['NODE_OPTIONS'] === undefined) delete childEnv['NODE_OPTIONS']; // jest's options are not the child's
        const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/main.ts'], { cwd: SERVICE_DIR, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        const keep = (b: Buffer): void => {
          out += b.toString();
          if (out.length > 2_000_000) out = out.slice(-1_000_000);
        };
        proc.stdout!.on('data', keep);
        proc.stderr!.on('data', keep);
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
        const url = `http://127.0.0.1:${port}`;
        const child: ChildOrchestrator = { proc, url, output: () => out, exited };
        stack.child = child;
        stack.sync = testClient(sync.SyncService, url);
        let dead = false;
        void exited.then(() => (dead = true));
        await waitFor(
          async () => {
            if (dead) throw new Error(`the orchestrator child exited at start:\n${out.slice(-4000)}`);
            try {
              await stack.sync.listRuns({ pageSize: 1 }, { timeoutMs: 1000 });
              return true;
            } catch {
              return false;
            }
          },
          { timeoutMs: 45_000, intervalMs: 200, what: 'the orchestrator child to answer' },
        );
        return child;
      },
      async killChild() {
        const c = stack.child;
        if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return;
        c.proc.kill('SIGKILL');
        await c.exited;
      },
      nats() {
        natsConnection ??= connect({ servers: TEST_NATS_URL });
        return natsConnection;
      },
      async close() {
        if (stack.orch) await stack.orch.close();
        if (stack.child && stack.child.proc.exitCode === null && stack.child.proc.signalCode === null) {
          stack.child.proc.kill('SIGTERM');
          const t = setTimeout(() => stack.child?.proc.kill('SIGKILL'), 10_000);
          await stack.child.exited;
          clearTimeout(t);
        }
        // whatever the publisher made under this stack's prefix (nothing when it was off)
        const nc = await stack.nats().catch(() => undefined);
        if (nc) {
          await deleteStreams(nc, prefix).catch(() => undefined);
          await nc.close();
        }
        await cleanup();
        closeGrpcClients(); // the shared HTTP/2 sessions of this file's clients
      },
    };
    if ((opts.orchestrator ?? 'inprocess') === 'inprocess') await stack.startInProcess();
    else if (opts.orchestrator === 'child') await stack.startChild();
    return stack;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

const FINAL = new Set([sync.RunStatus.SUCCESS, sync.RunStatus.FAILED, sync.RunStatus.PARTIAL, sync.RunStatus.CANCELLED]);

/** Polls GetRun until the run has ended; returns its final state. */
export async function waitForRun(client: Client<typeof sync.SyncService>, id: string, timeoutMs = 60_000): Promise<sync.Run> {
  return waitFor(
    async () => {
      try {
        const r = await client.getRun({ id }, { timeoutMs: 5_000 });
        return r.run && FINAL.has(r.run.status) ? r.run : undefined;
      } catch {
        return undefined; // a restarting child
      }
    },
    { timeoutMs, intervalMs: 200, what: `run ${id} to end` },
  );
}

/** Starts a run and waits for its end. */
export async function runToEnd(stack: Stack, req: MessageInitShape<typeof sync.StartRunRequestSchema>, timeoutMs = 60_000): Promise<sync.Run> {
  const res = await stack.sync.startRun(req);
  return waitForRun(stack.sync, res.run!.id, timeoutMs);
}

export const statusName = (s: sync.RunStatus): string => sync.RunStatus[s] ?? String(s);

/** Counts rows of a query's first column (n). */
export async function count(pg: PgClient, sql: string, params: unknown[] = []): Promise<number> {
  const r = await pg.query<{ n: string }>(sql, params);
  return Number(r.rows[0]?.n ?? 0);
}

export interface StreamMessage {
  seq: number;
  subject: string;
  msgId: string;
  data: Uint8Array;
}

/** Every message of a stream, in order (an ordered consumer from the start). */
export async function readStream(nc: NatsConnection, stream: string, afterSeq = 0): Promise<StreamMessage[]> {
  const jsm = await nc.jetstreamManager();
  const state = (await jsm.streams.info(stream)).state;
  const total = state.last_seq - Math.max(afterSeq, state.first_seq - 1);
  const consumer = await nc.jetstream().consumers.get(stream, afterSeq > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 } : {});
  const out: StreamMessage[] = [];
  while (out.length < total) {
    const batch = await consumer.fetch({ max_messages: Math.min(500, total - out.length), expires: 5_000 });
    let got = 0;
    for await (const m of batch) {
      out.push({ seq: m.seq, subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id') ?? '', data: m.data });
      got++;
    }
    if (got === 0) break;
  }
  return out;
}

/** The last sequence of a stream (0 when it does not exist yet). */
export async function lastSeq(nc: NatsConnection, stream: string): Promise<number> {
  const jsm = await nc.jetstreamManager();
  return (await jsm.streams.info(stream).catch(() => undefined))?.state.last_seq ?? 0;
}
