// The orchestrator as a value: migrations, clients of the gateway and the catalog, the run
// engine, the gRPC SyncService, and (switchable) the event publisher and the scheduler.
// main.ts calls it with process.env; tests call it in-process with their own environment.
import type { Client } from '@connectrpc/connect';
import { join } from 'node:path';
import { catalog, gateway, sync } from '@haier-sync/contracts';
import {
  CALLERS,
  createGrpcClient,
  createLogger,
  createMetricsRegistry,
  grpcClientTlsFromEnv,
  grpcListenFromEnv,
  loadServerAuth,
  loadServiceCredentials,
  rpcMetricsInterceptor,
  serveMetrics,
  startGrpcServer,
  type GrpcServer,
  type Logger,
  type Registry,
} from '@haier-sync/runtime';
import { syncMetrics } from './metrics';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createAlerter } from './alerts';
import { loadSyncConfig, type SyncConfig } from './config';
import { configHandlers } from './configs';
import { initOrm, migrate } from '@haier-sync/runtime/orm';
import { knexOf, SYNC_SCHEMA, type Knex } from './db';
import { createManagedNats, startPublisher, type ManagedNats, type Publisher } from './events';
import { eventsStatus } from './events/status';
import { createRunsApi, type RunsApi } from './runs/api';
import { startEngine, type Engine } from './runs/engine';
import { createRunLog } from './runs/run-log';
import { imageStoreFromEnv } from '@haier-sync/runtime/image-store';
import { orphanSweepJob } from './images/orphan-sweep';
import { builtinJobs, instanceName, loadSchedule, scheduleControl, startScheduler, type ScheduleControl, type ScheduledJob, type Scheduler } from './schedule';
import { DATABASE_UNREACHABLE, syncErrors, syncRoutes } from './service';
import { startFreshnessSweep, type FreshnessSweep } from './freshness/sweep';
import { priceTarget, stockTarget, type SweepTarget } from './freshness/targets';

export interface OrchestratorOptions {
  env: Record<string, string | undefined>;
  logger?: Logger;
  /** Overrides SYNC_PORT (0 = any free port). */
  port?: number;
  /** Overrides SYNC_HOST (default 0.0.0.0); tests pass 127.0.0.1. */
  host?: string;
  /** Idle poll of the engine loops (tests shorten it). */
  idlePollMs?: number;
  /** The Prometheus registry (default a new one); served on SYNC_METRICS_PORT when that is set. */
  metrics?: Registry;
  /** Scheduled jobs besides the built-in four (e.g. a freshness job): listed, paused and run like them. */
  extraJobs?: ScheduledJob[];
}

export interface Orchestrator {
  /** http://127.0.0.1:PORT of the gRPC server. */
  url: string;
  port: number;
  config: SyncConfig;
  orm: MikroORM;
  knex: Knex;
  runs: RunsApi;
  engine?: Engine;
  publisher?: Publisher;
  scheduler?: Scheduler;
  /** The freshness sweep, when SYNC_PRICE_MAX_AGE or SYNC_LOW_STOCK_MAX_AGE is set. */
  sweep?: FreshnessSweep;
  /** What ListSchedules, pause, resume and run-now answer. */
  schedules: ScheduleControl;
  metrics: Registry;
  gateway: Client<typeof gateway.HaierGatewayService>;
  catalog: Client<typeof catalog.CatalogService>;
  logger: Logger;
  /** Stops the scheduler, the server, the engine (in-flight batches commit), the publisher, then the database pool. */
  close(): Promise<void>;
}

export async function startOrchestrator(opts: OrchestratorOptions): Promise<Orchestrator> {
  const config = loadSyncConfig(opts.env as NodeJS.ProcessEnv);
  const schedule = loadSchedule(opts.env);
  const env = opts.env as NodeJS.ProcessEnv;
  // its own key (it calls the gateway and the catalog), its callers' keys and policy, where it listens
  const credentials = loadServiceCredentials(CALLERS.orchestrator, env);
  const auth = loadServerAuth(join(__dirname, '..', 'rpc-policy.json'), [sync.SyncService], env);
  const listen = grpcListenFromEnv('SYNC', env);
  const gatewayTls = grpcClientTlsFromEnv('GATEWAY', env);
  const catalogTls = grpcClientTlsFromEnv('CATALOG', env);
  const logger = opts.logger ?? createLogger('sync-orchestrator', { level: config.LOG_LEVEL });

  // Worker slots hold no connection while they wait on Haier or the catalog, and their claims and
  // completions are grouped: a slot per connection is not needed (Postgres' default limit is 100).
  const orm = await initOrm(SYNC_SCHEMA, { databaseUrl: config.DATABASE_URL, poolMax: Math.min(config.SYNC_CONCURRENCY, 16) + 8 });
  const stops: Array<[string, () => Promise<void>]> = [['database', () => orm.close(true)]];
  const closeAll = async (): Promise<void> => {
    for (const [name, stop] of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        logger.warn({ err: String(err), step: name }, `could not stop ${name} cleanly`);
      }
    }
    stops.length = 0;
  };

  try {
    const knex = knexOf(orm);
    // replicas starting together take turns under the schema's lock (deploy/k8s migrates first)
    const done = await migrate(orm, SYNC_SCHEMA);
    if (done.length) logger.info({ migrations: done }, 'database migrated');

    const registry = opts.metrics ?? createMetricsRegistry('sync-orchestrator');
    const metrics = syncMetrics(registry, { orm, knex });
    const clientMetrics = [rpcMetricsInterceptor(registry, 'client')];
    const gatewayClient = createGrpcClient(gateway.HaierGatewayService, { baseUrl: config.GATEWAY_URL, timeoutMs: 120_000, credentials, tls: gatewayTls, interceptors: clientMetrics });
    const catalogClient = createGrpcClient(catalog.CatalogService, { baseUrl: config.CATALOG_URL, timeoutMs: 60_000, credentials, tls: catalogTls, interceptors: clientMetrics });
    const alerter = createAlerter({ logger, webhookUrl: config.ALERT_WEBHOOK_URL });

    // each run's own log (INFO/SUCCESS/WARNING/ERROR/DEBUG lines, SYNC_RUN_LOG_CAP kept per level)
    const runLog = createRunLog(config.SYNC_RUN_LOG_CAP, logger);
    let engine: Engine | undefined;
    if (config.SYNC_WORKERS_ENABLED) {
      engine = startEngine(
        {
          knex,
          gateway: gatewayClient,
          catalog: catalogClient,
          logger,
          raiseAlert: (run) => alerter.raiseAlert(run),
          metrics,
          runLog,
          settings: {
            concurrency: config.SYNC_CONCURRENCY,
            leaseSeconds: config.SYNC_LEASE_SECONDS,
            maxAttempts: config.SYNC_MAX_ATTEMPTS,
            maxClaims: config.SYNC_MAX_CLAIMS,
            counties: config.SYNC_COUNTIES,
            lowStockThreshold: config.SYNC_LOW_STOCK_THRESHOLD,
            dependencyPatienceMs: config.SYNC_DEPENDENCY_PATIENCE,
            runLogCap: config.SYNC_RUN_LOG_CAP,
            imageRecheckAfterMs: config.SYNC_IMAGE_RECHECK_AFTER,
          },
        },
        { idlePollMs: opts.idlePollMs },
      );
      const e = engine;
      stops.push(['run engine', () => e.stop()]);
    }
    const kick = (): void => engine?.kick();
    const runs = createRunsApi({ knex, logger, counties: config.SYNC_COUNTIES, imagesInFull: config.SYNC_IMAGES_IN_FULL, kick, runLog });

    // one NATS connection per process: the publisher's, and GetEventsStatus's (made on first use
    // when this replica does not publish)
    let nats: ManagedNats | undefined;
    const natsConnection = (): ManagedNats => {
      if (!nats) {
        const n = createManagedNats({ url: config.NATS_URL, logger, name: 'sync-orchestrator' });
        nats = n;
        stops.push(['NATS connection', () => n.close()]);
      }
      return nats;
    };
    let publisher: Publisher | undefined;
    if (config.SYNC_PUBLISHER_ENABLED) {
      const p = startPublisher({
        nats: natsConnection(),
        catalog: catalogClient,
        orm,
        natsUrl: config.NATS_URL,
        subjectPrefix: config.NATS_SUBJECT_PREFIX,
        logger,
        lowStockThreshold: config.SYNC_LOW_STOCK_THRESHOLD,
        defaultCounty: config.SYNC_COUNTIES[0],
        duplicateWindowS: config.NATS_DUPLICATE_WINDOW_S,
        maxAgeH: config.NATS_MAX_AGE_H,
        maxBytes: config.NATS_MAX_BYTES,
        onPublished: metrics.published,
      });
      metrics.watchPublisher(p);
      publisher = p;
      stops.push(['event publisher', () => p.stop()]);
    }

    // the scheduled jobs: the cron timers (when on) and ListSchedules / pause / resume / run-now share them
    const instanceId = instanceName();
    const startRun = (req: sync.StartRunRequest) => runs.startRun(req);
    // the freshness sweep (SYNC_PRICE_MAX_AGE, SYNC_LOW_STOCK_MAX_AGE): on every replica with the engine and the scheduler, one sweeping at a time
    let sweep: FreshnessSweep | undefined;
    const targetDeps = { catalog: catalogClient, gateway: gatewayClient };
    const targets: SweepTarget[] = [
      ...(config.SYNC_PRICE_MAX_AGE !== undefined ? [priceTarget(targetDeps, config.SYNC_PRICE_MAX_AGE)] : []),
      ...(config.SYNC_LOW_STOCK_MAX_AGE !== undefined ? [stockTarget({ ...targetDeps, logger }, config.SYNC_LOW_STOCK_MAX_AGE, config.SYNC_COUNTIES, config.SYNC_LOW_STOCK_THRESHOLD)] : []),
    ];
    if (targets.length > 0 && config.SYNC_WORKERS_ENABLED && config.SYNC_SCHEDULER_ENABLED) {
      const sw = startFreshnessSweep({ orm, databaseUrl: config.DATABASE_URL, gateway: gatewayClient, logger, targets, share: config.SYNC_PRICE_SWEEP_SHARE, instanceId, metrics: registry, leaderPollMs: opts.idlePollMs });
      sweep = sw;
      stops.push(['freshness sweep', () => sw.stop()]);
    }
    const orphanSweep = orphanSweepJob({
      store: imageStoreFromEnv(config),
      catalog: catalogClient,
      cron: config.SYNC_IMAGE_ORPHAN_CRON,
      graceMs: config.SYNC_IMAGE_ORPHAN_GRACE,
      dryRun: config.SYNC_IMAGE_ORPHAN_DRY_RUN,
      logger: logger.child({ component: 'image-orphan-sweep' }),
    });
    const jobs = [...builtinJobs({ orm, catalog: catalogClient, startRun, logger, schedule, counties: config.SYNC_COUNTIES, instanceId }), ...(sweep?.jobs ?? []), orphanSweep, ...(opts.extraJobs ?? [])];
    const schedules = scheduleControl({ orm, jobs, logger, getRun: (id) => runs.getRun(id), schedulerEnabled: config.SYNC_SCHEDULER_ENABLED });

    const readiness = async (): Promise<boolean> => {
      try {
        await knex.raw('select 1');
        return true;
      } catch {
        return false;
      }
    };
    const server: GrpcServer = await startGrpcServer({
      service: 'sync-orchestrator',
      port: opts.port ?? config.SYNC_PORT,
      host: opts.host ?? listen.host,
      tls: listen.tls,
      auth,
      routes: syncRoutes({
        runs,
        configs: configHandlers({ orm, gateway: gatewayClient, startRun, logger, counties: config.SYNC_COUNTIES }),
        eventsStatus: () => eventsStatus({ knex, catalog: catalogClient, nats: natsConnection, subjectPrefix: config.NATS_SUBJECT_PREFIX }),
        schedules,
        counties: config.SYNC_COUNTIES,
      }),
      readiness,
      errors: syncErrors,
      connectionLost: DATABASE_UNREACHABLE,
      logger,
      metrics: registry,
    });
    stops.push(['gRPC server', () => server.close(5_000)]);
    const metricsServer = await serveMetrics(registry, config.SYNC_METRICS_PORT, logger, opts.host);
    if (metricsServer) stops.push(['metrics server', () => metricsServer.close()]);

    let scheduler: Scheduler | undefined;
    if (config.SYNC_SCHEDULER_ENABLED || config.SYNC_FIRST_DEPLOY) {
      const s = startScheduler({
        orm,
        catalog: catalogClient,
        startRun,
        logger,
        schedule,
        jobs,
        instanceId,
        counties: config.SYNC_COUNTIES,
        cronEnabled: config.SYNC_SCHEDULER_ENABLED,
        firstDeploy: config.SYNC_FIRST_DEPLOY,
        integrityAtStart: config.SYNC_SCHEDULER_ENABLED,
      });
      scheduler = s;
      stops.push(['scheduler', () => s.stop()]);
    }

    logger.info(
      { port: server.port, workers: config.SYNC_WORKERS_ENABLED, concurrency: config.SYNC_CONCURRENCY, publisher: Boolean(publisher), scheduler: Boolean(scheduler) },
      'sync-orchestrator ready',
    );
    let closing: Promise<void> | undefined;
    return {
      url: server.url,
      port: server.port,
      config,
      orm,
      knex,
      runs,
      engine,
      publisher,
      scheduler,
      sweep,
      schedules,
      metrics: registry,
      gateway: gatewayClient,
      catalog: catalogClient,
      logger,
      close: () => (closing ??= closeAll()),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
