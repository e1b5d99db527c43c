// The simulator's state and its programmatic control (SimControl): catalog, settings, faults, tokens, counters.
import { Catalog } from './catalog';
import { Faults } from './faults';
import { RATE_LIMIT_MODES, RateLimiter } from './rate-limit';
import { StatsRecorder } from './stats';
import { TokenStore } from './tokens';
import type { Mutation, MutationResult, PricePatch, SimConfig, SimControl, SimCredentials, SimFaults, SimOptions, SimProduct, SimStats, StockEntry } from './types';

export const DEFAULT_CREDENTIALS: SimCredentials = {
  clientId: 'sim-client',
  clientSecret: 'sim-secret',
  passWord: 'sim-password',
  sellerPassword: 'sim-seller-password',
  customerPassword: 'sim-customer-password',
  customerCode: '8800633175',
  sendToCode: '8800633175',
};

/** The haier-gateway's HAIER_* account variables for a simulator's credentials (default: the demo account). */
export function gatewayAccountEnv(c: SimCredentials = DEFAULT_CREDENTIALS): Record<string, string> {
  return {
    HAIER_CLIENT_ID: c.clientId,
    HAIER_CLIENT_SECRET: c.clientSecret,
    HAIER_CUSTOMER_CODE: c.customerCode,
    HAIER_SEND_TO_CODE: c.sendToCode,
    HAIER_PASSWORD: c.passWord,
    HAIER_SELLER_PASSWORD: c.sellerPassword,
    HAIER_CUSTOMER_PASSWORD: c.customerPassword,
  };
}

function nonNegative(name: string, v: number | undefined): void {
  if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new Error(`${name} must be a number >= 0, got ${v}`);
}

export class Simulator implements SimControl {
  readonly catalog: Catalog;
  readonly credentials: SimCredentials;
  readonly faultState: Faults;
  readonly tokens = new TokenStore();
  readonly recorder = new StatsRecorder();
  readonly limiter: RateLimiter;
  private settings: SimConfig;

  constructor(opts: SimOptions = {}) {
    const seed = opts.seed ?? 42;
    if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a whole number, got ${seed}`);
    this.catalog = new Catalog(seed, opts.size ?? 5000);
    this.credentials = { ...DEFAULT_CREDENTIALS, ...stripUndefined(opts.credentials ?? {}) };
    this.faultState = new Faults(seed);
    this.settings = { latencyMs: 0, latencyJitterMs: 0, rateLimit: 100, rateLimitMode: 'sliding', tokenTtlSeconds: 3600 };
    this.configure({ latencyMs: opts.latencyMs, latencyJitterMs: opts.latencyJitterMs, rateLimit: opts.rateLimit, rateLimitMode: opts.rateLimitMode, tokenTtlSeconds: opts.tokenTtlSeconds });
    this.limiter = new RateLimiter(this.settings.rateLimit, this.settings.rateLimitMode);
  }

  configure(patch: Partial<SimConfig>): void {
    for (const k of ['latencyMs', 'latencyJitterMs', 'rateLimit', 'tokenTtlSeconds'] as const) nonNegative(k, patch[k]);
    if (patch.tokenTtlSeconds === 0) throw new Error('tokenTtlSeconds must be at least 1');
    if (patch.rateLimitMode !== undefined && !RATE_LIMIT_MODES.includes(patch.rateLimitMode))
      throw new Error(`rateLimitMode must be one of ${RATE_LIMIT_MODES.join(', ')}, got ${JSON.stringify(patch.rateLimitMode)}`);
    this.settings = { ...this.settings, ...stripUndefined(patch) };
    if (patch.rateLimit !== undefined) this.limiter?.setRate(patch.rateLimit);
    if (patch.rateLimitMode !== undefined) this.limiter?.setMode(patch.rateLimitMode);
  }

  config(): SimConfig {
    return { ...this.settings };
  }

  faults(patch: Partial<SimFaults>): void {
    nonNegative('timeoutMs', patch.timeoutMs);
    nonNegative('fail401Next', patch.fail401Next);
    if (patch.failNext && !(Number.isInteger(patch.failNext.status) && patch.failNext.status >= 100 && patch.failNext.status <= 599))
      throw new Error(`failNext.status must be an HTTP status code, got ${patch.failNext.status}`);
    this.faultState.set(patch);
  }

  clearFaults(): void {
    this.faultState.clear();
  }

  revokeTokens(): void {
    this.tokens.revokeAll();
  }

  mutate(m: Mutation): MutationResult {
    return this.catalog.mutate(m);
  }

  setPrice(code: string, p: PricePatch): void {
    this.catalog.setPrice(code, p);
  }

  product(code: string): SimProduct | undefined {
    return this.catalog.productByCode(code);
  }

  products(offset: number, limit: number): SimProduct[] {
    return this.catalog.products(offset, limit);
  }

  listedCount(): number {
    return this.catalog.listedCount();
  }

  stock(code: string, countyCode: string): StockEntry[] {
    return this.catalog.stock(code, countyCode);
  }

  stats(): SimStats {
    return this.recorder.snapshot();
  }

  arrivals(sinceMs?: number): number[] {
    return this.recorder.arrivals(sinceMs);
  }

  resetStats(): void {
    this.recorder.reset();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
