// The simulator's state and its programmatic control (SimControl): catalog, settings, faults, tokens, counters.
import { Catalog } from './catalog';
import { Faults } from './faults';
import { IMAGE_FAULT_KINDS, NO_IMAGE_FAULTS } from './images';
import { RATE_LIMIT_MODES, RateLimiter } from './rate-limit';
import { StatsRecorder } from './stats';
import { TokenStore } from './tokens';
import type { ImageFaultKind, ImageFaults, Mutation, MutationResult, PricePatch, SimConfig, SimControl, SimCredentials, SimFaults, SimOptions, SimProduct, SimStats, StockEntry } from './types';

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
  private imageFaultRates: ImageFaults = { ...NO_IMAGE_FAULTS };
  /** code -> its images' fault and how many more answers it applies to */
  private readonly imageFaultsByCode = new Map<string, { kind: ImageFaultKind; left: number }>();

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

  moveStock(code: string): void {
    this.catalog.moveStock(code);
  }

  changeImage(code: string): void {
    this.catalog.changeImage(code);
  }

  moveImages(code: string): void {
    this.catalog.moveImages(code);
  }

  setImageFault(code: string, kind: ImageFaultKind | undefined, count = Infinity): void {
    if (this.catalog.indexOf(code) === undefined) throw new Error(`no product ${code} in this simulator's catalog`);
    if (kind === undefined) return void this.imageFaultsByCode.delete(code);
    if (!IMAGE_FAULT_KINDS.includes(kind)) throw new Error(`image fault must be one of ${IMAGE_FAULT_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
    if (!(count >= 1)) throw new Error(`count must be at least 1, got ${count}`);
    this.imageFaultsByCode.set(code, { kind, left: count });
  }

  imageFaults(patch: Partial<ImageFaults>): void {
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      if (k.endsWith('Rate') ? !(v >= 0 && v <= 1) : !(Number.isInteger(v) && v >= 0)) throw new Error(`${k} must be ${k.endsWith('Rate') ? 'between 0 and 1' : 'a whole number >= 0'}, got ${v}`);
    }
    this.imageFaultRates = { ...this.imageFaultRates, ...stripUndefined(patch) };
  }

  clearImageFaults(): void {
    this.imageFaultRates = { ...NO_IMAGE_FAULTS };
    this.imageFaultsByCode.clear();
  }

  /** The image fault settings (rates and per product). */
  imageFaultState(): { rates: ImageFaults; byCode: Record<string, ImageFaultKind> } {
    return { rates: { ...this.imageFaultRates }, byCode: Object.fromEntries([...this.imageFaultsByCode].map(([c, f]) => [c, f.kind])) };
  }

  /** The fault the next answer for `code`'s images takes from its own setting (counted down), if any. */
  takeImageFault(code: string): ImageFaultKind | undefined {
    const f = this.imageFaultsByCode.get(code);
    if (!f) return undefined;
    if (--f.left <= 0) this.imageFaultsByCode.delete(code);
    return f.kind;
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
