// The scheduled jobs as values: what each is (a cron job, or a freshness job with a max-age
// target), what sets it, and what firing it does. The scheduler's timers, ListSchedules and
// run-now all go through this one list; another component (the price-freshness sweep) adds its
// job by handing one more ScheduledJob to startOrchestrator's jobs.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Client } from '@connectrpc/connect';
import { sync, type catalog } from '@haier-sync/contracts';
import type { Logger } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import { startedRun, type StartRun } from '../configs/service';
import { parseCron } from './cron';
import { DEFAULT_CRONS, JOB_NAMES, JOB_VARIABLES, fullRunRequest, lowStockRunRequest, pricesRunRequest, type JobName } from './jobs';
import type { Schedule } from './settings';
import { scheduleState, type ScheduleKind } from './state';
import { integrityCheck, type TriggerDeps } from './triggers';

/** What firing a job did: the run it started or joined (already active), or why it started none. */
export interface JobOutcome {
  runId?: string;
  alreadyActive?: boolean;
  message: string;
}

export interface ScheduledJob {
  /** Lower case, digits and "_" (full, prices, low_stock, integrity, price_freshness, ...). */
  name: string;
  kind: ScheduleKind;
  description: string;
  /** The environment variable that sets it. */
  variable: string;
  /** cron: its expression (UTC), null when switched off. freshness: how often it checks ("" = continuously, its own loop). */
  cron: string | null;
  /** freshness: the max age it keeps its data under. */
  maxAgeMs?: number;
  /** Does the job's work: `by` is "scheduler" for a tick, the operator for a run-now (`manual`). */
  run(opts: { by: string; manual: boolean }): Promise<JobOutcome>;
  /** freshness: when it is due next (the sweep knows); unset = the next cron tick, or none. */
  nextDue?(): Date | null;
}

export interface JobDeps {
  orm: MikroORM;
  catalog: Client<typeof catalog.CatalogService>;
  /** The runs engine's start. */
  startRun: StartRun;
  logger: Logger;
  /** Cron per job (loadSchedule(env)); a missing job takes its default, null switches it off. */
  schedule?: Partial<Schedule>;
  counties: string[];
  /** At most one INTEGRITY FULL per this long across replicas from the hourly job, default INTEGRITY_COOLDOWN_MS. */
  integrityCooldownMs?: number;
  /** Name of this replica (schedule_state.fired_by). */
  instanceId: string;
}

/** At most one INTEGRITY FULL per this long across replicas (the hourly job and the start-up check). */
export const INTEGRITY_COOLDOWN_MS = 6 * 3_600_000;

/** A name for this replica: host, pid and a few random bytes. */
export function instanceName(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

const DESCRIPTIONS: Record<JobName, string> = {
  full: 'FULL sync: every procurable product, prices and stock of SYNC_COUNTIES, then delisting',
  prices: 'INCREMENTAL PRICES run: prices of every procurable product',
  low_stock: 'INCREMENTAL STOCK run: stock of the products below SYNC_LOW_STOCK_THRESHOLD',
  integrity: "the catalog's integrity check; a FULL sync (trigger INTEGRITY) when it fails",
};

function outcomeOf(job: string, res: { run?: sync.Run; alreadyActive: boolean }): JobOutcome {
  const id = res.run?.id;
  if (!id) return { message: `the ${job} job started no run` };
  return res.alreadyActive
    ? { runId: id, alreadyActive: true, message: `a run of this kind is already active (run ${id}); it was not started twice` }
    : { runId: id, message: `started run ${id}` };
}

/**
 * The four built-in cron jobs (SYNC_SCHEDULE_FULL, _PRICES, _LOW_STOCK, _INTEGRITY). Throws
 * ConfigError naming the variable of an invalid cron.
 */
export function builtinJobs(deps: JobDeps): ScheduledJob[] {
  const state = scheduleState(deps.orm);
  const cooldownMs = deps.integrityCooldownMs ?? INTEGRITY_COOLDOWN_MS;
  const triggerDeps: TriggerDeps = { catalog: deps.catalog, startRun: deps.startRun, logger: deps.logger.child({ component: 'scheduler' }), counties: deps.counties };
  const start = async (job: string, req: sync.StartRunRequest) => outcomeOf(job, startedRun(await deps.startRun(req)));
  const work: Record<JobName, (by: string, manual: boolean) => Promise<JobOutcome>> = {
    full: (by) => start('full', fullRunRequest(sync.RunTrigger.SCHEDULE, deps.counties, by)),
    prices: (by) => start('prices', pricesRunRequest(by)),
    low_stock: (by) => start('low_stock', lowStockRunRequest(deps.counties, by)),
    integrity: async (_by, manual) => {
      // the hourly job keeps the cool-down; an operator's run-now is an explicit ask (it still
      // moves the cool-down, so the next tick does not repeat it)
      const out = await integrityCheck(triggerDeps, () => state.claimCooldown('integrity_full', new Date(), manual ? 0 : cooldownMs, deps.instanceId));
      if (out.action === 'none') return { message: out.reason };
      return { runId: out.runId, alreadyActive: out.action === 'joined', message: `${out.reason}: ${out.action === 'joined' ? 'the active FULL run is' : 'started FULL run'} ${out.runId}` };
    },
  };
  return JOB_NAMES.map((name) => {
    const expr = deps.schedule?.[name] === undefined ? DEFAULT_CRONS[name] : deps.schedule[name];
    if (expr !== null) parseCron(JOB_VARIABLES[name], expr).stop();
    return {
      name,
      kind: 'cron' as const,
      description: DESCRIPTIONS[name],
      variable: JOB_VARIABLES[name],
      cron: expr,
      run: ({ by, manual }) => work[name](by, manual),
    };
  });
}
