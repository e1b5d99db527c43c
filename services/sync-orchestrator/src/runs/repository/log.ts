// A run's own log (sync.run_log, sync.run_log_counts): lines appended in batches, at most `cap`
// kept per level per run, the counts exact past it. A run's appends take the run's advisory lock
// for their transaction, so its lines commit in seq order (a follower reading "seq > last" misses
// none) and the kept-count never passes the cap.
import type { Knex } from '../../db';
import { rows, type Db } from './sql';

export const LOG_LEVELS = ['INFO', 'SUCCESS', 'WARNING', 'ERROR', 'DEBUG'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogLine {
  level: LogLevel;
  message: string;
  code?: string;
  endpoint?: string;
  attempt?: number;
}

export interface LogLineRow {
  seq: string;
  at: Date | string;
  level: LogLevel;
  message: string;
  product_code: string;
  endpoint: string;
  attempt: number;
}

export interface LogCount {
  level: LogLevel;
  total: number;
  stored: number;
}

/** Cut to what a line may hold (a reason can be long). */
const MESSAGE_MAX = 2000;

/**
 * Appends lines to a run's log in one transaction (`db`'s, or a new one): the first lines of
 * each level up to `cap` kept, every line counted. Three statements whatever the number of lines.
 */
export async function appendLogLines(db: Db, runId: string, lines: readonly LogLine[], cap: number): Promise<void> {
  if (!lines.length) return;
  const work = async (trx: Knex.Transaction): Promise<void> => {
    await trx.raw(`select pg_advisory_xact_lock(hashtext(?))`, [`sync.run_log:${runId}`]);
    const have = new Map((await rows<{ level: LogLevel; stored: string }>(trx, `select level, stored from sync.run_log_counts where run_id = ?`, [runId])).map((r) => [r.level, Number(r.stored)]));
    const added = new Map<LogLevel, number>();
    const kept: LogLine[] = [];
    for (const l of lines) {
      const n = (added.get(l.level) ?? 0) + 1;
      added.set(l.level, n);
      if ((have.get(l.level) ?? 0) + n <= cap) kept.push(l);
    }
    if (kept.length) {
      await trx.raw(
        `insert into sync.run_log (run_id, level, message, product_code, endpoint, attempt)
         select ?, l.v->>'level', left(l.v->>'message', ${MESSAGE_MAX}), coalesce(l.v->>'code', ''), coalesce(l.v->>'endpoint', ''), coalesce((l.v->>'attempt')::int, 0)
         from jsonb_array_elements(?::jsonb) with ordinality as l(v, i) order by l.i`,
        [runId, JSON.stringify(kept)],
      );
    }
    const counts = [...added].map(([level, n]) => ({ level, n, stored: Math.min(cap, (have.get(level) ?? 0) + n) - Math.min(cap, have.get(level) ?? 0) }));
    await trx.raw(
      `insert into sync.run_log_counts as c (run_id, level, n, stored)
       select ?, x.level, x.n, x.stored from jsonb_to_recordset(?::jsonb) as x(level text, n bigint, stored bigint)
       on conflict (run_id, level) do update set n = c.n + excluded.n, stored = c.stored + excluded.stored`,
      [runId, JSON.stringify(counts)],
    );
  };
  // in the caller's transaction, under a savepoint: a line that cannot be written never undoes the caller's work
  await (db as Knex).transaction(work);
}

export interface LogFilter {
  levels?: readonly LogLevel[];
  code?: string;
  /** Lines after this seq. */
  afterSeq?: string;
}

function where(runId: string, f: LogFilter): [string, unknown[]] {
  const w = ['run_id = ?'];
  const b: unknown[] = [runId];
  if (f.levels?.length) (w.push(`level in (${f.levels.map(() => '?').join(', ')})`), b.push(...f.levels));
  if (f.code) (w.push('product_code = ?'), b.push(f.code));
  if (f.afterSeq) (w.push('seq > ?'), b.push(f.afterSeq));
  return [w.join(' and '), b];
}

/** Stored lines of a run, oldest first. */
export async function listLogLines(db: Db, runId: string, f: LogFilter, limit: number): Promise<LogLineRow[]> {
  const [w, b] = where(runId, f);
  return rows<LogLineRow>(db, `select seq, at, level, message, product_code, endpoint, attempt from sync.run_log where ${w} order by seq limit ?`, [...b, limit]);
}

/** Stored lines matching a filter (every page's). */
export async function countLogLines(db: Db, runId: string, f: Omit<LogFilter, 'afterSeq'>): Promise<number> {
  const [w, b] = where(runId, f);
  const [r] = await rows<{ n: string }>(db, `select count(*) as n from sync.run_log where ${w}`, b);
  return Number(r?.n ?? 0);
}

/** Lines written and kept per level (every level, zero when none). */
export async function logCounts(db: Db, runId: string): Promise<LogCount[]> {
  const got = new Map((await rows<{ level: LogLevel; n: string; stored: string }>(db, `select level, n, stored from sync.run_log_counts where run_id = ?`, [runId])).map((r) => [r.level, r]));
  return LOG_LEVELS.map((level) => ({ level, total: Number(got.get(level)?.n ?? 0), stored: Number(got.get(level)?.stored ?? 0) }));
}
