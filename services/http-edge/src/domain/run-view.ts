// Runs as REST answers: the run resource of /sync/ and the original's log entry of /logs/ (pure).
import { sync } from '@haier-sync/contracts';
import type { Duration, Timestamp } from '@bufbuild/protobuf/wkt';
import { enumName } from '@haier-sync/runtime';
import { STATUS_LABELS, SYNC_TYPE_LABELS } from './enums';

export function iso(t: Timestamp | undefined): string | null {
  if (!t) return null;
  const ms = Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
  return new Date(ms).toISOString();
}

/** Seconds as a number with millisecond precision (not money: a float is fine). */
export function seconds(d: Duration | undefined): number | null {
  if (!d) return null;
  return Math.round((Number(d.seconds) + d.nanos / 1e9) * 1000) / 1000;
}

function durationOf(run: sync.Run): number | null {
  const d = seconds(run.duration);
  if (d !== null) return d;
  const a = iso(run.startedAt);
  const b = iso(run.completedAt);
  return a && b ? (Date.parse(b) - Date.parse(a)) / 1000 : null;
}

function countsOut(c: sync.RunCounts | undefined) {
  const n = (v: bigint | undefined) => Number(v ?? 0n);
  return {
    total: n(c?.total),
    succeeded: n(c?.succeeded),
    failed: n(c?.failed),
    created: n(c?.created),
    updated: n(c?.updated),
    unchanged: n(c?.unchanged),
    delisted: n(c?.delisted),
    batches_total: n(c?.batchesTotal),
    batches_done: n(c?.batchesDone),
    upstream_calls: n(c?.upstreamCalls),
  };
}

export function isFinished(run: sync.Run): boolean {
  return [sync.RunStatus.SUCCESS, sync.RunStatus.FAILED, sync.RunStatus.PARTIAL, sync.RunStatus.CANCELLED].includes(run.status);
}

export function runOut(run: sync.Run) {
  return {
    id: run.id,
    sync_type: (enumName(sync.SyncType, run.syncType) ?? ''),
    mode: (enumName(sync.RunMode, run.mode) ?? ''),
    status: (enumName(sync.RunStatus, run.status) ?? ''),
    trigger: (enumName(sync.RunTrigger, run.trigger) ?? ''),
    scope: {
      product_codes: [...(run.scope?.productCodes ?? [])],
      category: run.scope?.category ?? '',
      brand: run.scope?.brand ?? '',
      limit: run.scope?.limit ?? 0,
    },
    options: {
      prices: run.options?.prices ?? false,
      stock: run.options?.stock ?? false,
      county_codes: [...(run.options?.countyCodes ?? [])],
      dry_run: run.options?.dryRun ?? false,
      images: run.options?.images ?? false,
      recheck_images: run.options?.recheckImages ?? false,
    },
    started_by: run.startedBy,
    counts: countsOut(run.counts),
    message: run.message,
    created_at: iso(run.createdAt),
    started_at: iso(run.startedAt),
    completed_at: iso(run.completedAt),
    duration: durationOf(run),
    finished: isFinished(run),
    failed_items: run.failedItems.map((f) => ({ product_code: f.productCode, reason: f.reason })),
    planned_changes: [...run.plannedChanges],
    retry_of: run.retryOf || null,
  };
}

/** One entry of the original HaierSyncLog listing. */
export function logEntryOut(run: sync.Run) {
  const type = (enumName(sync.SyncType, run.syncType) ?? '');
  const status = (enumName(sync.RunStatus, run.status) ?? '');
  return {
    id: run.id,
    sync_type: type,
    sync_type_display: SYNC_TYPE_LABELS[type] ?? type,
    status,
    status_display: STATUS_LABELS[status] ?? status,
    message: run.message,
    total_count: Number(run.counts?.total ?? 0n),
    success_count: Number(run.counts?.succeeded ?? 0n),
    failed_count: Number(run.counts?.failed ?? 0n),
    started_at: iso(run.startedAt) ?? iso(run.createdAt),
    completed_at: iso(run.completedAt),
    duration: durationOf(run),
  };
}
