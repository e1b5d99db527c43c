// The lines of a run's own log (the old sync command's INFO, SUCCESS, WARNING, ERROR and DEBUG
// lines), made here and written through repository/log.ts. Every message passes through the
// runtime's redact(): no registered secret reaches a line.
//
// SUCCESS is one line per product (as the old command's ✓ line), not one per batch: lines are
// appended per group of completed batches in three statements whatever their number, and past
// the cap (SYNC_RUN_LOG_CAP per level per run, default 1,000) they are only counted, so a
// 50,000-product run keeps 1,000 SUCCESS lines and says "49,000 more".
import { redact, type Logger } from '@haier-sync/runtime';
import { itemRecords, type BatchOutcome } from './item-outcomes';
import type { RunRow } from './model';
import type { RunPlan } from './plan';
import { appendLogLines, type Db, type LogLine } from './repository';

export const DEFAULT_RUN_LOG_CAP = 1000;

/** The run-log writer of a process: its cap, and appends that never throw into the run's work. */
export interface RunLog {
  readonly cap: number;
  append(db: Db, runId: string, lines: readonly LogLine[]): Promise<void>;
}

export function createRunLog(cap = DEFAULT_RUN_LOG_CAP, logger?: Logger): RunLog {
  return {
    cap,
    async append(db, runId, lines) {
      try {
        await appendLogLines(db, runId, lines.map((l) => ({ ...l, message: redact(l.message) })), cap);
      } catch (err) {
        // the run's work goes on (the append ran under a savepoint); the process log says what was lost
        logger?.warn({ run_id: runId, lines: lines.length, err: redact(String(err)) }, 'could not write lines of the run log');
      }
    },
  };
}

/**
 * The upstream endpoint a failure reason is about, from the prefix the worker and the planner
 * give it (worker.ts, merge.ts, planner.ts): Haier's products, prices or stock, or the catalog.
 */
export function endpointOfReason(reason: string): string {
  if (/^(product|listing):/.test(reason)) return 'products';
  if (reason.startsWith('price:')) return 'prices';
  if (reason.startsWith('stock in ')) return 'stock';
  if (reason.startsWith('catalog')) return 'catalog';
  if (/^images? /.test(reason)) return 'images';
  return '';
}

const scopeText = (r: RunRow): string => {
  const s = r.scope;
  const parts = [
    s.codes.length ? `codes ${s.codes.slice(0, 20).join(',')}${s.codes.length > 20 ? ` (+${s.codes.length - 20} more)` : ''}` : '',
    s.category ? `category ${s.category}` : '',
    s.brand ? `brand ${s.brand}` : '',
    s.limit ? `limit ${s.limit}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'everything';
};

const optionsText = (r: RunRow): string => {
  const o = r.options;
  return [`prices ${o.prices ? 'yes' : 'no'}`, `stock ${o.stock ? `yes (counties ${o.counties.join(',')})` : 'no'}`, `images ${o.images ? (o.dryRun ? 'skipped (dry run)' : 'yes') : 'no'}`, ...(o.dryRun ? ['dry run'] : [])].join(', ');
};

/** INFO: who started the run, when, with what; DEBUG: how it is planned. */
export function startLines(r: RunRow, plan: RunPlan, startedAt: Date): LogLine[] {
  return [
    {
      level: 'INFO',
      message: `${r.mode} ${r.sync_type} run ${r.id} started by ${r.started_by || 'unknown'} at ${startedAt.toISOString()} (trigger ${r.trigger}; scope: ${scopeText(r)}; ${optionsText(r)})${r.retry_of ? `; retrying the failed products of run ${r.retry_of}` : ''}`,
    },
    {
      level: 'DEBUG',
      message: `plan: ${plan.strategy} strategy, prices ${plan.prices}, stock ${plan.stock}, delisting ${plan.delist ? 'what the listing lacks' : 'none'}${plan.belowThreshold !== undefined ? `, stock below ${plan.belowThreshold} only` : ''}`,
    },
  ];
}

/** INFO: planning done. */
export function plannedLine(r: RunRow): LogLine {
  return { level: 'INFO', message: `planned ${r.total} products in ${r.batches_total} batches` };
}

/** SUCCESS per product synced and WARNING per product failed (code, reason, endpoint, attempt) of a completed batch. */
export function batchLines(codes: readonly string[], o: BatchOutcome, attempt: number, dryRun: boolean): LogLine[] {
  const reasons = new Map(o.failures.map((f) => [f.code, f.reason]));
  const lines: LogLine[] = [];
  for (const it of itemRecords(codes, o)) {
    if (it.outcome === 'failed') {
      const reason = reasons.get(it.code) ?? 'the batch gave no result for this product; run again to retry it';
      lines.push({ level: 'WARNING', code: it.code, endpoint: endpointOfReason(reason), attempt, message: `${it.code} failed: ${reason}` });
    } else {
      const what = dryRun && it.outcome !== 'unchanged' ? `would be ${it.outcome}` : it.outcome;
      lines.push({ level: 'SUCCESS', code: it.code, attempt, message: `${it.code} ${what}${it.stockChanged ? ' (stock changed)' : ''}` });
    }
  }
  // images: a WARNING per image that failed (its product synced; see images.ts)
  lines.push(...(o.images?.lines ?? []));
  return lines;
}

/** ERROR: a batch's try failed as a whole (it is retried, or its products fail when out of attempts). */
export function batchFailedLine(seq: number, codes: number, attempt: number, maxAttempts: number, why: string): LogLine {
  const next = attempt < maxAttempts ? 'it is retried' : 'no attempt is left: its products fail';
  return { level: 'ERROR', attempt, message: `batch ${seq} (${codes} products) failed on attempt ${attempt} of ${maxAttempts}: ${why}; ${next}` };
}

/** ERROR for a batch given up, and WARNING per product it fails. */
export function batchGivenUpLines(seq: number, codes: readonly string[], attempts: number, reason: string): LogLine[] {
  return [
    { level: 'ERROR', attempt: attempts, message: `batch ${seq} (${codes.length} products) given up: ${reason}` },
    ...codes.map((code): LogLine => ({ level: 'WARNING', code, attempt: attempts, endpoint: endpointOfReason(reason), message: `${code} failed: ${reason}` })),
  ];
}

/** The run's end: INFO when it succeeded, WARNING when partial or cancelled, ERROR when it failed. */
export function endLine(status: string, message: string): LogLine {
  const level = status === 'SUCCESS' ? 'INFO' : status === 'FAILED' ? 'ERROR' : 'WARNING';
  return { level, message: `run ended ${status}: ${message}` };
}
