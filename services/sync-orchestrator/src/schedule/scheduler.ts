// The scheduler: the cron jobs (daily FULL, hourly prices, 15-minute low stock, hourly integrity
// check) and the start-up checks (first deployment, integrity). Every replica runs it; a tick is
// fired by the one replica whose claim in sync.schedule_state wins.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Client } from '@connectrpc/connect';
import { sync, type catalog } from '@haier-sync/contracts';
import { redact, sleep, type Logger } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import { Cron } from 'croner';
import { startedRun, type StartRun } from '../configs/service';
import { backoffDelay } from '../events/backoff';
import { parseCron, scheduledTick } from './cron';
import { DEFAULT_CRONS, JOB_NAMES, JOB_VARIABLES, lowStockRunRequest, pricesRunRequest, fullRunRequest, type JobName } from './jobs';
import type { Schedule } from './settings';
import { scheduleState } from './state';
import { firstDeployCheck, integrityCheck, type TriggerDeps, type TriggerOutcome } from './triggers';

export interface SchedulerDeps {
  orm: MikroORM;
  catalog: Client<typeof catalog.CatalogService>;
  /** The runs engine's start (A's service). */
  startRun: StartRun;
  logger: Logger;
  /** Cron per job (loadSchedule(env)); a missing job takes its default, null switches it off. */
  schedule?: Partial<Schedule>;
  /** SYNC_COUNTIES: stock of these counties in FULL and LOW_STOCK runs. */
  counties: string[];
  /** Cron jobs on (SYNC_SCHEDULER_ENABLED), default true. */
  cronEnabled?: boolean;
  /** FULL run when the catalog is empty at start (SYNC_FIRST_DEPLOY), default true. */
  firstDeploy?: boolean;
  /** Integrity check at start (after the first-deploy check), default true. */
  integrityAtStart?: boolean;
  /** At most one INTEGRITY FULL per this long across replicas, default 6 h. */
  integrityCooldownMs?: number;
  /** Name of this replica in schedule_state.fired_by. */
  instanceId?: string;
}

export interface Scheduler {
  stop(): Promise<void>;
  /** Settles when the start-up checks are done (or stop() is called); their outcomes. */
  startupDone(): Promise<TriggerOutcome[]>;
  /** The next fire of each enabled job. */
  nextRuns(): Partial<Record<JobName, Date | null>>;
  /** Fires a job now as if its cron had ticked (operators, tests). */
  fire(job: JobName, at?: Date): Promise<{ fired: boolean; runId?: string }>;
}

/**
 * Validates the crons (throws ConfigError naming the variable), registers the jobs, starts the
 * start-up checks in the background and the cron timers. Never throws after that: failures are
 * logged and recorded in schedule_state.last_error.
 */
export function startScheduler(deps: SchedulerDeps): Scheduler {
  const log = deps.logger.child({ component: 'scheduler' });
  const state = scheduleState(deps.orm);
  const by = deps.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const triggerDeps: TriggerDeps = { catalog: deps.catalog, startRun: deps.startRun, logger: log, counties: deps.counties };
  const cooldownMs = deps.integrityCooldownMs ?? 6 * 3_600_000;
  const abort = new AbortController();

  // validate every cron before starting anything (a bad one stops the process with its variable named)
  const exprs: Array<[JobName, string]> = [];
  for (const job of JOB_NAMES) {
    const expr = deps.schedule?.[job] === undefined ? DEFAULT_CRONS[job] : deps.schedule[job];
    if (expr === null) continue;
    parseCron(JOB_VARIABLES[job], expr).stop();
    exprs.push([job, expr]);
  }

  const allowIntegrityRun = () => state.claimCooldown('integrity_full', new Date(), cooldownMs, by);

  async function runJob(job: JobName): Promise<string | undefined> {
    switch (job) {
      case 'full':
        return startedRun(await deps.startRun(fullRunRequest(sync.RunTrigger.SCHEDULE, deps.counties))).run?.id;
      case 'prices':
        return startedRun(await deps.startRun(pricesRunRequest())).run?.id;
      case 'low_stock':
        return startedRun(await deps.startRun(lowStockRunRequest(deps.counties))).run?.id;
      case 'integrity': {
        const out = await integrityCheck(triggerDeps, allowIntegrityRun);
        return out.action === 'none' ? undefined : out.runId;
      }
    }
  }

  const crons = new Map<JobName, { expr: string; cron: Cron }>();

  async function fire(job: JobName, at = new Date()): Promise<{ fired: boolean; runId?: string }> {
    const entry = crons.get(job);
    const expr = entry?.expr ?? deps.schedule?.[job] ?? DEFAULT_CRONS[job];
    const probe = entry?.cron ?? parseCron(JOB_VARIABLES[job], expr);
    const tick = scheduledTick(probe, at);
    const next = probe.nextRun(at);
    if (!entry) probe.stop();
    if (!(await state.claim(job, expr, tick, next, by))) {
      log.debug({ job, tick: tick.toISOString() }, 'tick already fired by another replica');
      return { fired: false };
    }
    try {
      const runId = await runJob(job);
      await state.result(job, runId ?? null, null);
      log.info({ job, tick: tick.toISOString(), run_id: runId }, `scheduled ${job} job fired`);
      return { fired: true, runId };
    } catch (err) {
      const msg = redact(String((err as Error)?.message ?? err));
      await state.result(job, null, msg).catch(() => undefined);
      log.error({ job, tick: tick.toISOString(), err: msg }, `scheduled ${job} job failed; it fires again at its next tick (${next?.toISOString() ?? 'never'})`);
      return { fired: true };
    }
  }

  /** Ticks being fired now: stop() lets them record their result (a claimed tick without its run id would mislead). */
  const inFlight = new Set<Promise<unknown>>();
  if (deps.cronEnabled !== false) {
    for (const [job, expr] of exprs) {
      const cron = new Cron(expr, { timezone: 'UTC', protect: true, unref: true, name: `sync-${job}-${by}` }, async () => {
        if (abort.signal.aborted) return;
        const firing = fire(job).catch((err) => log.error({ job, err: redact(String(err)) }, 'scheduled job could not be fired'));
        inFlight.add(firing);
        await firing.finally(() => inFlight.delete(firing));
      });
      crons.set(job, { expr, cron });
    }
    void Promise.all(exprs.map(([job, expr]) => state.register(job, expr, crons.get(job)?.cron.nextRun() ?? null))).catch((err) =>
      log.warn({ err: redact(String(err)) }, 'could not record the schedule in sync.schedule_state (the jobs still run)'),
    );
    log.info({ jobs: Object.fromEntries(exprs) }, 'scheduler started (UTC)');
  }

  // start-up checks: retried with back-off until the catalog answers (it may start after us)
  const startup = (async (): Promise<TriggerOutcome[]> => {
    const outcomes: TriggerOutcome[] = [];
    const checks: Array<[string, () => Promise<TriggerOutcome>]> = [];
    let empty = false;
    if (deps.firstDeploy !== false) {
      checks.push([
        'first-deploy',
        async () => {
          const out = await firstDeployCheck(triggerDeps);
          empty = out.action !== 'none';
          return out;
        },
      ]);
    }
    if (deps.integrityAtStart !== false) {
      checks.push(['integrity', async () => (empty ? { action: 'none', reason: 'the catalog is empty; the FULL sync fills it' } : integrityCheck(triggerDeps, allowIntegrityRun))]);
    }
    for (const [name, check] of checks) {
      for (let attempt = 1; !abort.signal.aborted; attempt++) {
        try {
          outcomes.push(await check());
          break;
        } catch (err) {
          if (attempt === 1 || attempt % 10 === 0) {
            log.warn({ check: name, attempt, err: redact(String((err as Error)?.message ?? err)) }, `start-up ${name} check failed (is the catalog up? CATALOG_URL); retrying`);
          }
          await sleep(backoffDelay(attempt, 500, 30_000), abort.signal);
        }
      }
    }
    return outcomes;
  })();

  return {
    async stop() {
      abort.abort();
      for (const { cron } of crons.values()) cron.stop();
      await Promise.allSettled([...inFlight]);
      await startup.catch(() => undefined);
    },
    startupDone: () => startup,
    nextRuns: () => Object.fromEntries([...crons.entries()].map(([job, { cron }]) => [job, cron.nextRun()])),
    fire,
  };
}
