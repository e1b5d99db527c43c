// The audit log: rows are buffered and written in batches (one INSERT per batch) so auditing
// every request costs no round trip on the request path; reads flush first.
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Logger } from '@haier-sync/runtime';
import { AuditEntry, type AuditRow } from './entities';

export type NewAuditRow = Omit<AuditRow, 'id'>;

export interface AuditQuery {
  key_name?: string;
  method?: string;
  path?: string;
  status?: number;
  /** Only the calls that change something (WRITE_METHODS). */
  writesOnly?: boolean;
  since?: Date;
  until?: Date;
  /** Only rows older than this id (the previous page's next_cursor). */
  beforeId?: string;
  limit: number;
}

/** The methods of calls that change something (the audit log's writes_only filter). */
export const WRITE_METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;

export interface AuditView {
  id: string;
  at: string;
  key_name: string | null;
  method: string;
  path: string;
  params: Record<string, unknown>;
  status: number;
  duration_ms: number;
  ip: string;
}

export class AuditStore {
  private buffer: NewAuditRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly orm: MikroORM,
    private readonly logger: Logger,
    private readonly opts = { flushMs: 200, maxBatch: 500 },
  ) {}

  record(row: NewAuditRow): void {
    this.buffer.push(row);
    if (this.buffer.length >= this.opts.maxBatch) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** Writes everything recorded so far (batches are written one after another, in order). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const rows = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(async () => {
      if (rows.length === 0) return;
      try {
        // ids come from the identity column; the rows are complete otherwise
        await this.orm.em.fork().insertMany(AuditEntry, rows as AuditRow[]);
      } catch (err) {
        if (!isDataError(err)) {
          this.logger.error({ err, rows: rows.length }, 'Could not write audit rows; check the database connection (DATABASE_URL).');
          return;
        }
        // a row Postgres cannot store must not take the rest of its batch with it
        for (const row of rows) {
          await this.orm.em
            .fork()
            .insertMany(AuditEntry, [row as AuditRow])
            .catch((e: unknown) =>
              this.logger.error({ err: e, method: row.method, path: row.path, status: row.status }, 'Postgres rejected an audit row as data; it is not stored (the rest of its batch is). Report this as a bug.'),
            );
        }
      }
    });
    return this.writing;
  }

  async query(q: AuditQuery): Promise<{ success: true; count: number; has_more: boolean; results: AuditView[]; next_cursor: string | null }> {
    await this.flush();
    const where: Record<string, unknown> = {};
    if (q.key_name) where.keyName = q.key_name;
    if (q.method) where.method = q.method.toUpperCase();
    if (q.writesOnly) where.method = q.method ? { $in: WRITE_METHODS.filter((m) => m === q.method!.toUpperCase()) } : { $in: [...WRITE_METHODS] };
    if (q.path) where.path = { $like: `${q.path.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
    if (q.status !== undefined) where.status = q.status;
    if (q.beforeId) where.id = { $lt: q.beforeId };
    if (q.since || q.until) where.at = { ...(q.since ? { $gte: q.since } : {}), ...(q.until ? { $lt: q.until } : {}) };
    // one row past the page says whether another follows (a total would count the whole log)
    const found = await this.orm.em.fork().find(AuditEntry, where, { orderBy: { id: 'desc' }, limit: q.limit + 1 });
    const rows = found.slice(0, q.limit);
    const more = found.length > q.limit;
    const last = rows[rows.length - 1];
    return {
      success: true,
      count: rows.length,
      has_more: more,
      next_cursor: more && last ? String(last.id) : null,
      results: rows.map((r) => ({
        id: String(r.id),
        at: r.at.toISOString(),
        key_name: r.keyName ?? null,
        method: r.method,
        path: r.path,
        params: r.params,
        status: r.status,
        duration_ms: r.durationMs,
        ip: r.ip,
      })),
    };
  }
}

/** A Postgres data exception (SQLSTATE class 22): the row is at fault, not the connection. */
function isDataError(err: unknown): boolean {
  const e = err as { sqlState?: unknown; code?: unknown } | undefined;
  const state = typeof e?.sqlState === 'string' ? e.sqlState : typeof e?.code === 'string' ? e.code : '';
  return state.startsWith('22');
}
