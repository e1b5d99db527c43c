// How fast the freshness sweep re-reads prices and low-stock products' stock. Pure.
//
// For each target the catalog answers the fewest checks a second that, oldest first, reach every
// product of it before its data is `target` old (ListPriceCheckDue's / ListStockCheckDue's
// needed_per_second: the i-th oldest must be checked within target - its age, so the rate is the
// largest i / (target - age_i)). Checking at that rate oldest first meets every deadline
// (earliest deadline first is optimal), and the rate adapts by itself: data that FULL runs, cron
// runs or per-product actions re-read is young again and needs nothing from the sweep. The
// targets' rates together are capped by the sweep's one share of Haier's budget (splitCap); the
// calls go in the gateway's `scheduled` lane.
import { rules } from '@haier-sync/contracts';

/** The sweep aims to re-check everything within this share of its max age (the rest is slack for one step and a pace refresh). */
export const SWEEP_HEADROOM = 0.9;
/** Haier calls one step may make at least (its codes go in one GetPrices; the gateway splits them by 20)... */
export const MAX_STEP_CALLS = 10;
/** ...and at most: 1,000 codes, what one GetPrices and one catalog write take. */
export const STEP_CALLS_LIMIT = rules.MAX_ITEMS_PER_WRITE / rules.HAIER_CODES_PER_CALL;

/** The most calls one step makes at a rate: a second's worth, between MAX_STEP_CALLS and STEP_CALLS_LIMIT. */
export function stepCallsFor(callsPerSecond: number): number {
  return Math.min(STEP_CALLS_LIMIT, Math.max(MAX_STEP_CALLS, Math.ceil(callsPerSecond)));
}
/** How often the loop wakes up to spend what its rate has earned. */
export const TICK_MS = 250;

/** The age the sweep keeps every product of a target under. */
export function targetAgeMs(maxAgeMs: number): number {
  return Math.max(1_000, Math.floor(maxAgeMs * SWEEP_HEADROOM));
}

/** How often the pace is asked again: every 5 s, more often for a short max age (at least every tenth of it). */
export function paceRefreshMs(maxAgeMs: number): number {
  return Math.min(5_000, Math.max(TICK_MS, Math.floor(maxAgeMs / 10)));
}

/** The sweep's cap in Haier calls a second: its share of the account's limit (at least a call every 10 s). */
export function capCallsPerSecond(share: number, rateLimitPerSecond: number): number {
  return Math.max(0.1, share * rateLimitPerSecond);
}

/** Haier calls a second that `neededChecksPerSecond` checks cost (a price check is 1/20 of a call, a stock check one call per county). */
export function callsNeeded(neededChecksPerSecond: number, callsPerCheck: number): number {
  return Math.max(0, neededChecksPerSecond) * callsPerCheck;
}

/**
 * Calls a second each of the sweep's targets spends: what its deadlines need, all of them within
 * the one cap (the share of Haier's budget). Over the cap, each gets the cap in proportion to its
 * need, so every target falls behind alike rather than one starving.
 */
export function splitCap(needs: readonly number[], capCalls: number): { callsPerSecond: number; capped: boolean }[] {
  const total = needs.reduce((a, b) => a + b, 0);
  if (total <= capCalls) return needs.map((n) => ({ callsPerSecond: n, capped: false }));
  return needs.map((n) => ({ callsPerSecond: (n / total) * capCalls, capped: true }));
}

/**
 * The calls earned since the last step, as a whole-call credit: it grows by the rate and is spent
 * a whole call at a time, at most one step's worth kept (stepCallsFor: a second of the rate, so a
 * step that takes a while loses nothing, while a pause or a stalled gateway banks no burst).
 */
export function earn(credit: number, callsPerSecond: number, elapsedMs: number): number {
  return Math.min(stepCallsFor(callsPerSecond), credit + (callsPerSecond * Math.max(0, elapsedMs)) / 1000);
}

/** When the next call is earned (ms from now), from the credit and the rate; null when the rate is 0. */
export function msUntilNextCall(credit: number, callsPerSecond: number): number | null {
  if (credit >= 1) return 0;
  if (callsPerSecond <= 0) return null;
  return Math.ceil(((1 - credit) / callsPerSecond) * 1000);
}
