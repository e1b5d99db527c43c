// A run as stored (one row of sync.runs) and as answered (the sync.Run message). Pure.
import { create } from '@bufbuild/protobuf';
import { durationFromMs, timestampFromDate } from '@bufbuild/protobuf/wkt';
import { sync } from '@haier-sync/contracts';
import type { RunPhase, RunStatus } from './lifecycle';
import { enumValue } from '@haier-sync/runtime';

export interface RunScopeJson {
  codes: string[];
  category: string;
  brand: string;
  limit: number;
}

export interface RunOptionsJson {
  prices: boolean;
  stock: boolean;
  counties: string[];
  dryRun: boolean;
  /** Mirror images in each batch (absent in runs stored before the option: off). */
  images?: boolean;
  /** Revalidate every image, also those checked within SYNC_IMAGE_RECHECK_AFTER (absent: false). */
  recheckImages?: boolean;
}

/** A row of sync.runs as the pg driver returns it (bigint columns as strings). */
export interface RunRow {
  id: string;
  sync_type: string;
  mode: string;
  status: RunStatus;
  trigger: string;
  kind: string;
  scope: RunScopeJson;
  options: RunOptionsJson;
  started_by: string;
  phase: RunPhase;
  /** Tries of the current leased phase that ran and failed. */
  phase_attempts: number;
  /** Claims of the current leased phase (a process that died spent one). */
  phase_claims: number;
  last_error: string | null;
  total: string;
  succeeded: string;
  failed: string;
  created: string;
  updated: string;
  unchanged: string;
  /** Products whose stock changed (counted in updated unless created). */
  stock_changed: string;
  delisted: string;
  batches_total: string;
  batches_done: string;
  upstream_calls: string;
  message: string;
  planned_changes: string[];
  planned_changes_count: string;
  /** Codes the listing repeated (each planned once). */
  listing_duplicates: string[];
  /** The run whose failed products this one retries (RetryFailed). */
  retry_of?: string | null;
  /** W3C trace context the run's work continues (its StartRun call, or its first planning); null when untraced. */
  traceparent?: string | null;
  /** Date or ISO text (MikroORM's pg connection answers timestamps as text). */
  created_at: Date | string;
  started_at: Date | string | null;
  completed_at: Date | string | null;
}

export interface FailureRow {
  code: string;
  reason: string;
}

const big = (s: string | number | null | undefined): bigint => BigInt(s ?? 0);

/** A timestamp column as a Date (the driver may answer text). */
export function asDate(v: Date | string | null | undefined): Date | null {
  if (v === null || v === undefined) return null;
  return v instanceof Date ? v : new Date(v);
}

/** The answer for a run: the row, its failed items (already limited by the caller). */
export function toRunMessage(row: RunRow, failures: FailureRow[] = []): sync.Run {
  const end = asDate(row.completed_at);
  const start = asDate(row.started_at);
  const durationMs = start ? (end ?? new Date()).getTime() - start.getTime() : 0;
  const plannedCount = Number(row.planned_changes_count ?? 0);
  const planned = [...(row.planned_changes ?? [])];
  if (plannedCount > planned.length) planned.push(`… and ${plannedCount - planned.length} more`);
  return create(sync.RunSchema, {
    id: String(row.id),
    syncType: enumValue(sync.SyncType, row.sync_type),
    mode: enumValue(sync.RunMode, row.mode),
    status: enumValue(sync.RunStatus, row.status),
    trigger: enumValue(sync.RunTrigger, row.trigger),
    scope: {
      productCodes: row.scope.codes ?? [],
      category: row.scope.category ?? '',
      brand: row.scope.brand ?? '',
      limit: row.scope.limit ?? 0,
    },
    options: {
      prices: row.options.prices ?? false,
      stock: row.options.stock ?? false,
      countyCodes: row.options.counties ?? [],
      dryRun: row.options.dryRun ?? false,
      images: row.options.images ?? false,
      recheckImages: row.options.recheckImages ?? false,
    },
    startedBy: row.started_by,
    counts: {
      total: big(row.total),
      succeeded: big(row.succeeded),
      failed: big(row.failed),
      created: big(row.created),
      updated: big(row.updated),
      unchanged: big(row.unchanged),
      delisted: big(row.delisted),
      batchesTotal: big(row.batches_total),
      batchesDone: big(row.batches_done),
      upstreamCalls: big(row.upstream_calls),
    },
    message: row.message,
    createdAt: timestampFromDate(asDate(row.created_at) ?? new Date(0)),
    startedAt: start ? timestampFromDate(start) : undefined,
    completedAt: end ? timestampFromDate(end) : undefined,
    duration: start ? durationFromMs(Math.max(0, durationMs)) : undefined,
    failedItems: failures.map((f) => ({ productCode: f.code, reason: f.reason })),
    plannedChanges: planned,
    retryOf: row.retry_of ? String(row.retry_of) : '',
  });
}
