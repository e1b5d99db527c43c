// What a key may spend of the shop's Haier budget: live lookups count the upstream calls they
// cost (a 1,000-code price lookup is 50 calls: the gateway asks Haier 20 codes at a time), per
// key, per minute (a window from the key's first call), with a cap per role (EDGE_CALL_BUDGET_<ROLE>). A request that would
// go past it is refused at once (429 with Retry-After and what it costs), instead of queueing
// behind the budget for everyone. Counted in this process (rate-limiter-flexible's memory store):
// with N edge replicas a key may spend up to N caps; the gateway's budget still holds Haier's limit.
import { rules } from '@haier-sync/contracts';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { AuthInfo } from './context';
import type { Role } from './domain/api-keys';
import { EdgeError, type BudgetRefusal } from './domain/errors';

/** Codes the gateway sends Haier in one call (prices, products). */
export const CODES_PER_CALL = rules.HAIER_CODES_PER_CALL;

/** The upstream calls a lookup of `codes` product codes costs (at least one): the rulebook's. */
export const callsForCodes = rules.haierCallsForCodes;

/** A per-product action (sync-price, sync-stock): a run of one code asks Haier for its record, then its prices or its stock in one county. */
export const PER_PRODUCT_ACTION_CALLS = 2;

export class CallBudget {
  private readonly limiters: Record<Role, RateLimiterMemory>;

  constructor(readonly perMinute: Readonly<Record<Role, number>>) {
    this.limiters = {
      viewer: new RateLimiterMemory({ points: perMinute.viewer, duration: 60 }),
      operator: new RateLimiterMemory({ points: perMinute.operator, duration: 60 }),
      admin: new RateLimiterMemory({ points: perMinute.admin, duration: 60 }),
    };
  }

  /** What `auth`'s key has spent of its budget in the current minute (nothing spent: 0, resets_in_s 0). */
  async standing(auth: AuthInfo): Promise<{ role: Role; limit_per_minute: number; used: number; remaining: number; resets_in_s: number }> {
    const cap = this.perMinute[auth.role];
    const now = await this.limiters[auth.role].get(auth.name);
    const used = Math.min(cap, now?.consumedPoints ?? 0);
    return { role: auth.role, limit_per_minute: cap, used, remaining: cap - used, resets_in_s: now ? Math.max(0, Math.ceil(now.msBeforeNext / 1000)) : 0 };
  }

  /** Spends `calls` of the key's budget, or throws a 429 saying what it costs and when to retry (its limits in `error.budget`). */
  async spend(auth: AuthInfo | null, calls: number): Promise<void> {
    if (!auth) return; // the live routes need a key; the auth hook has refused anonymous callers already
    const cap = this.perMinute[auth.role];
    const refusal = (used: number, retryAfter: number): { retryAfter: number; budget: BudgetRefusal } => ({
      retryAfter,
      budget: { scope: 'key', lane: auth.role, limit: cap, window_s: 60, in_use: used, cost: calls, retry_after_s: retryAfter },
    });
    if (calls > cap) {
      throw new EdgeError(
        429,
        'CALL_BUDGET',
        `This request would cost ${calls} Haier calls, more than a ${auth.role} key may spend in a minute (${cap}); ask for at most ${cap * CODES_PER_CALL} product codes at a time.`,
        undefined,
        refusal(0, 60),
      );
    }
    const limiter = this.limiters[auth.role];
    // a refused request spends nothing: look first, then spend
    const now = await limiter.get(auth.name);
    const used = now?.consumedPoints ?? 0;
    if (now && used + calls > cap) {
      const retryAfter = Math.max(1, Math.ceil(now.msBeforeNext / 1000));
      throw new EdgeError(
        429,
        'CALL_BUDGET',
        `This request would cost ${calls} Haier calls and key "${auth.name}" (${auth.role}) has ${Math.max(0, cap - used)} of its ${cap} per minute left; retry after ${retryAfter} s, or ask for fewer product codes.`,
        undefined,
        refusal(used, retryAfter),
      );
    }
    await limiter.consume(auth.name, calls);
  }
}
