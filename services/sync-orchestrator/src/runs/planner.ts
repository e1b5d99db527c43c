// Planning a run into batches (I/O): the listing from the gateway, named codes, or codes from the
// catalog. Batches are committed chunk by chunk so workers start at once; a re-plan after a
// crash skips codes already planned.
import { Code, ConnectError } from '@connectrpc/connect';
import type { gateway } from '@haier-sync/contracts';
import type { RunDeps } from './deps';
import { NEW_RUN } from './lifecycle';
import { asDate, toRunMessage, type RunRow } from './model';
import { plannedLine, startLines } from './run-log';
import { appendRunEvent } from './outbox';
import { BATCH_SIZE, chunk, planOfRow, selectListing, type RunPlan } from './plan';
import { endPlanning, insertBatches, markStarted, plannedSoFar, recordListingDuplicates, recordPlanFailures, type NewBatch } from './repository';

const LISTING_CHUNK = 1000;
const LISTING_TIMEOUT_MS = 30 * 60_000;

/** Payload of a listing batch: the records without the protobuf type tag. */
function listingRecord(p: gateway.Product): Record<string, unknown> {
  const { $typeName: _t, ...rest } = p as gateway.Product & { $typeName: string };
  return rest;
}

export async function planBatches(run: RunRow, deps: RunDeps, heartbeat: () => Promise<void>): Promise<RunRow | undefined> {
  const { knex } = deps;
  const plan: RunPlan = planOfRow(run, deps.settings.lowStockThreshold);
  if (run.status === NEW_RUN.status) {
    await knex.transaction(async (trx) => {
      const started = await markStarted(trx, run.id);
      if (!started) return;
      await appendRunEvent(trx, 'started', toRunMessage(started));
      await deps.runLog?.append(trx, run.id, startLines(started, plan, asDate(started.started_at) ?? new Date()));
    });
  }
  const { codes: already, nextSeq } = await plannedSoFar(knex, run.id);
  let seq = nextSeq;
  const cut = (codes: string[], payloads?: Map<string, unknown>): NewBatch[] =>
    chunk(codes, BATCH_SIZE).map((c) => ({ seq: seq++, codes: c, payload: payloads ? c.map((code) => payloads.get(code)) : undefined }));

  if (plan.strategy === 'codes') {
    const batches = cut(run.scope.codes.filter((c) => !already.has(c)));
    await knex.transaction((trx) => insertBatches(trx, run.id, batches));
  } else if (plan.strategy === 'listing') {
    let taken = 0;
    let first = already.size === 0 && nextSeq === 0;
    let unknown = 0;
    const seen = new Set<string>();
    // our own deadline and cancel: breaking out early (a limit) must end the call and its timers
    const abort = new AbortController();
    const deadline = setTimeout(() => abort.abort(new Error(`the listing took longer than ${LISTING_TIMEOUT_MS / 60_000} minutes`)), LISTING_TIMEOUT_MS);
    deadline.unref();
    try {
      const stream = deps.gateway.streamAllProducts({ chunkSize: LISTING_CHUNK }, { signal: abort.signal });
      for await (const msg of stream) {
        const sel = selectListing(msg.products, run.scope, already, taken, seen);
        taken = sel.taken;
        const payloads = new Map(sel.selected.map((p) => [p.productCode, listingRecord(p)]));
        const batches = cut(sel.selected.map((p) => p.productCode), payloads);
        const failures = msg.errors
          // a row that failed to map but whose code also came as a good record is that product's, not a failure
          .filter((e) => !already.has(e.productCode) && !seen.has(e.productCode))
          .map((e) => ({ code: e.productCode || `(listing row without a code #${++unknown})`, reason: `listing: ${e.reason}` }));
        await knex.transaction(async (trx) => {
          await insertBatches(trx, run.id, batches, first ? 1 : 0);
          await recordPlanFailures(trx, run.id, failures);
          await deps.runLog?.append(trx, run.id, failures.map((f) => ({ level: 'WARNING' as const, code: f.code, endpoint: 'products', attempt: 1, message: `${f.code} failed: ${f.reason}` })));
          await recordListingDuplicates(trx, run.id, sel.duplicates);
        });
        first = false;
        deps.kick();
        await heartbeat();
        if (run.scope.limit > 0 && taken >= run.scope.limit) break;
      }
    } finally {
      clearTimeout(deadline);
      abort.abort();
    }
  } else {
    // catalog_stock: listed products (below the threshold for an incremental run)
    const codes: string[] = [];
    let cursor = '';
    do {
      const page = await deps.catalog.listProducts({ pageSize: 500, cursor });
      for (const p of page.products) {
        if (plan.belowThreshold !== undefined && (p.stock === undefined || p.stock >= BigInt(plan.belowThreshold))) continue;
        if (!already.has(p.productCode)) codes.push(p.productCode);
      }
      cursor = page.nextCursor;
      await heartbeat();
    } while (cursor !== '' && (run.scope.limit === 0 || codes.length < run.scope.limit));
    const batches = cut(run.scope.limit > 0 ? codes.slice(0, run.scope.limit) : codes);
    await knex.transaction((trx) => insertBatches(trx, run.id, batches));
  }
  const ended = await knex.transaction(async (trx) => {
    const row = await endPlanning(trx, run.id);
    if (row) await deps.runLog?.append(trx, run.id, [plannedLine(row)]);
    return row;
  });
  deps.kick();
  return ended;
}

/** Errors that make the whole run fail at once (no batch could succeed). */
export function isFatal(err: unknown): boolean {
  const ce = ConnectError.from(err);
  return ce.code === Code.Unauthenticated || ce.code === Code.PermissionDenied;
}

