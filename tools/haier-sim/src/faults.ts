// Injected faults: one-shot ones (failNext, fail401Next) first, then one seeded roll per call against the rates.
import { sequence } from './hash';
import type { SimFaults } from './types';

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'status'; status: number }
  | { kind: 'timeout'; ms: number; drop: boolean }
  | { kind: 'business_error' }
  | { kind: 'malformed'; pick: number };

export const NO_FAULTS: SimFaults = {
  rate500: 0, rate503: 0, timeoutRate: 0, timeoutMs: 35_000, timeoutAction: 'alternate', malformedRate: 0,
  businessErrorRate: 0, fail401Next: 0, failNext: undefined,
};

export class Faults {
  private current: SimFaults = { ...NO_FAULTS };
  private roll: () => number;
  private timeouts = 0;

  constructor(private readonly seed: number) {
    this.roll = sequence(seed ^ 0xfa017);
  }

  set(patch: Partial<SimFaults>): void {
    for (const k of ['rate500', 'rate503', 'timeoutRate', 'malformedRate', 'businessErrorRate'] as const) {
      const v = patch[k];
      if (v !== undefined && !(v >= 0 && v <= 1)) throw new Error(`${k} must be between 0 and 1, got ${v}`);
    }
    this.current = { ...this.current, ...stripUndefined(patch) };
    if (patch.failNext === undefined && 'failNext' in patch) this.current.failNext = undefined;
  }

  clear(): void {
    this.current = { ...NO_FAULTS };
    this.roll = sequence(this.seed ^ 0xfa017);
    this.timeouts = 0;
  }

  get(): SimFaults {
    return { ...this.current, failNext: this.current.failNext && { ...this.current.failNext } };
  }

  /** What happens to this business call. Deterministic given the seed and the order of calls. */
  decide(endpoint: string, path: string): FaultDecision {
    const f = this.current;
    if (f.failNext && f.failNext.count > 0 && (!f.failNext.endpoint || f.failNext.endpoint === endpoint || f.failNext.endpoint === path)) {
      f.failNext.count--;
      const status = f.failNext.status;
      if (f.failNext.count <= 0) f.failNext = undefined;
      return { kind: 'status', status };
    }
    if (f.fail401Next > 0) {
      f.fail401Next--;
      return { kind: 'status', status: 401 };
    }
    const anyRate = f.rate500 + f.rate503 + f.timeoutRate + f.businessErrorRate + f.malformedRate;
    if (anyRate <= 0) return { kind: 'none' };
    let u = this.roll();
    if ((u -= f.rate500) < 0) return { kind: 'status', status: 500 };
    if ((u -= f.rate503) < 0) return { kind: 'status', status: 503 };
    if ((u -= f.timeoutRate) < 0) {
      const drop = f.timeoutAction === 'drop' || (f.timeoutAction === 'alternate' && this.timeouts % 2 === 1);
      this.timeouts++;
      return { kind: 'timeout', ms: f.timeoutMs, drop };
    }
    if ((u -= f.businessErrorRate) < 0) return { kind: 'business_error' };
    if ((u -= f.malformedRate) < 0) return { kind: 'malformed', pick: Math.floor(this.roll() * 1_000_000) };
    return { kind: 'none' };
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
