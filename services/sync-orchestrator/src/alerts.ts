// A FAILED or PARTIAL run is an alert: an ERROR log line and, when ALERT_WEBHOOK_URL is set, a
// JSON POST to it. (The run's own event goes out through the outbox.) Never throws.
import { toJson } from '@bufbuild/protobuf';
import { sync } from '@haier-sync/contracts';
import { enumName, redact, type Logger } from '@haier-sync/runtime';
import { request } from 'undici';

export interface AlertOptions {
  logger: Logger;
  /** ALERT_WEBHOOK_URL; no POST when unset. */
  webhookUrl?: string;
  /** Per POST, default 5000 ms. */
  timeoutMs?: number;
}

export interface AlertPayload {
  alert: 'sync_run_failed' | 'sync_run_partial';
  summary: string;
  run_id: string;
  status: string;
  sync_type: string;
  mode: string;
  trigger: string;
  counts: { total: number; succeeded: number; failed: number };
  failed_items: Array<{ product_code: string; reason: string }>;
  message: string;
  run: unknown;
}

/** Every string in a JSON value with registered secrets masked. */
function redactDeep(v: unknown): unknown {
  if (typeof v === 'string') return redact(v);
  if (Array.isArray(v)) return v.map(redactDeep);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactDeep(x)]));
  return v;
}

/** The alert body for a run, or undefined when the run is not an alert (not FAILED/PARTIAL). Pure. */
export function alertPayload(run: sync.Run): AlertPayload | undefined {
  if (run.status !== sync.RunStatus.FAILED && run.status !== sync.RunStatus.PARTIAL) return undefined;
  const failed = run.status === sync.RunStatus.FAILED;
  const c = run.counts;
  const total = Number(c?.total ?? 0n);
  const bad = Number(c?.failed ?? 0n);
  const kind = `${(enumName(sync.RunMode, run.mode) ?? 'UNSPECIFIED')} ${(enumName(sync.SyncType, run.syncType) ?? 'UNSPECIFIED')}`;
  const summary = failed
    ? `Sync run ${run.id} (${kind}) FAILED: ${redact(run.message) || 'no message'}`
    : `Sync run ${run.id} (${kind}) finished PARTIAL: ${bad} of ${total} products failed; rerun to heal them`;
  return {
    alert: failed ? 'sync_run_failed' : 'sync_run_partial',
    summary,
    run_id: run.id,
    status: (enumName(sync.RunStatus, run.status) ?? 'UNSPECIFIED'),
    sync_type: (enumName(sync.SyncType, run.syncType) ?? 'UNSPECIFIED'),
    mode: (enumName(sync.RunMode, run.mode) ?? 'UNSPECIFIED'),
    trigger: (enumName(sync.RunTrigger, run.trigger) ?? 'UNSPECIFIED'),
    counts: { total, succeeded: Number(c?.succeeded ?? 0n), failed: bad },
    failed_items: run.failedItems.slice(0, 100).map((f) => ({ product_code: f.productCode, reason: redact(f.reason) })),
    message: redact(run.message),
    run: redactDeep(toJson(sync.RunSchema, run)),
  };
}

/**
 * Raises the alert for a FAILED or PARTIAL run (other runs: nothing). Answers whether the webhook
 * accepted it (false when not sent or refused). Never throws: a broken webhook is logged.
 */
export async function raiseAlert(run: sync.Run, opts: AlertOptions): Promise<boolean> {
  const body = alertPayload(run);
  if (!body) return false;
  const log = opts.logger;
  log.error({ alert: body.alert, run_id: run.id, status: body.status, failed: body.counts.failed, total: body.counts.total }, body.summary);
  if (!opts.webhookUrl) return false;
  const timeout = opts.timeoutMs ?? 5_000;
  try {
    const res = await request(opts.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'haier-sync/sync-orchestrator' },
      body: JSON.stringify(body),
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
    });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return true;
    log.warn({ status: res.statusCode, run_id: run.id }, `alert webhook answered HTTP ${res.statusCode}; check ALERT_WEBHOOK_URL and the receiver`);
    return false;
  } catch (err) {
    log.warn({ err: redact(String((err as Error)?.message ?? err)), run_id: run.id }, 'alert webhook could not be reached; check ALERT_WEBHOOK_URL (the run itself is recorded)');
    return false;
  }
}

/** Binds the options once (main.ts wires `createAlerter({...}).raiseAlert`). */
export function createAlerter(opts: AlertOptions): { raiseAlert(run: sync.Run): Promise<boolean> } {
  return { raiseAlert: (run) => raiseAlert(run, opts) };
}
