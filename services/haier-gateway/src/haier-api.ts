// The gateway's domain operations over Haier: batching, mapping and merging on top of the
// upstream client. Answers contract messages; throws UpstreamError / BatchError / MalformedRecord.
import { create } from '@bufbuild/protobuf';
import { gateway } from '@haier-sync/contracts';
import { dedupeCodes, HAIER_MAX_CODES, mapSettled, runBatches } from './batching';
import { balanceBody, ENDPOINTS, logisticsBody, pricesBody, productsBody, stockBody, type Account } from './endpoints';
import { mapAll, mapBalances, mapLogistics, mapPrice, mapProduct, mapStock, matchBatch, MalformedRecord } from './mapping';
import type { UpstreamClient } from './upstream-client';
import type { Lane } from './lanes';

function asList(data: unknown, what: string): unknown[] {
  if (data === undefined || data === null) return [];
  if (Array.isArray(data)) return data;
  throw new MalformedRecord(`the ${what} answer is not a list`);
}

export interface StockOutcome {
  stock?: gateway.Stock;
  error?: unknown;
}

export class HaierApi {
  constructor(
    private readonly client: UpstreamClient,
    private readonly account: Account,
    private readonly stockConcurrency = 32,
  ) {}

  /** Admission of a request of `calls` upstream calls in `lane` (UpstreamClient.admit). */
  admit(lane: Lane, calls: number): () => void {
    return this.client.admit(lane, calls);
  }

  /** Products for codes (batched by 20, requested order), or the whole list when codes is empty. */
  async getProducts(codes: readonly string[], signal?: AbortSignal): Promise<{ items: gateway.Product[]; errors: gateway.ItemError[] }> {
    const unique = dedupeCodes(codes);
    if (unique.length === 0) {
      const items: gateway.Product[] = [];
      const errors: gateway.ItemError[] = [];
      for await (const chunk of this.streamAllProducts(5000, signal)) {
        items.push(...chunk.products);
        errors.push(...chunk.errors);
      }
      return { items, errors };
    }
    return runBatches(unique, HAIER_MAX_CODES, async (batch) => {
      const data = await this.client.call(ENDPOINTS.products, productsBody(this.account, batch), { batchSize: batch.length, signal });
      return matchBatch(batch, asList(data, 'products'), mapProduct);
    });
  }

  /** The whole procurable list from one upstream call, read as a stream, in chunks. */
  async *streamAllProducts(chunkSize: number, signal?: AbortSignal, lane: Lane = 'bulk'): AsyncGenerator<{ products: gateway.Product[]; errors: gateway.ItemError[]; seen: number }> {
    let seen = 0;
    for await (const records of this.client.streamList(ENDPOINTS.products, productsBody(this.account, []), chunkSize, signal, lane)) {
      seen += records.length;
      const { items, errors } = mapAll(records, mapProduct);
      yield { products: items, errors, seen };
    }
  }

  /** Prices for codes (at least one; batched by 20, requested order). */
  getPrices(codes: readonly string[], signal?: AbortSignal): Promise<{ items: gateway.Price[]; errors: gateway.ItemError[] }> {
    const unique = dedupeCodes(codes);
    return runBatches(unique, HAIER_MAX_CODES, async (batch) => {
      const data = await this.client.call(ENDPOINTS.prices, pricesBody(this.account, batch), { batchSize: batch.length, signal });
      return matchBatch(batch, asList(data, 'prices'), mapPrice);
    });
  }

  /** Stock of one product in one county (one upstream call). */
  async getStock(productCode: string, countyCode: string, signal?: AbortSignal): Promise<gateway.Stock> {
    const data = await this.client.call(ENDPOINTS.stock, stockBody(this.account, productCode, countyCode), { batchSize: 1, signal });
    return mapStock(productCode, countyCode, data);
  }

  /** Stock of many pairs, each its own call, within the budget; outcomes in input order. */
  getStocks(queries: ReadonlyArray<{ productCode: string; countyCode: string }>, signal?: AbortSignal): Promise<PromiseSettledResult<gateway.Stock>[]> {
    return mapSettled(queries, this.stockConcurrency, (q) => this.getStock(q.productCode, q.countyCode, signal));
  }

  async getLogistics(q: { orderCode: string; deliveryRecordCode?: string; memberId?: bigint }, signal?: AbortSignal): Promise<gateway.GetLogisticsResponse> {
    const data = await this.client.call(ENDPOINTS.logistics, logisticsBody(this.account, q), { signal });
    return mapLogistics(data);
  }

  async getBalance(signal?: AbortSignal): Promise<gateway.PayerBalance[]> {
    const data = await this.client.call(ENDPOINTS.balance, balanceBody(this.account), { signal });
    return mapBalances(data);
  }

  usage(rateLimit: number): gateway.GetUsageResponse {
    const u = this.client.usage;
    return create(gateway.GetUsageResponseSchema, {
      totalCalls: BigInt(u.totalCalls),
      throttled: BigInt(u.throttled),
      retries: BigInt(u.retries),
      tokenRequests: BigInt(u.tokenRequests),
      endpoints: u.endpoints().map((e) => create(gateway.EndpointUsageSchema, { endpoint: e.endpoint, outcome: e.outcome, calls: BigInt(e.calls) })),
      rateLimitPerSecond: rateLimit,
      limitNowPerSecond: this.client.rateLimit,
      lanes: this.client.lanes().map((l) =>
        create(gateway.LaneUsageSchema, { lane: l.lane, floorPct: l.floorPct, capPct: l.capPct, capPerSecond: l.cap, inWindow: l.inWindow, waiting: l.waiting, calls: BigInt(l.started) }),
      ),
    });
  }
}

