// The simulator's public types (re-exported from index.ts).
import type { RateLimitMode } from './rate-limit';

export type { RateLimitMode };

export interface SimCredentials {
  clientId: string;
  clientSecret: string;
  passWord: string;
  sellerPassword: string;
  customerPassword: string;
  customerCode: string;
  sendToCode: string;
}

export interface SimOptions {
  /** default 0 (any free port); main.ts uses SIM_PORT or 9090 */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** default 42 */
  seed?: number;
  /** default 5000; products are generated on demand, so 1,000,000 costs no memory */
  size?: number;
  /** business calls per second per account, default 100; 0 = unlimited */
  rateLimit?: number;
  /** how calls are counted against rateLimit: 'sliding' (default: any sliding 1-second window, at arrival) or 'bucket' (token bucket, up to 2x in a second) */
  rateLimitMode?: RateLimitMode;
  latencyMs?: number;
  latencyJitterMs?: number;
  /** default 3600 */
  tokenTtlSeconds?: number;
  credentials?: Partial<SimCredentials>;
  /** no log output */
  quiet?: boolean;
  /** Where the catalog's image URLs point (default: this simulator's own URL, which serves them under /images/). */
  imageBaseUrl?: string;
}

export interface SimConfig {
  latencyMs: number;
  latencyJitterMs: number;
  rateLimit: number;
  rateLimitMode: RateLimitMode;
  tokenTtlSeconds: number;
}

export interface FailNext {
  status: number;
  count: number;
  /** endpoint name (products, prices, stock, logistics, balance) or a path; all business endpoints when absent */
  endpoint?: string;
}

export interface SimFaults {
  rate500: number;
  rate503: number;
  timeoutRate: number;
  /** how long a "timeout" hangs before answering 504 or dropping the socket; default 35000 */
  timeoutMs: number;
  /** what a timeout ends with: 504, dropping the socket, or alternating (504 first); default 'alternate' */
  timeoutAction: 'respond504' | 'drop' | 'alternate';
  malformedRate: number;
  /** HTTP 200 {success:false, ...} */
  businessErrorRate: number;
  /** the next N business calls get 401 even with a valid token */
  fail401Next: number;
  failNext: FailNext | undefined;
}

/** The truth about one product: ProductOutInfoDto fields plus its PriceSupplyVo fields. */
export interface SimProduct {
  /** position in the generator (not a Haier field) */
  index: number;
  productCode: string;
  productModel: string;
  /** present for ~70% of products */
  productName?: string;
  productGroupNamd: string;
  productBrandName: string;
  productImageUrl: string;
  productLageUrls: string[];
  isSales: '1' | '0';
  noSalesReason?: string;
  /** decimal text; absent when the price is not in force or the product is not procurable */
  supplyPrice?: string;
  invoicePrice?: string;
  /** a rate like "0.03", "0" when none, or a rebate TYPE like "COM" */
  stockRebatePolicy: string;
  rebateMoney: string;
  marketPrice?: string;
  /** price hint: 商品暂不可采 or 价格未生效 */
  reason?: string;
  /** false once delisted */
  listed: boolean;
  /** how this row is written on the wire */
  quirks: { isSalesAsNumber: boolean; decimalsAsStrings: boolean };
}

export interface TimelinessData {
  cutTime: string;
  achieveUserOrderCut: string;
  hour: string;
  isTranfer: '0' | '1';
}

export interface StockEntry {
  secCode: string;
  stock: string;
  warehouseGrade: '0' | '1';
  timelinessData: TimelinessData;
}

export type PricePatch = Partial<Pick<SimProduct, 'supplyPrice' | 'invoicePrice' | 'marketPrice' | 'stockRebatePolicy' | 'rebateMoney'>>;

export interface Mutation {
  priceChangeShare?: number;
  delistShare?: number;
  addCount?: number;
  stockMoveShare?: number;
  /** share of listed products whose images (main and pages) get new content */
  imageChangeShare?: number;
  seed?: number;
}

export interface MutationResult {
  priceChanged: string[];
  delisted: string[];
  added: string[];
  stockMoved: string[];
  imagesChanged: string[];
}

/** How an image request fails: 404, 503, an answer after `slowMs`, HTML instead of a PNG, or `oversizedBytes` of body. */
export type ImageFaultKind = 'not_found' | 'server_error' | 'slow' | 'wrong_type' | 'oversized';

/** Image faults by rate, rolled once per URL (the same URL fails the same way every time). */
export interface ImageFaults {
  notFoundRate: number;
  serverErrorRate: number;
  slowRate: number;
  /** how long a slow image takes, default 5000 */
  slowMs: number;
  wrongTypeRate: number;
  oversizedRate: number;
  /** the body size of an oversized image, default 12 MiB */
  oversizedBytes: number;
}

export interface ImageStats {
  /** GET/HEAD requests for images, by outcome (ok, not_modified, not_found, server_error, slow, wrong_type, oversized) */
  byOutcome: Record<string, number>;
  /** image body bytes sent (200 answers; 304s send none) */
  bytesSent: number;
}

export type Outcome = 'ok' | 'throttled' | 'unauthorized' | 'bad_request' | 'fault_500' | 'fault_503' | 'timeout' | 'business_error' | 'forbidden' | 'malformed' | 'not_found' | string;

export interface SimStats {
  /** endpoint -> outcome -> count */
  byEndpoint: Record<string, Record<string, number>>;
  tokenRequests: number;
  /** business calls received */
  total: number;
  throttled: number;
  /** most business calls seen in any sliding 1-second window */
  maxObservedRps: number;
  /** the image host's requests (not business calls: no token, not rate limited) */
  images: ImageStats;
}

export interface SimControl {
  configure(patch: Partial<SimConfig>): void;
  config(): SimConfig;
  faults(patch: Partial<SimFaults>): void;
  clearFaults(): void;
  revokeTokens(): void;
  mutate(m: Mutation): MutationResult;
  setPrice(code: string, p: PricePatch): void;
  product(code: string): SimProduct | undefined;
  products(offset: number, limit: number): SimProduct[];
  listedCount(): number;
  stock(code: string, countyCode: string): StockEntry[];
  stats(): SimStats;
  /** Arrival times (epoch ms, ascending) of the business calls since `sinceMs` (default: all kept, the last 262,144), throttled ones included. */
  arrivals(sinceMs?: number): number[];
  resetStats(): void;
  /** Moves the stock of `code` in every county (its warehouses' quantities; one without warehouses stays empty), as stockMoveShare does. */
  moveStock(code: string): void;
  /** Gives every image of `code` new content (a new ETag and Last-Modified). */
  changeImage(code: string): void;
  /** Moves every image of `code` to a new URL (`…png?v=N` in its record; the same pictures): a changed image URL list. */
  moveImages(code: string): void;
  /** Makes the images of `code` fail with `kind` (undefined clears it); `count` answers only, then they heal (default: until cleared). */
  setImageFault(code: string, kind: ImageFaultKind | undefined, count?: number): void;
  /** Image faults by rate. */
  imageFaults(patch: Partial<ImageFaults>): void;
  /** Clears image faults, rates and per product. */
  clearImageFaults(): void;
}

export interface SimHandle {
  url: string;
  port: number;
  control: SimControl;
  close(): Promise<void>;
}
