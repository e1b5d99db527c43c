// The run engine of one process: a planner/finaliser loop (runs owned through a lease on the run
// row) and SYNC_CONCURRENCY worker slots claiming batches with FOR UPDATE SKIP LOCKED. Every piece
// of state lives in Postgres: any process (this one after a restart, or another replica) takes up
// a run whose owner died once its leases expire.
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { ConnectError } from '@connectrpc/connect';
import { activeTraceparent, redact, sleep } from '@haier-sync/runtime';
import type { RunDeps } from './deps';
import { createDependencies, DEPENDENCY_LABEL, DependencyUnavailable, type DependencyState, type DependencyName } from './dependencies';
import { endRun } from './finish';
import { asDate, toRunMessage, type RunRow } from './model';
import { appendRunEvent } from './outbox';
import { finalStatus, summaryMessage, type RunTotals } from './outcome';
import { phaseGivenUp } from './lifecycle';
import { planOfRow } from './plan';
import { isFatal, planBatches } from './planner';
import {
  adoptRunTrace,
  claimBatch,
  claimBatches,
  claimRunPhase,
  completeBatches,
  type BatchCompletion,
  exhaustBatches,
  getRunRow,
  imageTotals,
  listingCodes,
  renewBatchLease,
  nextProgress,
  workableRunIds,
  recordPhaseError,
  renewRunLease,
  retryBatchLater,
  returnBatchUnspent,
  returnPhaseUnspent,
  type ClaimedBatch,
} from './repository';
import { processBatch } from './worker';
import { inRunSpan, recordRunError } from './run-trace';
import { createGroupCommit } from './group-commit';
import { createUpsertCoalescer, upsertThroughCatalog } from './upsert-coalescer';
import { notingWrites } from './written';
import { batchFailedLine, batchGivenUpLines, batchLines, createRunLog } from './run-log';

export interface EngineOptions {
  /** Identifies this process in lease columns (default host:pid:random). */
  owner?: string;
  /** How often idle loops look for work without a kick (default 500 ms). */
  idlePollMs?: number;
}

export interface Engine {
  readonly owner: string;
  /** Wakes idle loops (a new run, a run ready to finalise). */
  kick(): void;
  /** Stops claiming; waits for in-flight batches (their results commit) up to graceMs. */
  stop(graceMs?: number): Promise<void>;
  /** Batches processed by this process since start (for tests and stats); `waits`: tries given back because a dependency was unavailable. */
  stats(): { batches: number; failedAttempts: number; inFlight: number; waits: number };
  /** Each dependency's circuit breaker (closed, open, half-open) and since when it is away. */
  dependencies(): Record<DependencyName, DependencyState>;
}

const errText = (err: unknown): string => redact(ConnectError.from(err).message);

/** The rest between two flushes of batch completions (see `completions` below). */
const COMPLETION_REST_MS = 50;

/** Seconds to wait before a failed batch is tried again (1, 2, 4, ... capped at the lease). */
function retryDelay(attempts: number, leaseSeconds: number): number {
  return Math.min(leaseSeconds, 2 ** Math.max(0, attempts - 1));
}

export function totalsOf(row: RunRow): RunTotals {
  return {
    total: Number(row.total),
    succeeded: Number(row.succeeded),
    failed: Number(row.failed),
    created: Number(row.created),
    updated: Number(row.updated),
    unchanged: Number(row.unchanged),
    delisted: Number(row.delisted),
    upstreamCalls: Number(row.upstream_calls),
    stockChanged: Number(row.stock_changed ?? 0),
    duplicates: row.listing_duplicates ?? [],
  };
}

export function runLabel(row: Pick<RunRow, 'id' | 'mode' | 'sync_type'>): string {
  return `${row.mode} ${row.sync_type} run ${row.id}`;
}

export function startEngine(depsIn: Omit<RunDeps, 'kick'>, opts: EngineOptions = {}): Engine {
  const owner = opts.owner ?? `${process.env.HOSTNAME ?? 'local'}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const idlePollMs = opts.idlePollMs ?? 500;
  const log = depsIn.logger.child({ component: 'engine', owner });
  let stopping = false;
  // idle slots sleep on `wake` (one listener each, hence no listener limit); kick() aborts it,
  // waking them all, and arms a fresh one
  const armed = (): AbortController => {
    const c = new AbortController();
    setMaxListeners(0, c.signal);
    return c;
  };
  let wake = armed();
  const kick = (): void => {
    const w = wake;
    wake = armed();
    w.abort();
  };
  // one circuit breaker per dependency; when one answers again the sleeping slots wake
  const dependencies = depsIn.dependencies ?? createDependencies(log, { onResume: () => kick() });
  // concurrent batches' catalog writes go out together (group commit): see upsert-coalescer.ts
  const deps: RunDeps = {
    ...depsIn,
    kick,
    dependencies,
    upsert: depsIn.upsert ?? createUpsertCoalescer(notingWrites(depsIn.knex, upsertThroughCatalog(depsIn.catalog))).upsert,
    runLog: depsIn.runLog ?? createRunLog(depsIn.settings.runLogCap, depsIn.logger),
  };
  const runLog = deps.runLog!;
  const { knex, settings } = deps;
  const patienceMs = settings.dependencyPatienceMs ?? 5 * 60_000;
  const stats = { batches: 0, failedAttempts: 0, inFlight: 0, waits: 0 };
  const runCache = new Map<string, RunRow>();
  // batches finishing together commit together (one statement on the run row, not one each), one
  // flush at a time and 50 ms apart: every flush rewrites the run row, which the planner, the
  // heartbeats and the progress loop also update, so fewer, bigger flushes cost Postgres less
  // (measured, 50,000 products: one in flight instead of two, then a 50 ms rest, took the first
  // sync from ~0.69 to ~0.60 ms of CPU per product, Postgres ~0.22 to ~0.16); a batch's answer
  // waits at most that long
  // each counted batch's log lines (SUCCESS/WARNING per product) commit with its completion: a
  // run is never seen ended before its lines are in
  type Completion = BatchCompletion & { runId: string; attempt: number; dryRun: boolean };
  const completeAndLog = (items: readonly Completion[]) =>
    knex.transaction(async (trx) => {
      const r = await completeBatches(trx, items[0]!.runId, items);
      if (r) await runLog.append(trx, items[0]!.runId, items.filter((i) => r.seqs.has(i.seq)).flatMap((i) => batchLines(i.codes, i.outcome, i.attempt, i.dryRun)));
      return r;
    });
  const completions = createGroupCommit<Completion, { phase: string } | undefined>(
    async (items) => {
      const r = await completeAndLog(items);
      return items.map((i) => (r?.seqs.has(i.seq) ? { phase: r.phase } : undefined));
    },
    async (i) => {
      const r = await completeAndLog([i]);
      return r?.seqs.has(i.seq) ? { phase: r.phase } : undefined;
    },
    { maxInFlight: 1, maxSize: 200, restMs: COMPLETION_REST_MS, key: (i) => i.runId },
  );
  const touched = new Set<string>();

  const idle = (ms = idlePollMs): Promise<void> => sleep(ms, wake.signal);

  // ------------------------------------------------------------------------------------------
  // Finalising: delist what a complete listing lacked, then the final status, in one place.
  async function finalize(run: RunRow): Promise<void> {
    const plan = planOfRow(run, settings.lowStockThreshold);
    let delisted = 0;
    const changes: string[] = [];
    if (plan.delist) {
      const seen = await listingCodes(knex, run.id);
      if (seen.length > 0) {
        const r = await deps.catalog.markDelisted({ codesSeen: seen, runId: run.id, dryRun: run.options.dryRun }, { timeoutMs: 120_000 });
        delisted = r.delisted.length;
        const dry = run.options.dryRun;
        for (const c of r.delisted) changes.push(`${c} ${dry ? 'would be delisted' : 'delisted'}`);
        for (const c of r.relisted) changes.push(`${c} ${dry ? 'would be relisted' : 'relisted'}`);
      } else {
        log.warn({ run_id: run.id }, 'the listing was empty: nothing is delisted (an empty answer from Haier is more likely a fault than an empty assortment)');
      }
    }
    const fresh = (await getRunRow(knex, run.id)) ?? run;
    const t = { ...totalsOf(fresh), delisted: Number(fresh.delisted) + delisted };
    // failed images do not change the status (SUCCESS with warnings; README "Images in sync runs")
    const status = finalStatus(t);
    const images = run.options.images && !run.options.dryRun ? await imageTotals(knex, run.id) : undefined;
    const message = summaryMessage(runLabel(fresh), t, status, { dryRun: run.options.dryRun, images });
    await endRun(deps, run.id, { status, message, delisted, changes });
  }

  async function failRun(runId: string, why: string): Promise<void> {
    const row = await getRunRow(knex, runId);
    if (!row) return;
    const t = totalsOf(row);
    await endRun(deps, runId, { status: 'FAILED', message: summaryMessage(runLabel(row), t, 'FAILED', { dryRun: row.options.dryRun, fatal: why }) });
  }

  // ------------------------------------------------------------------------------------------
  // The run-phase loop: planning and finalising, one run at a time per process.
  async function phaseLoop(): Promise<void> {
    while (!stopping) {
      let run: RunRow | undefined;
      try {
        run = await claimRunPhase(knex, owner, settings.leaseSeconds);
      } catch (err) {
        log.error({ err: errText(err) }, 'cannot look for runs to plan; retrying (is Postgres reachable?)');
        await idle(2_000);
        continue;
      }
      if (!run) {
        await idle();
        continue;
      }
      const runId = run.id;
      const why = phaseGivenUp(run, settings);
      if (why) {
        await failRun(runId, why).catch((e) => log.error({ err: errText(e), run_id: runId }, 'could not mark the run failed'));
        continue;
      }
      const heartbeat = async (): Promise<void> => {
        if (!(await renewRunLease(knex, runId, owner, settings.leaseSeconds))) throw new LeaseLost(runId);
      };
      const beat = setInterval(() => void heartbeat().catch(() => undefined), Math.max(1_000, (settings.leaseSeconds * 1000) / 3));
      // planning asks the gateway (the catalog for a stock run of catalog codes); finalising, the catalog
      const via = run.phase === 'finalize' || planOfRow(run, settings.lowStockThreshold).strategy === 'catalog_stock' ? 'catalog' : 'gateway';
      const phaseRun = run;
      try {
        // each phase is a span of the run's trace; a run no traced call started takes its first planning's
        if (run.phase === 'plan') {
          log.info({ run_id: runId, kind: run.kind }, `planning ${runLabel(run)}`);
          await inRunSpan('run plan', run, { 'haier_sync.run_kind': run.kind, 'haier_sync.attempt': Number(run.phase_attempts) + 1 }, async () => {
            const own = activeTraceparent();
            if (!phaseRun.traceparent && own) await adoptRunTrace(knex, runId, own);
            return dependencies.call(via, () => planBatches(phaseRun, deps, heartbeat));
          });
        } else {
          await inRunSpan('run finalize', run, { 'haier_sync.attempt': Number(run.phase_attempts) + 1 }, () => dependencies.call(via, () => finalize(phaseRun)));
        }
      } catch (err) {
        if (err instanceof DependencyUnavailable) {
          // not the run's fault: the phase attempt is given back, until the outage outlasts the patience
          const late = dependencies.outlasting(patienceMs).find((d) => d.name === err.dependency);
          const started = asDate(run.started_at ?? run.created_at)?.getTime() ?? 0;
          if (late && Date.now() - Math.max(started, late.since.getTime()) > patienceMs) {
            await failRun(runId, outageReason(late)).catch((e) => log.error({ err: errText(e), run_id: runId }, 'could not mark the run failed'));
          } else {
            log.info({ run_id: runId, phase: run.phase, dependency: err.dependency }, `${run.phase === 'plan' ? 'planning' : 'finalising'} waits: ${err.message}`);
            await returnPhaseUnspent(knex, runId, owner, err.message, 2).catch(() => undefined);
          }
        } else if (err instanceof LeaseLost) {
          log.info({ run_id: runId }, 'run no longer ours (cancelled or taken over); stopped working on it');
        } else if (isFatal(err)) {
          await failRun(runId, `Haier refused the account (${errText(err)}); check the active Haier config and its credentials`).catch((e) =>
            log.error({ err: errText(e), run_id: runId }, 'could not mark the run failed'),
          );
        } else {
          log.warn({ err: errText(err), run_id: runId, phase: run.phase }, `${run.phase === 'plan' ? 'planning' : 'finalising'} failed; another attempt follows when the lease expires`);
          await runLog.append(knex, runId, [{ level: 'ERROR', attempt: Number(run.phase_attempts) + 1, message: `${run.phase === 'plan' ? 'planning' : 'finalising'} failed (attempt ${Number(run.phase_attempts) + 1} of ${settings.maxAttempts}): ${errText(err)}; another attempt follows when the lease expires` }]);
          // keep the lease until it expires: a back-off before the next attempt (by any process)
          await recordPhaseError(knex, runId, owner, errText(err)).catch(() => undefined);
        }
      } finally {
        clearInterval(beat);
      }
      if (run.phase === 'plan') kick();
    }
  }

  function outageReason(dep: { name: DependencyName; since: Date; lastError?: string }): string {
    return (
      `${DEPENDENCY_LABEL[dep.name]} has been unavailable since ${dep.since.toISOString()} (longer than SYNC_DEPENDENCY_PATIENCE, ${Math.round(patienceMs / 1000)} s)` +
      `${dep.lastError ? `: ${dep.lastError}` : ''}; bring it back and start the run again`
    );
  }

  /**
   * Runs that waited out an outage longer than the patience end FAILED, naming the dependency and
   * since when (a run started during the outage gets the whole patience from its start). Postgres
   * is not among them: nothing can be recorded while it is away, and runs resume when it returns.
   */
  async function failRunsOutlastedBy(): Promise<void> {
    const late = dependencies.outlasting(patienceMs).filter((d) => d.name !== 'postgres');
    if (late.length === 0) return;
    const dep = late.sort((a, b) => a.since.getTime() - b.since.getTime())[0]!;
    for (const runId of await workableRunIds(knex)) {
      const row = await getRunRow(knex, runId);
      const started = asDate(row?.started_at)?.getTime() ?? 0;
      if (!row || Date.now() - Math.max(started, dep.since.getTime()) <= patienceMs) continue;
      const why = outageReason(dep);
      log.error({ run_id: runId, dependency: dep.name, since: dep.since.toISOString() }, why);
      await failRun(runId, why);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Worker slots. Answers 'unavailable' when the batch was given back because a dependency is away.
  // one span per batch, in the run's trace: its gateway and catalog calls are its children
  function runBatch(b: ClaimedBatch): Promise<'done' | 'unavailable'> {
    return inRunSpan('run batch', b.run, { 'haier_sync.batch.seq': Number(b.seq), 'haier_sync.batch.products': b.codes.length, 'haier_sync.attempt': b.attempts + 1 }, () => runBatchInSpan(b));
  }

  async function runBatchInSpan(b: ClaimedBatch): Promise<'done' | 'unavailable'> {
    stats.inFlight++;
    const beat = setInterval(
      () => void renewBatchLease(knex, b.run_id, b.seq, b.claim, settings.leaseSeconds).catch(() => undefined),
      Math.max(1_000, (settings.leaseSeconds * 1000) / 3),
    );
    try {
      const { outcome, result } = await processBatch({ runId: b.run_id, run: b.run, codes: b.codes, payload: b.payload }, deps, b.attempts + 1);
      clearInterval(beat);
      const done = await completions.submit({ runId: b.run_id, seq: b.seq, claim: b.claim, codes: b.codes, outcome, result, attempt: b.attempts + 1, dryRun: b.run.options.dryRun });
      stats.batches++;
      // counted once: a completion refused (the lease was lost, another worker completed it) is not this one's
      if (done) deps.metrics?.batch('done', result as { created: number; updated: number; unchanged: number; failed: number });
      if (done) touched.add(b.run_id);
      if (done?.phase === 'finalize') kick();
    } catch (err) {
      clearInterval(beat);
      recordRunError(err);
      if (err instanceof DependencyUnavailable) {
        // not the batch's fault: back to the queue, its attempt given back; the breaker holds the claims
        stats.waits++;
        deps.metrics?.batch('deferred');
        log.debug({ run_id: b.run_id, seq: b.seq, dependency: err.dependency, err: err.reason }, `batch ${b.seq} waits: ${err.message}`);
        await returnBatchUnspent(knex, b.run_id, b.seq, b.claim, err.message).catch(() => undefined);
        return 'unavailable';
      }
      stats.failedAttempts++;
      deps.metrics?.batch('failed');
      if (isFatal(err)) {
        await failRun(b.run_id, `Haier refused the account (${errText(err)}); check the active Haier config and its credentials`).catch(() => undefined);
        return 'done';
      }
      const why = errText(err);
      log.warn({ run_id: b.run_id, seq: b.seq, attempt: b.attempts + 1, err: why }, `batch ${b.seq} failed (attempt ${b.attempts + 1} of ${settings.maxAttempts}); it is retried`);
      await retryBatchLater(knex, b.run_id, b.seq, b.claim, why, retryDelay(b.attempts + 1, settings.leaseSeconds)).catch(() => undefined);
      await runLog.append(knex, b.run_id, [batchFailedLine(b.seq, b.codes.length, b.attempts + 1, settings.maxAttempts, why)]);
    } finally {
      clearInterval(beat);
      stats.inFlight--;
    }
    return 'done';
  }

  // workers claiming together claim in one statement (a run's batches, or any run's: key '')
  const claims = createGroupCommit<string, ClaimedBatch | undefined>(
    async (runIds) => {
      const got = await claimBatches(knex, settings.leaseSeconds, settings, runIds.length, runCache, runIds[0] || undefined);
      return runIds.map((_, i) => got[i]);
    },
    (runId) => claimBatch(knex, settings.leaseSeconds, settings, runCache, runId || undefined),
    { maxInFlight: 2, maxSize: 64, key: (runId) => runId },
  );

  // Turning between active runs: a small manual run is not stuck behind a 50,000-product FULL.
  let active: { ids: string[]; at: number } = { ids: [], at: 0 };
  let turn = 0;
  async function claimNext(): Promise<ClaimedBatch | undefined> {
    if (Date.now() - active.at > 1_000) active = { ids: await workableRunIds(knex), at: Date.now() };
    const ids = active.ids;
    if (ids.length <= 1) return claims.submit('');
    const start = turn++ % ids.length;
    for (let i = 0; i < ids.length; i++) {
      const b = await claims.submit(ids[(start + i) % ids.length]!);
      if (b) return b;
    }
    return claims.submit(''); // a run that started since
  }

  // When there is no work, slot 0 alone polls (every idlePollMs: new runs are kicked, but a batch
  // whose lease expired elsewhere is only found by looking); the other slots sleep until it, or a
  // new run, kicks them, so an idle process does not poll Postgres once per slot.
  // The catalog and the gateway, when their breaker is not closed, are asked cheaply (Stats,
  // GetUsage: no Haier call) before a batch is spent on them; the breaker decides when to try.
  const probes: Record<"catalog" | "gateway", () => Promise<unknown>> = {
    catalog: () => deps.catalog.stats({}, { timeoutMs: 5_000 }),
    gateway: () => deps.gateway.getUsage({}, { timeoutMs: 5_000 }),
  };
  async function servicesAnswer(): Promise<boolean> {
    const states = dependencies.states();
    for (const name of ['catalog', 'gateway'] as const) {
      if (states[name].state === 'closed') continue;
      try {
        await dependencies.call(name, probes[name]);
      } catch {
        return false;
      }
    }
    return true;
  }

  // While a dependency is away (a breaker not closed), slot 0 alone claims: its batch is the probe
  // the breaker lets through when it tries the dependency again; the others sleep until kicked.
  async function workerLoop(slot: number): Promise<void> {
    let wasIdle = false;
    while (!stopping) {
      if (dependencies.anyOpen()) {
        if (slot !== 0 || !(await servicesAnswer())) {
          await idle(slot !== 0 ? idlePollMs * 20 : idlePollMs);
          continue;
        }
      }
      let b: ClaimedBatch | undefined;
      try {
        b = await dependencies.call('postgres', () => claimNext());
      } catch (err) {
        if (slot === 0) log.warn({ err: errText(err) }, 'cannot claim batches; retrying (is Postgres reachable?)');
        await idle(2_000);
        continue;
      }
      if (!b) {
        wasIdle = true;
        await idle(slot === 0 ? idlePollMs : idlePollMs * 20);
        continue;
      }
      if (wasIdle) kick(); // work again: wake the sleeping slots
      wasIdle = false;
      if ((await runBatch(b)) === 'unavailable') await idle(idlePollMs);
    }
  }

  // Batches out of attempts: their codes fail with the last error; runs move on.
  async function reaperLoop(): Promise<void> {
    while (!stopping) {
      await idle(Math.max(1_000, Math.min(5_000, settings.leaseSeconds * 250)));
      if (stopping) break;
      try {
        const exhausted = await knex.transaction((trx) => exhaustBatches(trx, settings, (runId, d, reason) => runLog.append(trx, runId, batchGivenUpLines(d.seq, d.codes, d.attempts, reason))));
        for (const r of exhausted) touched.add(r.id);
        if (exhausted.some((r) => r.phase === 'finalize')) kick();
        await failRunsOutlastedBy();
      } catch (err) {
        log.warn({ err: errText(err) }, 'could not expire exhausted batches; retrying');
      }
    }
  }

  // Progress: at most one event a second per run, for the runs this process moved forward.
  async function progressLoop(): Promise<void> {
    while (!stopping) {
      await idle(1_000);
      const ids = [...touched];
      touched.clear();
      for (const id of ids) {
        try {
          await knex.transaction(async (trx) => {
            const p = await nextProgress(trx, id);
            if (p) await appendRunEvent(trx, 'progress', toRunMessage(p.run), p.n, p.run.traceparent);
          });
        } catch (err) {
          log.debug({ err: errText(err), run_id: id }, 'progress event skipped');
        }
      }
    }
  }

  const loops = [phaseLoop(), reaperLoop(), progressLoop(), ...Array.from({ length: settings.concurrency }, (_, slot) => workerLoop(slot))];
  log.info({ concurrency: settings.concurrency, lease_s: settings.leaseSeconds }, 'run engine started');

  return {
    owner,
    kick,
    stats: () => ({ ...stats }),
    dependencies: () => dependencies.states(),
    async stop(graceMs = 10_000) {
      stopping = true;
      kick();
      await Promise.race([Promise.allSettled(loops), new Promise((r) => setTimeout(r, graceMs).unref())]);
      log.info('run engine stopped');
    },
  };
}

class LeaseLost extends Error {
  constructor(runId: string) {
    super(`lease on run ${runId} lost`);
  }
}
