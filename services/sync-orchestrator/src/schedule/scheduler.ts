// The scheduler: the cron jobs (daily FULL, hourly prices, 15-minute low stock, hourly integrity
// check, and any job handed in `jobs`) and the start-up checks (first deployment, integrity).
// Every replica runs it; a tick is fired by the one replica whose claim in sync.schedule_state
// wins, and by none while an operator has the job paused (registry.ts, control.ts).
import { redact, sleep } from '@haier-sync/runtime';
import { Cron } from 'croner';
import { backoffDelay } from '../events/backoff';
import { cronProbe, scheduledTick } from './cron';
import { builtinJobs, instanceName, INTEGRITY_COOLDOWN_MS, type JobDeps, type ScheduledJob } from './registry';
import { scheduleState } from './state';
import { firstDeployCheck, integrityCheck, type TriggerDeps, type TriggerOutcome } from './triggers';

/** What the built-in jobs need (registry.ts), and the scheduler's own switches. */
export interface SchedulerDeps extends Omit<JobDeps, 'instanceId'> {
  /** The jobs (default: builtinJobs from the fields above); the app passes the list ListSchedules shows. */
  jobs?: ScheduledJob[];
  /** Cron jobs on (SYNC_SCHEDULER_ENABLED), default true. */
  cronEnabled?: boolean;
  /** FULL run when the catalog is empty at start (SYNC_FIRST_DEPLOY), default true. */
  firstDeploy?: boolean;
  /** Integrity check at start (after the first-deploy check), default true. */
  integrityAtStart?: boolean;
  /** Name of this replica in schedule_state.fired_by. */
  instanceId?: string;
}

export interface Scheduler {
  stop(): Promise<void>;
  /** Settles when the start-up checks are done (or stop() is called); their outcomes. */
  startupDone(): Promise<TriggerOutcome[]>;
  /** The next fire of each enabled job. */
  nextRuns(): Partial<Record<string, Date | null>>;
  /** Fires a job now as if its cron had ticked at `at` (tests: a fake clock); not while it is paused. */
  fire(job: string, at?: Date): Promise<{ fired: boolean; runId?: string }>;
}

/**
 * Validates the crons (throws ConfigError naming the variable), registers the jobs, starts the
 * start-up checks in the background and the cron timers. Never throws after that: failures are
 * logged and recorded in schedule_state.last_error.
 */
export function startScheduler(deps: SchedulerDeps): Scheduler {
  const log = deps.logger.child({ component: 'scheduler' });
  const state = scheduleState(deps.orm);
  const by = deps.instanceId ?? instanceName();
  const triggerDeps: TriggerDeps = { catalog: deps.catalog, startRun: deps.startRun, logger: log, counties: deps.counties };
  const cooldownMs = deps.integrityCooldownMs ?? INTEGRITY_COOLDOWN_MS;
  const abort = new AbortController();

  // every cron was validated by builtinJobs (a bad one stops the process with its variable named)
  const jobs = deps.jobs ?? builtinJobs({ ...deps, instanceId: by, integrityCooldownMs: cooldownMs });
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const ticking = jobs.filter((j): j is ScheduledJob & { cron: string } => j.cron !== null && j.cron !== '');

  const allowIntegrityRun = () => state.claimCooldown('integrity_full', new Date(), cooldownMs, by);

  const crons = new Map<string, Cron>();

  async function fire(name: string, at = new Date()): Promise<{ fired: boolean; runId?: string }> {
    const job = byName.get(name);
    if (!job) throw new Error(`there is no scheduled job "${name}" to fire`);
    // a job without a cron (switched off, or a continuous freshness job) fires at `at`, to the second
    let tick = new Date(Math.floor(at.getTime() / 1000) * 1000);
    let next: Date | null = null;
    if (job.cron) {
      const probe = crons.get(name) ?? cronProbe(job.cron);
      tick = scheduledTick(probe, at);
      next = probe.nextRun(at);
      if (!crons.has(name)) probe.stop();
    }
    if (!(await state.claim(name, job.cron || 'off', tick, next, by))) {
      log.debug({ job: name, tick: tick.toISOString() }, 'tick not fired here: another replica fired it, or the job is paused');
      return { fired: false };
    }
    try {
      const out = await job.run({ by: 'scheduler', manual: false });
      await state.result(name, out.runId ?? null, null);
      log.info({ job: name, tick: tick.toISOString(), run_id: out.runId }, `scheduled ${name} job fired`);
      return { fired: true, runId: out.runId };
    } catch (err) {
      const msg = redact(String((err as Error)?.message ?? err));
      await state.result(name, null, msg).catch(() => undefined);
      log.error({ job: name, tick: tick.toISOString(), err: msg }, `scheduled ${name} job failed; it fires again at its next tick (${next?.toISOString() ?? 'never'})`);
      return { fired: true };
    }
  }

  /** Ticks being fired now: stop() lets them record their result (a claimed tick without its run id would mislead). */
  const inFlight = new Set<Promise<unknown>>();
  if (deps.cronEnabled !== false) {
    for (const job of ticking) {
      const cron = new Cron(job.cron, { timezone: 'UTC', protect: true, unref: true, name: `sync-${job.name}-${by}` }, async () => {
        if (abort.signal.aborted) return;
        const firing = fire(job.name).catch((err) => log.error({ job: job.name, err: redact(String(err)) }, 'scheduled job could not be fired'));
        inFlight.add(firing);
        await firing.finally(() => inFlight.delete(firing));
      });
      crons.set(job.name, cron);
    }
    void Promise.all(
      jobs.map((j) => state.register(j.name, j.cron ?? 'off', crons.get(j.name)?.nextRun() ?? null, j.kind, j.maxAgeMs === undefined ? null : Math.ceil(j.maxAgeMs / 1000))),
    ).catch((err) => log.warn({ err: redact(String(err)) }, 'could not record the schedule in sync.schedule_state (the jobs still run)'));
    log.info({ jobs: Object.fromEntries(ticking.map((j) => [j.name, j.cron])) }, 'scheduler started (UTC)');
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
      for (const cron of crons.values()) cron.stop();
      await Promise.allSettled([...inFlight]);
      await startup.catch(() => undefined);
    },
    startupDone: () => startup,
    nextRuns: () => Object.fromEntries([...crons.entries()].map(([job, cron]) => [job, cron.nextRun()])),
    fire,
  };
}
