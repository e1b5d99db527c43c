// What the run engine needs from the outside world, injected once (main.ts, tests).
import type { Client } from '@connectrpc/connect';
import type { catalog, gateway, sync } from '@haier-sync/contracts';
import type { Logger } from '@haier-sync/runtime';
import type { Knex } from '../db';
import type { BatchLimits } from './lifecycle';
import type { Dependencies } from './dependencies';
import type { UpsertFn } from './upsert-coalescer';
import type { RunObserver } from '../metrics';
import type { RunLog } from './run-log';

export interface EngineSettings extends BatchLimits {
  concurrency: number;
  leaseSeconds: number;
  counties: string[];
  lowStockThreshold: number;
  /** How long a run waits out an unavailable dependency before it fails (SYNC_DEPENDENCY_PATIENCE; default 5 min). */
  dependencyPatienceMs?: number;
  /** Lines kept per level per run in the run's log (SYNC_RUN_LOG_CAP; default 1,000). */
  runLogCap?: number;
  /** SYNC_IMAGE_RECHECK_AFTER: how long a checked image is left alone (0 = revalidate every image every run; default 7 d). */
  imageRecheckAfterMs?: number;
}

export interface RunDeps {
  knex: Knex;
  gateway: Client<typeof gateway.HaierGatewayService>;
  catalog: Client<typeof catalog.CatalogService>;
  logger: Logger;
  settings: EngineSettings;
  /** Alert for a FAILED or PARTIAL run (src/alerts.ts); never throws. */
  raiseAlert: (run: sync.Run) => Promise<unknown>;
  /** Wakes this process's engine (a new run, a run ready to finalise). */
  kick: () => void;
  /** How batches write products (the engine's coalescer; default: one UpsertProducts call each). */
  upsert?: UpsertFn;
  /** The engine's circuit breakers (dependencies.ts); without them calls go straight out. */
  dependencies?: Dependencies;
  /** Run, batch and product counts for Prometheus (src/metrics.ts); none when unset. */
  metrics?: RunObserver;
  /** The run's own log (run-log.ts); the engine makes one with settings.runLogCap when unset. */
  runLog?: RunLog;
}
