// How fast the price-freshness sweep re-reads prices. Pure.
//
// The catalog answers the fewest price checks a second that, oldest first, reach every
// procurable product before its price is `target` old (ListPriceCheckDue's needed_per_second:
// the i-th oldest must be checked within target - its age, so the rate is the largest
// i / (target - age_i)). Checking at that rate oldest first meets every deadline (earliest
// deadline first is optimal), and the rate adapts by itself: prices that FULL runs, hourly runs
// or per-product actions re-read are young again and need nothing from the sweep. The rate is
// capped by the sweep's share of Haier's budget; the calls go in the gateway's `scheduled` lane.
import { rules } from '@haier-sync/contracts';

/** The sweep aims to re-check every price within this share of SYNC_PRICE_MAX_AGE (the rest is slack for one step and a pace refresh). */
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

/** The age the sweep keeps every price under. */
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

/** Calls a second the sweep spends: what the deadlines need (checks/s over Haier's 20 codes a call), within its cap. */
export function sweepCallsPerSecond(neededChecksPerSecond: number, capCalls: number): { callsPerSecond: number; capped: boolean } {
  const need = neededChecksPerSecond / rules.HAIER_CODES_PER_CALL;
  return need > capCalls ? { callsPerSecond: capCalls, capped: true } : { callsPerSecond: need, capped: false };
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
