// The freshness sweep (issue 10 item 5): prices, and with SYNC_LOW_STOCK_MAX_AGE the low-stock
// products' stock, are re-read continuously, oldest check first, so each target's products are
// re-checked within its max age, all targets together spending at most SYNC_PRICE_SWEEP_SHARE of
// Haier's budget (pacing.ts splitCap). One replica sweeps at a time (a Postgres advisory lock, as
// the event publisher's); each target is a job in the schedule registry (price_freshness,
// stock_freshness), and pause/resume/run-now apply to it like to the cron jobs.
//
// A step of a target (targets.ts): the catalog's oldest-checked codes of it, one gateway call in
// the `scheduled` lane, one catalog write through the catalog's one change detection. A step is
// not a run: steps are counted in metrics and summed up in a log line a minute per target; their
// change-log entries carry no run id.
import { durationFromMs, timestampDate } from '@bufbuild/protobuf/wkt';
import type { Client } from '@connectrpc/connect';
import type { gateway } from '@haier-sync/contracts';
import { rules } from '@haier-sync/contracts';
import { Counter, gaugeFrom, redact, sleep, type Logger, type Registry } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import { backoffDelay } from '../events/backoff';
import { acquireLeadership, leadershipTerm } from '../events/leadership';
import type { JobOutcome, ScheduledJob } from '../schedule/registry';
import { scheduleState } from '../schedule/state';
import { callsNeeded, capCallsPerSecond, earn, MAX_STEP_CALLS, msUntilNextCall, paceRefreshMs, splitCap, stepCallsFor, targetAgeMs, TICK_MS } from './pacing';
import type { SweepTarget } from './targets';

export const PRICE_FRESHNESS_JOB = 'price_freshness';
export const STOCK_FRESHNESS_JOB = 'stock_freshness';
/** The sweep's advisory lock (spells "hsPRCSWP"): one lock for every target, so one replica spends the one share. */
export const SWEEP_LOCK_KEY = '7526447716513306448';
/** A code Haier refused is left out of its target this long (then tried again). */
const REFUSED_FOR_MAX_AGES = 1;
/** At most this many refused codes are left out (the due lists' limit). */
const MAX_EXCLUDED = rules.MAX_ITEMS_PER_WRITE;
const SUMMARY_MS = 60_000;
const PROGRESS_MS = 5_000;
const USAGE_REFRESH_MS = 60_000;

export interface SweepDeps {
  orm: MikroORM;
  databaseUrl: string;
  gateway: Client<typeof gateway.HaierGatewayService>;
  logger: Logger;
  /** What it keeps fresh (targets.ts): prices, low-stock products' stock, or both. */
  targets: SweepTarget[];
  /** SYNC_PRICE_SWEEP_SHARE: the share (0–1] of HAIER_RATE_LIMIT (the gateway's GetUsage) all targets together may spend. */
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

export interface Pace {
  callsPerSecond: number;
  capped: boolean;
  /** Products of the target (procurable ones, low-stock ones). */
  population: number;
  overdue: number;
}

export interface FreshnessSweep {
  /** One job per target. */
  jobs: ScheduledJob[];
  /** Whether this replica holds the sweep's lock now. */
  leading(): boolean;
  /** The rate a target spends now (calls/s) and whether the share caps it. */
  pace(what: SweepTarget['what']): Pace | undefined;
  stop(): Promise<void>;
}

const EMPTY: StepResult = { checked: 0, changed: 0, unchanged: 0, failed: 0, calls: 0 };

/** One target's state in the loop: its pace, credit and refused codes, its counters. */
interface TargetState {
  target: SweepTarget;
  targetMs: number;
  refused: Map<string, number>;
  pace: Pace;
  need: number;
  credit: number;
  paused: boolean;
  nextStepAt: Date | null;
  sum: StepResult & { steps: number };
  checks: Counter<'outcome'>;
  calls: Counter;
}

export function startFreshnessSweep(deps: SweepDeps): FreshnessSweep {
  const log = deps.logger.child({ component: 'freshness-sweep' });
  const state = scheduleState(deps.orm);
  const abort = new AbortController();
  const registers = deps.metrics ? [deps.metrics] : [];
  // the pace is refreshed as often as the shortest max age asks
  const refreshMs = Math.min(...deps.targets.map((t) => paceRefreshMs(t.maxAgeMs)));
  let isLeader = false;

  const states: TargetState[] = deps.targets.map((target) => {
    const st: TargetState = {
      target,
      targetMs: targetAgeMs(target.maxAgeMs),
      refused: new Map(),
      pace: { callsPerSecond: 0, capped: false, population: 0, overdue: 0 },
      need: 0,
      credit: 0,
      paused: false,
      nextStepAt: null,
      sum: { ...EMPTY, steps: 0 },
      checks: new Counter({ name: `sync_${target.what}_sweep_checks_total`, help: `${cap(target.noun)} the freshness sweep re-read, by outcome (changed, unchanged, failed)`, labelNames: ['outcome'] as const, registers }),
      calls: new Counter({ name: `sync_${target.what}_sweep_calls_total`, help: `Haier calls the freshness sweep made re-reading ${target.noun}`, registers }),
    };
    if (deps.metrics) {
      gaugeFrom(deps.metrics, `sync_${target.what}_sweep_calls_per_second`, `The rate the freshness sweep spends on ${target.noun} now (calls/s; 0 on a replica that does not sweep)`, () => (isLeader ? st.pace.callsPerSecond : 0));
      gaugeFrom(deps.metrics, `sync_${target.what}_sweep_leader`, `1 on the replica that runs the freshness sweep of ${target.noun}`, () => (isLeader ? 1 : 0));
    }
    return st;
  });

  const excluded = (st: TargetState): string[] => {
    const now = Date.now();
    const out: string[] = [];
    for (const [code, until] of st.refused) {
      if (until <= now) st.refused.delete(code);
      else if (out.length < MAX_EXCLUDED) out.push(code);
    }
    return out;
  };

  /** One step of a target over its `checks` oldest products. */
  async function step(st: TargetState, checks: number, signal?: AbortSignal): Promise<StepResult> {
    const t = st.target;
    const due = await t.due({ limit: Math.min(MAX_EXCLUDED, Math.max(1, checks)), excludeCodes: excluded(st) }, signal);
    if (due.codes.length === 0) return EMPTY;
    const r = await t.reread(due.codes, signal);
    const made = t.callsFor(due.codes.length);
    st.calls.inc(made);
    const out: StepResult = { checked: due.codes.length, changed: r.changed, unchanged: r.unchanged, failed: r.failures.size, calls: made };
    if (r.failures.size > 0) {
      const until = Date.now() + t.maxAgeMs * REFUSED_FOR_MAX_AGES;
      for (const code of r.failures.keys()) st.refused.set(code, until);
      const [code, reason] = [...r.failures][0]!;
      log.warn({ what: t.what, failed: r.failures.size, example: code, reason: redact(reason) }, `${t.what} sweep: ${r.failures.size} not re-read (e.g. ${code}: ${redact(reason)}); left out for ${Math.round(t.maxAgeMs / 1000)} s`);
    }
    st.checks.inc({ outcome: 'changed' }, out.changed);
    st.checks.inc({ outcome: 'unchanged' }, out.unchanged);
    st.checks.inc({ outcome: 'failed' }, out.failed);
    return out;
  }

  /** Each target's need from the catalog, then the one cap split over them. */
  async function refreshPace(capCalls: number, signal: AbortSignal): Promise<void> {
    for (const st of states) {
      if (st.paused) {
        st.need = 0;
        continue;
      }
      const r = await st.target.due({ limit: 1, excludeCodes: excluded(st), targetAge: durationFromMs(st.targetMs) }, signal);
      st.need = callsNeeded(r.neededPerSecond, st.target.callsPerCheck);
      st.pace = { ...st.pace, population: r.population, overdue: r.overdue };
      log.debug({ what: st.target.what, need_calls_per_second: st.need, population: r.population, overdue: r.overdue, oldest_checked_at: r.oldestCheckedAt ? timestampDate(r.oldestCheckedAt).toISOString() : null }, 'sweep pace');
    }
    splitCap(states.map((l) => l.need), capCalls).forEach((p, i) => (states[i]!.pace = { ...states[i]!.pace, ...p }));
  }

  /** The sweep while this replica leads: each target spends the credit its rate earns, a step at a time (one step in flight). */
  async function sweepWhileLeading(signal: AbortSignal): Promise<void> {
    let last = Date.now();
    let paceAt = 0;
    let usageAt = 0;
    let capCalls = 0;
    let progressAt = 0;
    let summaryAt = Date.now();
    let lastError: string | null = null;
    let failures = 0;
    let pausedAt = 0;
    for (const st of states) st.credit = 0;
    while (!signal.aborted) {
      const now = Date.now();
      try {
        if (now - pausedAt >= 1_000) {
          for (const st of states) {
            const was = st.paused;
            st.paused = await state.isPaused(st.target.job);
            if (st.paused !== was) paceAt = 0; // a paused target's share goes to the others at once
          }
          pausedAt = now;
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
        const elapsed = now - last;
        last = now;
        for (const st of states) {
          if (st.paused) {
            st.credit = 0;
            st.nextStepAt = null;
            continue;
          }
          st.credit = earn(st.credit, st.pace.callsPerSecond, elapsed);
          if (st.credit < 1) continue;
          const calls = Math.min(stepCallsFor(st.pace.callsPerSecond), Math.floor(st.credit));
          // the products those calls check (a stock check costs a call per county: at least one product)
          const r = await step(st, st.target.checksFor(calls), signal);
          st.credit -= r.calls > 0 ? r.calls : calls;
          st.sum.steps++;
          for (const k of ['checked', 'changed', 'unchanged', 'failed', 'calls'] as const) st.sum[k] += r[k];
        }
        failures = 0;
        lastError = null;
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        lastError = redact(String((err as Error)?.message ?? err));
        if (failures === 1 || failures % 20 === 0) log.warn({ err: lastError, attempt: failures }, 'freshness sweep step failed (is the catalog or the gateway up?); retrying');
        await sleep(backoffDelay(failures, 500, 10_000), signal);
        continue;
      }
      let sleepMs = refreshMs;
      for (const st of states) {
        if (st.paused) continue;
        const wait = msUntilNextCall(st.credit, st.pace.callsPerSecond);
        sleepMs = Math.min(sleepMs, Math.max(TICK_MS, wait ?? refreshMs));
        st.nextStepAt = new Date(Date.now() + (wait ?? refreshMs));
      }
      if (Date.now() - progressAt >= PROGRESS_MS) {
        progressAt = Date.now();
        for (const st of states) if (!st.paused) await state.progress(st.target.job, new Date(), st.nextStepAt, deps.instanceId, lastError).catch(() => undefined);
      }
      if (Date.now() - summaryAt >= SUMMARY_MS) {
        for (const { target: t, sum, pace } of states) {
          log.info(
            { what: t.what, ...sum, calls_per_second: Number(pace.callsPerSecond.toFixed(3)), capped: pace.capped, population: pace.population, overdue: pace.overdue },
            `${t.what} sweep: ${sum.checked} ${t.noun} re-read in ${sum.steps} steps (${sum.changed} changed, ${sum.failed} failed), ${sum.calls} Haier calls in the last minute`,
          );
          Object.assign(sum, EMPTY, { steps: 0 });
        }
        summaryAt = Date.now();
      }
      await sleep(sleepMs, signal);
    }
  }

  const loop = (async () => {
    for (const { target: t } of states) await state.ensure(t.job, '', 'freshness', Math.ceil(t.maxAgeMs / 1000)).catch(() => undefined);
    while (!abort.signal.aborted) {
      const lead = await acquireLeadership(
        { databaseUrl: deps.databaseUrl, logger: log, pollMs: deps.leaderPollMs, lockKey: SWEEP_LOCK_KEY, role: { name: 'freshness-sweep', does: 'runs the freshness sweep' } },
        abort.signal,
      );
      if (!lead) break;
      const term = leadershipTerm(abort.signal, lead.lost);
      isLeader = true;
      try {
        await sweepWhileLeading(term.signal);
      } finally {
        isLeader = false;
        for (const st of states) st.nextStepAt = null;
        term.dispose();
        await lead.release();
      }
    }
  })().catch((err) => log.error({ err: redact(String(err)) }, 'freshness sweep stopped unexpectedly'));

  const jobs = states.map((st): ScheduledJob => {
    const t = st.target;
    return {
      name: t.job,
      kind: 'freshness',
      description: `freshness sweep: re-reads ${t.noun} oldest first so each is at most ${Math.round(t.maxAgeMs / 1000)} s old, within ${Math.round(deps.share * 100)}% of HAIER_RATE_LIMIT (shared by every target)`,
      variable: t.variable,
      cron: '',
      maxAgeMs: t.maxAgeMs,
      async run({ by }): Promise<JobOutcome> {
        // run-now: one step of the most a step takes, here, whoever leads (the row lock of run-now keeps it to one)
        const r = await step(st, t.checksFor(MAX_STEP_CALLS));
        log.info({ by, what: t.what, ...r }, `${t.what} sweep step run now by ${by}`);
        return { message: `re-read ${r.checked} ${t.noun}, oldest first (${r.changed} changed, ${r.unchanged} unchanged, ${r.failed} failed) in ${r.calls} Haier calls` };
      },
      nextDue: () => st.nextStepAt,
    };
  });

  return {
    jobs,
    leading: () => isLeader,
    pace: (what) => states.find((l) => l.target.what === what)?.pace,
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
