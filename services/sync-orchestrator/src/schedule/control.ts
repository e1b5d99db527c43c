// ListSchedules, PauseSchedule, ResumeSchedule and RunScheduleNow: the jobs of registry.ts with
// their state in sync.schedule_state. Pause and resume are one row update each (every replica's
// next tick reads it: no replica fires a paused job); run-now holds the job's row lock while it
// starts the run, so however many replicas are asked at once, one run starts and the others
// answer it (already_active). Every change is recorded in sync.schedule_changes with who asked.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { sync } from '@haier-sync/contracts';
import { enumValue, invalidArgument, notFound, redact, type Logger } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import { cronProbe } from './cron';
import type { ScheduledJob } from './registry';
import { scheduleState, type ScheduleView } from './state';

export interface ScheduleControlDeps {
  orm: MikroORM;
  jobs: ScheduledJob[];
  logger: Logger;
  /** The run a job's last firing started (for run-now's answer). */
  getRun: (id: string) => Promise<sync.Run>;
  /** Whether this replica runs the cron timers (SYNC_SCHEDULER_ENABLED). */
  schedulerEnabled: boolean;
}

export interface ScheduleControl {
  list(): Promise<sync.ListSchedulesResponse>;
  pause(name: string, by: string): Promise<sync.PauseScheduleResponse>;
  resume(name: string, by: string): Promise<sync.ResumeScheduleResponse>;
  runNow(name: string, by: string): Promise<sync.RunScheduleNowResponse>;
}

const ACTIVE = new Set(['PENDING', 'PROCESSING']);
const ts = (d: Date | null | undefined) => (d ? timestampFromDate(new Date(d)) : undefined);

/** When the job fires next: its next cron tick (or a freshness job's own due time); none while paused or switched off. */
export function nextFireOf(job: ScheduledJob, paused: boolean, now = new Date()): Date | null {
  if (paused || job.cron === null) return null;
  if (job.nextDue) return job.nextDue();
  if (!job.cron) return null;
  const c = cronProbe(job.cron);
  try {
    return c.nextRun(now);
  } finally {
    c.stop();
  }
}

/** One job as ListSchedules answers it. */
export function jobMessage(job: ScheduledJob, v: ScheduleView | undefined, now = new Date()): sync.ScheduleJob {
  const paused = v?.paused === true;
  return create(sync.ScheduleJobSchema, {
    name: job.name,
    kind: job.kind === 'freshness' ? sync.ScheduleKind.FRESHNESS : sync.ScheduleKind.CRON,
    description: job.description,
    cron: job.cron ?? '',
    maxAge: job.maxAgeMs === undefined ? undefined : durationFromMs(job.maxAgeMs),
    variable: job.variable,
    enabled: job.cron !== null,
    // a freshness job's next step is known where it runs; elsewhere, as that replica last recorded it
    nextFireAt: ts(nextFireOf(job, paused, now) ?? (job.kind === 'freshness' && !paused ? v?.next_fire_at : null)),
    lastFiredAt: ts(v?.last_fired_at),
    lastRunId: v?.last_run_id ?? '',
    lastRunStatus: v?.last_run_status ? enumValue(sync.RunStatus, v.last_run_status) : sync.RunStatus.UNSPECIFIED,
    lastError: v?.last_error ?? '',
    paused,
    pausedBy: paused ? (v?.paused_by ?? '') : '',
    pausedAt: paused ? ts(v?.paused_at) : undefined,
    recentChanges: (v?.changes ?? []).map((c) => ({ action: c.action, by: c.by, at: ts(c.at), runId: c.run_id ?? '' })),
  });
}

const NAME = /^[a-z][a-z0-9_]{0,63}$/;

export function scheduleControl(deps: ScheduleControlDeps): ScheduleControl {
  const log = deps.logger.child({ component: 'schedules' });
  const state = scheduleState(deps.orm);
  const byName = new Map(deps.jobs.map((j) => [j.name, j]));
  const known = () => deps.jobs.map((j) => j.name).join(', ');
  let rows: Promise<unknown> | undefined;

  /** Every job has its row (a replica without the cron timers steers the jobs too). */
  function ensureRows(): Promise<unknown> {
    rows ??= Promise.all(deps.jobs.map((j) => state.ensure(j.name, j.cron ?? 'off', j.kind, j.maxAgeMs === undefined ? null : Math.ceil(j.maxAgeMs / 1000)))).catch((err) => {
      rows = undefined;
      throw err;
    });
    return rows;
  }

  function jobOf(raw: string): ScheduledJob {
    const name = raw.trim().toLowerCase().replace(/-/g, '_');
    if (name === '') throw invalidArgument(`give the job's name, one of: ${known()}`, 'name');
    const job = NAME.test(name) ? byName.get(name) : undefined;
    if (!job) throw notFound(`there is no scheduled job ${JSON.stringify(raw.slice(0, 80))}; the jobs are: ${known()} (list them with ListSchedules, haier-sync schedules list or GET /api/haier/schedules/)`);
    return job;
  }

  async function one(job: ScheduledJob): Promise<sync.ScheduleJob> {
    return jobMessage(job, (await state.view([job.name])).get(job.name));
  }

  async function setPaused(raw: string, paused: boolean, by: string) {
    const job = jobOf(raw);
    await ensureRows();
    const changed = await state.setPaused(job.name, paused, by);
    if (changed) log.info({ job: job.name, by }, `scheduled job ${job.name} ${paused ? 'paused' : 'resumed'} by ${by}`);
    return { job: await one(job), changed };
  }

  return {
    async list() {
      await ensureRows();
      const views = await state.view(deps.jobs.map((j) => j.name));
      const now = new Date();
      return create(sync.ListSchedulesResponseSchema, { jobs: deps.jobs.map((j) => jobMessage(j, views.get(j.name), now)), schedulerEnabled: deps.schedulerEnabled });
    },
    async pause(name, by) {
      return create(sync.PauseScheduleResponseSchema, await setPaused(name, true, by));
    },
    async resume(name, by) {
      return create(sync.ResumeScheduleResponseSchema, await setPaused(name, false, by));
    },
    async runNow(raw, by) {
      const job = jobOf(raw);
      await ensureRows();
      const out = await state.runNowLocked(job.name, by, async (last) => {
        // the run the job's last firing started is still going: that is the run (not a second one)
        if (last.runId && last.status && ACTIVE.has(last.status)) {
          return { runId: last.runId, alreadyActive: true, message: `the ${job.name} job's run ${last.runId} is still ${last.status}; it was not started twice` };
        }
        return job.run({ by, manual: true });
      });
      log.info({ job: job.name, by, run_id: out.runId, already_active: out.alreadyActive === true }, `scheduled job ${job.name} run now by ${by}: ${redact(out.message)}`);
      const run = out.runId ? await deps.getRun(out.runId) : undefined;
      return create(sync.RunScheduleNowResponseSchema, { job: await one(job), run, alreadyActive: out.alreadyActive === true, message: out.message });
    },
  };
}
