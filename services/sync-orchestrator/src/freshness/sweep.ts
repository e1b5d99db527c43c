// The price-freshness sweep (issue 10): prices are re-read continuously, oldest check first, so
// every procurable product's price is re-checked within SYNC_PRICE_MAX_AGE, spending at most
// SYNC_PRICE_SWEEP_SHARE of Haier's budget (pacing.ts). One replica sweeps at a time (a Postgres
// advisory lock, as the event publisher's); the job `price_freshness` in the schedule registry
// lists it, and pause/resume/run-now apply to it like to the cron jobs.
//
// A step: the catalog's oldest-checked procurable codes (ListPriceCheckDue), one GetPrices in the
// gateway's `scheduled` lane (one call per 20 codes: no product record), and one UpsertProducts
// of prices-only inputs (merge.ts mergePrices) through the catalog's one change detection: a
// changed price is a change-log entry (and so an event), an unchanged one only moves
// price_checked_at. A step is not a run: steps are counted in metrics and summed up in a log line
// a minute; their change-log entries carry no run id.
import { durationFromMs, timestampDate } from '@bufbuild/protobuf/wkt';
import type { Client } from '@connectrpc/connect';
import { catalog, rules, type gateway } from '@haier-sync/contracts';
import { Counter, gaugeFrom, HAIER_LANE_HEADER, redact, sleep, type Logger, type Registry } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import { backoffDelay } from '../events/backoff';
import { acquireLeadership, leadershipTerm } from '../events/leadership';
import { mergePrices } from '../runs/merge';
import type { JobOutcome, ScheduledJob } from '../schedule/registry';
import { scheduleState } from '../schedule/state';
import { capCallsPerSecond, earn, MAX_STEP_CALLS, msUntilNextCall, paceRefreshMs, stepCallsFor, sweepCallsPerSecond, targetAgeMs, TICK_MS } from './pacing';

export const PRICE_FRESHNESS_JOB = 'price_freshness';
/** The sweep's advisory lock (spells "hsPRCSWP"). */
export const SWEEP_LOCK_KEY = '7526447716513306448';
/** A code whose price Haier refused is left out of the sweep this long (then tried again). */
const REFUSED_FOR_MAX_AGES = 1;
/** At most this many refused codes are left out (ListPriceCheckDue's limit). */
const MAX_EXCLUDED = rules.MAX_ITEMS_PER_WRITE;
const SUMMARY_MS = 60_000;
const PROGRESS_MS = 5_000;
const USAGE_REFRESH_MS = 60_000;
const LANE = { headers: { [HAIER_LANE_HEADER]: 'scheduled' } };

export interface SweepDeps {
  orm: MikroORM;
  databaseUrl: string;
  catalog: Client<typeof catalog.CatalogService>;
  gateway: Client<typeof gateway.HaierGatewayService>;
  logger: Logger;
  /** SYNC_PRICE_MAX_AGE. */
  maxAgeMs: number;
  /** SYNC_PRICE_SWEEP_SHARE: the share (0–1] of HAIER_RATE_LIMIT (the gateway's GetUsage) the sweep may spend. */
  share: number;
  instanceId: string;
  metrics?: Registry;
  /** Leadership poll (tests shorten it). */
  leaderPollMs?: number;
}

export interface StepResult {
  checked: number;
  changed: number;
  unchanged: number;
  failed: number;
  calls: number;
}

export interface PriceSweep {
  job: ScheduledJob;
  /** Whether this replica holds the sweep's lock now. */
  leading(): boolean;
  /** The rate it spends now (calls/s) and whether its share caps it. */
  pace(): { callsPerSecond: number; capped: boolean; procurable: number; overdue: number };
  stop(): Promise<void>;
}

const EMPTY: StepResult = { checked: 0, changed: 0, unchanged: 0, failed: 0, calls: 0 };

export function startPriceSweep(deps: SweepDeps): PriceSweep {
  const log = deps.logger.child({ component: 'price-sweep' });
  const state = scheduleState(deps.orm);
  const abort = new AbortController();
  const target = targetAgeMs(deps.maxAgeMs);
  const refreshMs = paceRefreshMs(deps.maxAgeMs);
  /** code -> until when it is left out (its price was refused). */
  const refused = new Map<string, number>();
  let isLeader = false;
  let nextStepAt: Date | null = null;
  let pace = { callsPerSecond: 0, capped: false, procurable: 0, overdue: 0 };

  const checks = new Counter({ name: 'sync_price_sweep_checks_total', help: 'Prices the freshness sweep re-read, by outcome (changed, unchanged, failed)', labelNames: ['outcome'] as const, registers: deps.metrics ? [deps.metrics] : [] });
  const calls = new Counter({ name: 'sync_price_sweep_calls_total', help: 'Haier calls the price-freshness sweep made (one per 20 codes)', registers: deps.metrics ? [deps.metrics] : [] });
  if (deps.metrics) {
    gaugeFrom(deps.metrics, 'sync_price_sweep_calls_per_second', 'The rate the price-freshness sweep spends now (calls/s; 0 on a replica that does not sweep)', () => (isLeader ? pace.callsPerSecond : 0));
    gaugeFrom(deps.metrics, 'sync_price_sweep_leader', '1 on the replica that runs the price-freshness sweep', () => (isLeader ? 1 : 0));
  }

  const excluded = (): string[] => {
    const now = Date.now();
    const out: string[] = [];
    for (const [code, until] of refused) {
      if (until <= now) refused.delete(code);
      else if (out.length < MAX_EXCLUDED) out.push(code);
    }
    return out;
  };

  /** One step over `codes` oldest prices. */
  async function step(limit: number, signal?: AbortSignal): Promise<StepResult> {
    const due = await deps.catalog.listPriceCheckDue({ limit, excludeCodes: excluded() }, { signal });
    const codes = due.products.map((p) => p.productCode);
    if (codes.length === 0) return EMPTY;
    const answer = await deps.gateway.getPrices({ productCodes: codes }, { ...LANE, signal });
    const made = rules.haierCallsForCodes(codes.length);
    calls.inc(made);
    const merged = mergePrices(codes, answer.prices, answer.errors);
    const out: StepResult = { checked: codes.length, changed: 0, unchanged: 0, failed: 0, calls: made };
    if (merged.inputs.length > 0) {
      const u = await deps.catalog.upsertProducts({ products: merged.inputs, runId: '' }, { signal });
      for (const r of u.results) {
        if (r.outcome === catalog.ItemOutcome.UPDATED) out.changed++;
        else if (r.outcome === catalog.ItemOutcome.UNCHANGED) out.unchanged++;
        else if (r.outcome === catalog.ItemOutcome.FAILED) merged.failures.set(r.productCode, `catalog: ${r.reason}`);
      }
    }
    out.failed = merged.failures.size;
    if (merged.failures.size > 0) {
      const until = Date.now() + deps.maxAgeMs * REFUSED_FOR_MAX_AGES;
      for (const code of merged.failures.keys()) refused.set(code, until);
      const [code, reason] = [...merged.failures][0]!;
      log.warn({ failed: merged.failures.size, example: code, reason: redact(reason) }, `price sweep: ${merged.failures.size} price(s) not re-read (e.g. ${code}: ${redact(reason)}); left out for ${Math.round(deps.maxAgeMs / 1000)} s`);
    }
    checks.inc({ outcome: 'changed' }, out.changed);
    checks.inc({ outcome: 'unchanged' }, out.unchanged);
    checks.inc({ outcome: 'failed' }, out.failed);
    return out;
  }

  async function refreshPace(capCalls: number, signal: AbortSignal): Promise<void> {
    const r = await deps.catalog.listPriceCheckDue({ limit: 1, excludeCodes: excluded(), targetAge: durationFromMs(target) }, { signal });
    pace = { ...sweepCallsPerSecond(r.neededPerSecond, capCalls), procurable: Number(r.procurable), overdue: Number(r.overdue) };
    const oldest = r.products[0]?.priceCheckedAt;
    log.debug({ ...pace, oldest_checked_at: oldest ? timestampDate(oldest).toISOString() : null }, 'price sweep pace');
  }

  /** The sweep while this replica leads: spends the credit its rate earns, a step at a time (one step in flight). */
  async function sweepWhileLeading(signal: AbortSignal): Promise<void> {
    let credit = 0;
    let last = Date.now();
    let paceAt = 0;
    let usageAt = 0;
    let capCalls = 0;
    let progressAt = 0;
    let summaryAt = Date.now();
    let lastError: string | null = null;
    let failures = 0;
    let paused = false;
    let pausedAt = 0;
    const sum = { ...EMPTY, steps: 0 };
    while (!signal.aborted) {
      const now = Date.now();
      try {
        if (now - pausedAt >= 1_000) {
          paused = await state.isPaused(PRICE_FRESHNESS_JOB);
          pausedAt = now;
        }
        if (paused) {
          credit = 0;
          last = now;
          nextStepAt = null;
          await sleep(Math.max(TICK_MS, 1_000), signal);
          continue;
        }
        if (now - usageAt >= USAGE_REFRESH_MS || capCalls === 0) {
          const usage = await deps.gateway.getUsage({}, { signal });
          capCalls = capCallsPerSecond(deps.share, usage.rateLimitPerSecond);
          usageAt = now;
        }
        if (now - paceAt >= refreshMs) {
          await refreshPace(capCalls, signal);
          paceAt = now;
        }
        credit = earn(credit, pace.callsPerSecond, now - last);
        last = now;
        if (credit >= 1) {
          const n = Math.min(stepCallsFor(pace.callsPerSecond), Math.floor(credit));
          const r = await step(n * rules.HAIER_CODES_PER_CALL, signal);
          credit -= r.calls > 0 ? r.calls : n;
          sum.steps++;
          for (const k of ['checked', 'changed', 'unchanged', 'failed', 'calls'] as const) sum[k] += r[k];
        }
        failures = 0;
        lastError = null;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        lastError = redact(String((err as Error)?.message ?? err));
        if (failures === 1 || failures % 20 === 0) log.warn({ err: lastError, attempt: failures }, 'price sweep step failed (is the catalog or the gateway up?); retrying');
        await sleep(backoffDelay(failures, 500, 10_000), signal);
        continue;
      }
      const wait = msUntilNextCall(credit, pace.callsPerSecond);
      const sleepMs = Math.min(refreshMs, Math.max(TICK_MS, wait ?? refreshMs));
      nextStepAt = new Date(Date.now() + (wait ?? refreshMs));
      if (Date.now() - progressAt >= PROGRESS_MS) {
        progressAt = Date.now();
        await state.progress(PRICE_FRESHNESS_JOB, new Date(), nextStepAt, deps.instanceId, lastError).catch(() => undefined);
      }
      if (Date.now() - summaryAt >= SUMMARY_MS) {
        log.info(
          { ...sum, calls_per_second: Number(pace.callsPerSecond.toFixed(3)), capped: pace.capped, procurable: pace.procurable, overdue: pace.overdue },
          `price sweep: ${sum.checked} prices re-read in ${sum.steps} steps (${sum.changed} changed, ${sum.failed} failed), ${sum.calls} Haier calls in the last minute`,
        );
        summaryAt = Date.now();
        Object.assign(sum, EMPTY, { steps: 0 });
      }
      await sleep(sleepMs, signal);
    }
  }

  const loop = (async () => {
    await state.ensure(PRICE_FRESHNESS_JOB, '', 'freshness', Math.ceil(deps.maxAgeMs / 1000)).catch(() => undefined);
    while (!abort.signal.aborted) {
      const lead = await acquireLeadership(
        { databaseUrl: deps.databaseUrl, logger: log, pollMs: deps.leaderPollMs, lockKey: SWEEP_LOCK_KEY, role: { name: 'price-sweep', does: 'runs the price-freshness sweep' } },
        abort.signal,
      );
      if (!lead) break;
      const term = leadershipTerm(abort.signal, lead.lost);
      isLeader = true;
      try {
        await sweepWhileLeading(term.signal);
      } finally {
        isLeader = false;
        nextStepAt = null;
        term.dispose();
        await lead.release();
      }
    }
  })().catch((err) => log.error({ err: redact(String(err)) }, 'price sweep stopped unexpectedly'));

  const job: ScheduledJob = {
    name: PRICE_FRESHNESS_JOB,
    kind: 'freshness',
    description: `price-freshness sweep: re-reads prices oldest first so each procurable product's price is at most ${Math.round(deps.maxAgeMs / 1000)} s old, within ${Math.round(deps.share * 100)}% of HAIER_RATE_LIMIT`,
    variable: 'SYNC_PRICE_MAX_AGE',
    cron: '',
    maxAgeMs: deps.maxAgeMs,
    async run({ by }): Promise<JobOutcome> {
      // run-now: one step of the most a step takes, here, whoever leads (the row lock of run-now keeps it to one)
      const r = await step(MAX_STEP_CALLS * rules.HAIER_CODES_PER_CALL);
      log.info({ by, ...r }, `price sweep step run now by ${by}`);
      return { message: `re-read ${r.checked} prices, oldest first (${r.changed} changed, ${r.unchanged} unchanged, ${r.failed} failed) in ${r.calls} Haier calls` };
    },
    nextDue: () => nextStepAt,
  };

  return {
    job,
    leading: () => isLeader,
    pace: () => pace,
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
