// sync.schedule_state: one row per job with its kind, cron (or max age), last and next fire, and
// whether an operator paused it. A tick is fired by the replica whose compare-and-set on
// last_fired_at wins (and never while the row says paused), so replicas never fire the same tick
// twice; a run-now holds the job's row lock while it starts its run, so concurrent run-nows (on
// any replicas) start one run. Pauses, resumes and run-nows are recorded in sync.schedule_changes.
import type { Knex, MikroORM } from '@mikro-orm/postgresql';

export type ScheduleKind = 'cron' | 'freshness';
export type ScheduleAction = 'pause' | 'resume' | 'run_now';

export interface ScheduleStateRow {
  job: string;
  cron: string;
  last_fired_at: Date | null;
  next_fire_at: Date | null;
  last_run_id: string | null;
  last_error: string | null;
  fired_by: string | null;
}

/** What ListSchedules reads of a job: its state, the status of its last run, its recent changes. */
export interface ScheduleView extends ScheduleStateRow {
  kind: string;
  max_age_s: string | null;
  paused: boolean;
  paused_by: string | null;
  paused_at: Date | null;
  last_run_status: string | null;
  changes: Array<{ action: ScheduleAction; by: string; at: Date; run_id: string | null }>;
}

/** How many changes per job a listing carries. */
export const RECENT_CHANGES = 5;

export function scheduleState(orm: MikroORM) {
  const conn = () => orm.em.getConnection();
  const knex = (): Knex => orm.em.getKnex();
  return {
    /** Records the job's cron (kind, max age) and next fire without touching last_fired_at or paused. */
    async register(job: string, cron: string, next: Date | null, kind: ScheduleKind = 'cron', maxAgeS: number | null = null): Promise<void> {
      await conn().execute(
        `insert into sync.schedule_state (job, cron, next_fire_at, kind, max_age_s) values (?, ?, ?, ?, ?)
         on conflict (job) do update set cron = excluded.cron, next_fire_at = excluded.next_fire_at, kind = excluded.kind, max_age_s = excluded.max_age_s, updated_at = now()`,
        [job, cron, next, kind, maxAgeS],
      );
    },
    /** Makes the job's row if it has none (a replica without the cron timers still steers it). */
    async ensure(job: string, cron: string, kind: ScheduleKind, maxAgeS: number | null): Promise<void> {
      await conn().execute(`insert into sync.schedule_state (job, cron, kind, max_age_s) values (?, ?, ?, ?) on conflict (job) do nothing`, [job, cron, kind, maxAgeS]);
    },
    /**
     * Pauses (or resumes) the job and records who did it, in one transaction; false when it was
     * already so (nothing changes, nothing is recorded).
     */
    async setPaused(job: string, paused: boolean, by: string): Promise<boolean> {
      return knex().transaction(async (trx) => {
        const rows = (await trx.raw(
          `update sync.schedule_state set paused = ?, paused_by = ?, paused_at = now(), updated_at = now() where job = ? and paused <> ? returning job`,
          [paused, by, job, paused],
        )) as { rows: unknown[] };
        if (rows.rows.length === 0) return false;
        await trx.raw(`insert into sync.schedule_changes (job, action, by) values (?, ?, ?)`, [job, paused ? 'pause' : 'resume', by]);
        return true;
      });
    },
    /**
     * Runs `fn` holding the job's row lock (select … for update): run-nows of one job, on any
     * replica, take turns, so the second sees the run the first started. `fn` gets the job's last
     * run id and that run's status; what it answers is recorded as the job's last run and as a
     * run_now change, in the same transaction.
     */
    async runNowLocked<T extends { runId?: string }>(job: string, by: string, fn: (last: { runId: string | null; status: string | null }) => Promise<T>): Promise<T> {
      return knex().transaction(async (trx) => {
        const found = (await trx.raw(
          `select s.last_run_id, r.status from sync.schedule_state s
             left join sync.runs r on r.id = case when s.last_run_id ~ '^[0-9]{1,18}$' then s.last_run_id::bigint end
           where s.job = ? for update of s`,
          [job],
        )) as { rows: Array<{ last_run_id: string | null; status: string | null }> };
        const row = found.rows[0];
        if (!row) throw new Error(`schedule_state has no row for job ${job}`);
        const out = await fn({ runId: row.last_run_id, status: row.status });
        if (out.runId) await trx.raw(`update sync.schedule_state set last_run_id = ?, last_error = null, updated_at = now() where job = ?`, [out.runId, job]);
        await trx.raw(`insert into sync.schedule_changes (job, action, by, run_id) values (?, 'run_now', ?, ?)`, [job, by, out.runId ?? null]);
        return out;
      });
    },
    /** The jobs' state, each with its last run's status and its RECENT_CHANGES newest changes. */
    async view(jobs: string[]): Promise<Map<string, ScheduleView>> {
      const out = new Map<string, ScheduleView>();
      if (jobs.length === 0) return out;
      const list = jobs.map(() => '?').join(', ');
      const rows = await conn().execute<Omit<ScheduleView, 'changes'>[]>(
        `select s.job, s.cron, s.kind, s.max_age_s, s.last_fired_at, s.next_fire_at, s.last_run_id, s.last_error, s.fired_by, s.paused, s.paused_by, s.paused_at, r.status as last_run_status
           from sync.schedule_state s
           left join sync.runs r on r.id = case when s.last_run_id ~ '^[0-9]{1,18}$' then s.last_run_id::bigint end
          where s.job in (${list})`,
        jobs,
      );
      const changes = await conn().execute<Array<{ job: string; action: ScheduleAction; by: string; at: Date; run_id: string | null }>>(
        `select job, action, by, at, run_id from (
           select c.*, row_number() over (partition by job order by id desc) as n from sync.schedule_changes c where job in (${list})
         ) x where n <= ? order by job, id desc`,
        [...jobs, RECENT_CHANGES],
      );
      for (const r of rows) out.set(r.job, { ...r, changes: [] });
      for (const c of changes) out.get(c.job)?.changes.push({ action: c.action, by: c.by, at: c.at, run_id: c.run_id });
      return out;
    },
    /** Claims the tick; true for exactly one caller per (job, tick), and for none while the job is paused. */
    async claim(job: string, cron: string, tick: Date, next: Date | null, by: string): Promise<boolean> {
      const rows = await conn().execute<{ job: string }[]>(
        `insert into sync.schedule_state (job, cron, last_fired_at, next_fire_at, fired_by, last_run_id, last_error) values (?, ?, ?, ?, ?, null, null)
         on conflict (job) do update set last_fired_at = excluded.last_fired_at, next_fire_at = excluded.next_fire_at,
           fired_by = excluded.fired_by, cron = excluded.cron, last_run_id = null, last_error = null, updated_at = now()
         where not sync.schedule_state.paused and (sync.schedule_state.last_fired_at is null or sync.schedule_state.last_fired_at < excluded.last_fired_at)
         returning job`,
        [job, cron, tick, next, by],
      );
      return rows.length === 1;
    },
    /**
     * Claims a one-off action (e.g. an INTEGRITY FULL) at most once per `cooldownMs` across
     * replicas: true when no claim exists or the last one is older than the cool-down.
     */
    async claimCooldown(job: string, at: Date, cooldownMs: number, by: string): Promise<boolean> {
      const rows = await conn().execute<{ job: string }[]>(
        `insert into sync.schedule_state (job, cron, kind, last_fired_at, fired_by) values (?, 'trigger', 'trigger', ?, ?)
         on conflict (job) do update set last_fired_at = excluded.last_fired_at, fired_by = excluded.fired_by, updated_at = now()
         where sync.schedule_state.last_fired_at is null or sync.schedule_state.last_fired_at <= excluded.last_fired_at - (? * interval '1 millisecond')
         returning job`,
        [job, at, by, cooldownMs],
      );
      return rows.length === 1;
    },
    /** Whether an operator has the job paused (false when it has no row yet). */
    async isPaused(job: string): Promise<boolean> {
      const rows = await conn().execute<{ paused: boolean }[]>(`select paused from sync.schedule_state where job = ?`, [job]);
      return rows[0]?.paused === true;
    },
    /** A continuous job's progress (the price-freshness sweep's last step and its next), for ListSchedules on any replica. */
    async progress(job: string, at: Date, next: Date | null, by: string, error: string | null): Promise<void> {
      await conn().execute(`update sync.schedule_state set last_fired_at = ?, next_fire_at = ?, fired_by = ?, last_error = ?, updated_at = now() where job = ?`, [at, next, by, error, job]);
    },
    async result(job: string, runId: string | null, error: string | null): Promise<void> {
      await conn().execute(`update sync.schedule_state set last_run_id = ?, last_error = ?, updated_at = now() where job = ?`, [runId, error, job]);
    },
    async all(): Promise<ScheduleStateRow[]> {
      return conn().execute<ScheduleStateRow[]>(`select job, cron, last_fired_at, next_fire_at, last_run_id, last_error, fired_by from sync.schedule_state order by job`);
    },
  };
}
