// What the SyncService answers about runs: start (or the active run of the same kind), get,
// list, cancel, watch, and recording a live operation. Errors are ConnectErrors in an
// operator's words.
import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { rules, sync } from '@haier-sync/contracts';
import { enumName, failedPrecondition, invalidArgument, notFound, sleep, type Logger } from '@haier-sync/runtime';
import type { Knex } from '../db';
import { FAILED_ITEMS_IN_ANSWER } from './finish';
import { isFinal } from './lifecycle';
import { asDate, toRunMessage, type RunRow } from './model';
import { createRunLog, type RunLog } from './run-log';
import { appendRunEvent } from './outbox';
import { normaliseStartRun, type NormalisedRun } from './request';
import {
  cancelRunRow,
  countLogLines,
  failedCodes,
  findActiveRun,
  getFailures,
  getRunRow,
  insertOperation,
  insertRun,
  listLogLines,
  listRunRows,
  lockKind,
  logCounts,
  type LogCount,
  type LogFilter,
  type LogLevel,
  type LogLineRow,
  type RunFilter,
} from './repository';

export interface RunsApiDeps {
  knex: Knex;
  logger: Logger;
  counties: string[];
  /** SYNC_IMAGES_IN_FULL: FULL runs mirror images unless they say otherwise (default true). */
  imagesInFull?: boolean;
  /** Wakes the local engine (a new run is waiting). */
  kick: () => void;
  /** The run-log writer (its cap); default: createRunLog() with the default cap. */
  runLog?: RunLog;
}

/** A run id by the rulebook (requests were checked by the interceptor; internal callers and the cursor are checked here). */
function checkId(id: string, field = 'id'): string {
  const problem = rules.checkText(rules.runId, id);
  if (problem) throw invalidArgument(problem, field);
  return id;
}

export interface RunsApi {
  startRun(req: sync.StartRunRequest): Promise<{ run: sync.Run; alreadyActive: boolean }>;
  getRun(id: string): Promise<sync.Run>;
  listRuns(req: sync.ListRunsRequest): Promise<sync.ListRunsResponse>;
  cancelRun(id: string, by: string): Promise<sync.Run>;
  /** A MANUAL run over exactly the products that failed in an ended run, linked to it. */
  retryFailed(id: string, by: string): Promise<{ run: sync.Run; alreadyActive: boolean }>;
  watchRun(id: string, signal: AbortSignal, pollMs?: number): AsyncGenerator<sync.Run>;
  /** A run's log lines, oldest first, filtered and paged, with the counts per level. */
  listRunLog(req: sync.ListRunLogRequest): Promise<sync.ListRunLogResponse>;
  /** The stored lines, then new ones as they are written, until the run ends (the last answer: ended, counts). */
  watchRunLog(req: sync.WatchRunLogRequest, signal: AbortSignal, pollMs?: number): AsyncGenerator<sync.WatchRunLogResponse>;
  recordOperation(req: sync.RecordOperationRequest): Promise<sync.Run>;
}

function lineOut(r: LogLineRow): sync.RunLogLine {
  return create(sync.RunLogLineSchema, {
    seq: BigInt(r.seq),
    at: timestampFromDate(asDate(r.at) ?? new Date()),
    level: sync.LogLevel[r.level],
    message: r.message,
    productCode: r.product_code,
    endpoint: r.endpoint,
    attempt: r.attempt,
  });
}

function countsOut(counts: readonly LogCount[]): sync.RunLogCount[] {
  return counts.map((c) => create(sync.RunLogCountSchema, { level: sync.LogLevel[c.level], total: BigInt(c.total), stored: BigInt(c.stored), dropped: BigInt(c.total - c.stored) }));
}

function logFilter(levels: readonly sync.LogLevel[], code: string): LogFilter {
  const names = levels.map((l) => {
    const name = enumName(sync.LogLevel, l);
    if (!name) throw invalidArgument(`unknown log level ${l}; use INFO, SUCCESS, WARNING, ERROR or DEBUG`, 'levels');
    return name as LogLevel;
  });
  return { levels: names, code: code || undefined };
}

export function createRunsApi(deps: RunsApiDeps): RunsApi {
  const { knex } = deps;
  const runLog = deps.runLog ?? createRunLog(undefined, deps.logger);
  const log = deps.logger.child({ component: 'runs-api' });

  async function answer(row: RunRow): Promise<sync.Run> {
    return toRunMessage(row, await getFailures(knex, row.id, FAILED_ITEMS_IN_ANSWER));
  }

  async function load(id: string): Promise<RunRow> {
    const row = await getRunRow(knex, checkId(id));
    if (!row) throw notFound(`there is no run ${id}; list runs with ListRuns (haier-sync runs list)`);
    return row;
  }

  async function start(n: NormalisedRun, retryOf?: string): Promise<{ run: sync.Run; alreadyActive: boolean }> {
    const { row, alreadyActive } = await knex.transaction(async (trx) => {
      // the advisory lock serialises StartRuns of one kind: the second sees the first
      await lockKind(trx, n.kind);
      const active = await findActiveRun(trx, n.kind);
      if (active) return { row: active, alreadyActive: true };
      return { row: await insertRun(trx, { ...n, retryOf }), alreadyActive: false };
    });
    if (alreadyActive) log.info({ run_id: row.id, kind: n.kind }, `a ${n.mode} ${n.syncType} run of this kind is already active (run ${row.id}); answering it`);
    else
      log.info(
        { run_id: row.id, kind: n.kind, started_by: n.startedBy, trigger: n.trigger, scope: n.scope, options: n.options, ...(retryOf ? { retry_of: retryOf } : {}) },
        `${n.mode} ${n.syncType} run ${row.id} requested${retryOf ? ` (retrying the failed products of run ${retryOf})` : ''}`,
      );
    deps.kick();
    return { run: await answer(row), alreadyActive };
  }

  return {
    async startRun(req) {
      return start(normaliseStartRun(req, { counties: deps.counties, imagesInFull: deps.imagesInFull })); // a RequestError is INVALID_ARGUMENT (syncErrors)
    },

    async retryFailed(id, by) {
      const original = await load(id);
      if (!isFinal(original.status)) {
        throw failedPrecondition(`run ${id} is still ${original.status}; retry its failed products once it has ended (haier-sync runs watch ${id})`);
      }
      if (original.kind.startsWith('OPERATION:')) throw failedPrecondition(`run ${id} is a recorded live lookup, not a sync run; there is nothing to retry`);
      const codes = await failedCodes(knex, original.id);
      if (!codes.length) throw failedPrecondition(`run ${id} ended ${original.status} with no failed products; there is nothing to retry`);
      const o = original.options;
      const req = create(sync.StartRunRequestSchema, {
        trigger: sync.RunTrigger.MANUAL,
        scope: { productCodes: codes },
        // what the run would have done for them: prices with a FULL run, stock where it was asked
        options: { prices: o.prices || original.mode === 'FULL', stock: o.stock, countyCodes: o.stock ? o.counties : [], dryRun: o.dryRun, images: o.images ?? false, recheckImages: o.recheckImages ?? false },
        startedBy: by,
      });
      return start(normaliseStartRun(req, { counties: deps.counties, imagesInFull: deps.imagesInFull }), original.id);
    },

    async getRun(id) {
      return answer(await load(id));
    },

    async listRuns(req) {
      const size = req.pageSize === 0 ? 50 : req.pageSize;
      if (size < 1 || size > 200) throw invalidArgument(`page_size must be from 1 to 200 (default 50); got ${req.pageSize}`, 'page_size');
      const f: RunFilter = {};
      if (req.syncType !== sync.SyncType.UNSPECIFIED) {
        const name = enumName(sync.SyncType, req.syncType);
        if (!name) throw invalidArgument(`unknown sync_type ${req.syncType}`, 'sync_type');
        f.syncType = name;
      }
      if (req.status !== sync.RunStatus.UNSPECIFIED) {
        const name = enumName(sync.RunStatus, req.status);
        if (!name) throw invalidArgument(`unknown status ${req.status}`, 'status');
        f.status = name;
      }
      if (req.trigger !== sync.RunTrigger.UNSPECIFIED) {
        const name = enumName(sync.RunTrigger, req.trigger);
        if (!name) throw invalidArgument(`unknown trigger ${req.trigger}`, 'trigger');
        f.trigger = name;
      }
      if (req.since) f.since = timestampDate(req.since);
      if (req.until) f.until = timestampDate(req.until);
      if (f.since && f.until && f.since >= f.until) throw invalidArgument('since must be before until', 'since');
      if (req.includeOperations) f.includeOperations = true;
      if (req.cursor !== '') f.beforeId = checkId(req.cursor, 'cursor');
      const { rows, total } = await listRunRows(knex, f, size + 1);
      const page = rows.slice(0, size);
      const runs = page.map((r) => toRunMessage(r));
      return create(sync.ListRunsResponseSchema, {
        runs,
        nextCursor: rows.length > size ? String(page[page.length - 1]!.id) : '',
        total: BigInt(total),
      });
    },

    async cancelRun(id, by) {
      const runId = checkId(id);
      const who = by.trim().slice(0, 200) || 'unknown';
      const row = await knex.transaction(async (trx) => {
        const cur = await getRunRow(trx, runId, true);
        if (!cur) throw notFound(`there is no run ${runId}; list runs with ListRuns (haier-sync runs list)`);
        if (isFinal(cur.status)) throw failedPrecondition(`run ${runId} has already ended (${cur.status}); only a PENDING or PROCESSING run can be cancelled`);
        const updated = await cancelRunRow(
          trx,
          runId,
          `${cur.mode} ${cur.sync_type} run ${runId} cancelled by ${who} after ${cur.batches_done} of ${cur.batches_total} batches (${cur.succeeded} products synced, ${cur.failed} failed); what was done stays done`,
        );
        if (!updated) throw failedPrecondition(`run ${runId} cannot be cancelled in its state (${cur.status}, ${cur.phase}); only a PENDING or PROCESSING run can be cancelled`);
        // open batches stay as they are: nothing claims batches of a run that is not PROCESSING
        const msg = toRunMessage(updated, await getFailures(trx, runId, FAILED_ITEMS_IN_ANSWER));
        await appendRunEvent(trx, 'completed', msg);
        await runLog.append(trx, runId, [{ level: 'WARNING', message: `run ended CANCELLED: ${updated.message}` }]);
        return updated;
      });
      log.info({ run_id: runId, by: who }, row.message);
      return answer(row);
    },

    async *watchRun(id, signal, pollMs = 250) {
      let row = await load(id);
      let last = '';
      for (;;) {
        const key = `${row.status}|${row.phase}|${row.batches_done}|${row.batches_total}|${row.total}|${row.failed}`;
        if (key !== last || isFinal(row.status)) {
          last = key;
          yield isFinal(row.status) ? await answer(row) : toRunMessage(row);
        }
        if (isFinal(row.status) || signal.aborted) return;
        await sleep(pollMs, signal);
        if (signal.aborted) return;
        row = (await getRunRow(knex, row.id)) ?? row;
      }
    },

    async listRunLog(req) {
      const row = await load(req.runId);
      const size = req.pageSize === 0 ? 100 : req.pageSize;
      if (size < 1 || size > 1000) throw invalidArgument(`page_size must be from 1 to 1000 (default 100); got ${req.pageSize}`, 'page_size');
      if (req.pageToken !== '' && !/^[0-9]{1,19}$/.test(req.pageToken)) throw invalidArgument('page_token is not one this API gave (use next_page_token of the previous page)', 'page_token');
      const f = logFilter(req.levels, req.productCode);
      const lines = await listLogLines(knex, row.id, { ...f, afterSeq: req.pageToken || undefined }, size + 1);
      const page = lines.slice(0, size);
      return create(sync.ListRunLogResponseSchema, {
        lines: page.map(lineOut),
        nextPageToken: lines.length > size ? String(page[page.length - 1]!.seq) : '',
        total: BigInt(await countLogLines(knex, row.id, f)),
        counts: countsOut(await logCounts(knex, row.id)),
        cap: runLog.cap,
      });
    },

    async *watchRunLog(req, signal, pollMs = 250) {
      let row = await load(req.runId);
      const f = logFilter(req.levels, req.productCode);
      let after = req.afterSeq > 0n ? String(req.afterSeq) : undefined;
      for (;;) {
        // the status first: a run seen ended has every line committed (its end line commits with it)
        const ended = isFinal(row.status);
        for (;;) {
          const lines = await listLogLines(knex, row.id, { ...f, afterSeq: after }, 500);
          if (!lines.length) break;
          after = String(lines[lines.length - 1]!.seq);
          yield create(sync.WatchRunLogResponseSchema, { lines: lines.map(lineOut) });
          if (signal.aborted) return;
          if (lines.length < 500) break;
        }
        if (ended) {
          yield create(sync.WatchRunLogResponseSchema, { ended: true, counts: countsOut(await logCounts(knex, row.id)), cap: runLog.cap });
          return;
        }
        if (signal.aborted) return;
        await sleep(pollMs, signal);
        if (signal.aborted) return;
        row = (await getRunRow(knex, row.id)) ?? row;
      }
    },

    async recordOperation(req) {
      if (req.syncType === sync.SyncType.UNSPECIFIED) throw invalidArgument('sync_type is required (e.g. ORDER, LOGISTICS, PRODUCTS)', 'sync_type');
      const syncType = enumName(sync.SyncType, req.syncType);
      if (!syncType) throw invalidArgument(`unknown sync_type ${req.syncType}`, 'sync_type');
      const status = enumName(sync.RunStatus, req.status);
      if (!status || !isFinal(status)) throw invalidArgument('status must be a final status (SUCCESS, FAILED, PARTIAL or CANCELLED) for a finished operation', 'status');
      if (req.message.length > 4000) throw invalidArgument('message: at most 4000 characters', 'message');
      const startedAt = req.startedAt ? timestampDate(req.startedAt) : new Date();
      const completedAt = req.completedAt ? timestampDate(req.completedAt) : new Date();
      if (completedAt < startedAt) throw invalidArgument('completed_at is before started_at', 'completed_at');
      const row = await insertOperation(knex, {
        syncType,
        status,
        message: req.message,
        startedBy: req.startedBy.trim().slice(0, 200) || 'unknown',
        total: Number(req.total),
        succeeded: Number(req.succeeded),
        failed: Number(req.failed),
        startedAt,
        completedAt,
      });
      return toRunMessage(row);
    },
  };
}
