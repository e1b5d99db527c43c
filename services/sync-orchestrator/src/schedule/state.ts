// sync.schedule_state: one row per job with its cron, last and next fire. A tick is fired by the
// replica whose compare-and-set on last_fired_at wins, so replicas never fire the same tick twice.
import type { MikroORM } from '@mikro-orm/postgresql';

export interface ScheduleStateRow {
  job: string;
  cron: string;
  last_fired_at: Date | null;
  next_fire_at: Date | null;
  last_run_id: string | null;
  last_error: string | null;
  fired_by: string | null;
}

export function scheduleState(orm: MikroORM) {
  const conn = () => orm.em.getConnection();
  return {
    /** Records the job's cron and next fire without touching last_fired_at. */
    async register(job: string, cron: string, next: Date | null): Promise<void> {
      await conn().execute(
        `insert into sync.schedule_state (job, cron, next_fire_at) values (?, ?, ?)
         on conflict (job) do update set cron = excluded.cron, next_fire_at = excluded.next_fire_at, updated_at = now()`,
        [job, cron, next],
      );
    },
    /** Claims the tick; true for exactly one caller per (job, tick). */
    async claim(job: string, cron: string, tick: Date, next: Date | null, by: string): Promise<boolean> {
      const rows = await conn().execute<{ job: string }[]>(
        `insert into sync.schedule_state (job, cron, last_fired_at, next_fire_at, fired_by, last_run_id, last_error) values (?, ?, ?, ?, ?, null, null)
         on conflict (job) do update set last_fired_at = excluded.last_fired_at, next_fire_at = excluded.next_fire_at,
           fired_by = excluded.fired_by, cron = excluded.cron, last_run_id = null, last_error = null, updated_at = now()
         where sync.schedule_state.last_fired_at is null or sync.schedule_state.last_fired_at < excluded.last_fired_at
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
        `insert into sync.schedule_state (job, cron, last_fired_at, fired_by) values (?, 'trigger', ?, ?)
         on conflict (job) do update set last_fired_at = excluded.last_fired_at, fired_by = excluded.fired_by, updated_at = now()
         where sync.schedule_state.last_fired_at is null or sync.schedule_state.last_fired_at <= excluded.last_fired_at - (? * interval '1 millisecond')
         returning job`,
        [job, at, by, cooldownMs],
      );
      return rows.length === 1;
    },
    async result(job: string, runId: string | null, error: string | null): Promise<void> {
      await conn().execute(`update sync.schedule_state set last_run_id = ?, last_error = ?, updated_at = now() where job = ?`, [runId, error, job]);
    },
    async all(): Promise<ScheduleStateRow[]> {
      return conn().execute<ScheduleStateRow[]>(`select job, cron, last_fired_at, next_fire_at, last_run_id, last_error, fired_by from sync.schedule_state order by job`);
    },
  };
}
