// The original live surface: products, prices, stock, balance, logistics straight from Haier
// (through the gateway), answered in Haier's own field names, each call recorded in the sync log.
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { ConnectError } from '@connectrpc/connect';
import { rules, sync } from '@haier-sync/contracts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EdgeContext } from '../context';
import { badRequest, mapConnectError } from '../domain/errors';
import { balanceOut, logisticsOut, priceOut, productOut, stockOut } from '../domain/haier-shape';
import { callsForCodes } from '../call-budget';
import { CODES_LIST, codeSchema, countySchema, dataAnswer, errors, noQuery, orderCodeSchema } from '../schemas';

/** "A, B,,C" → ["A","B","C"] (deduplicated, order kept), checked by the rulebook; 400 naming the field (`product_codes[3]`). */
export function parseCodes(raw: string | undefined, field: string, required: boolean): string[] {
  const codes = [...new Set((raw ?? '').split(',').map((s) => s.trim()).filter(Boolean))];
  const v = rules.checkList(rules.codeList(required ? 1 : 0), codes, field);
  if (v) throw badRequest(v.field, v.problem);
  return codes;
}

const str = { type: 'string' } as const;
const productItem = {
  type: 'object',
  properties: {
    productCode: str,
    productModel: str,
    productName: str,
    productGroupNamd: str,
    productBrandName: str,
    productImageUrl: str,
    productLageUrls: { type: 'array', items: str },
    isSales: str,
    noSalesReason: str,
  },
} as const;
const priceItem = {
  type: 'object',
  properties: {
    productCode: str,
    supplyPrice: { type: ['string', 'null'] },
    invoicePrice: { type: ['string', 'null'] },
    marketPrice: { type: ['string', 'null'] },
    stockRebatePolicy: { type: ['string', 'null'] },
    rebateMoney: { type: ['string', 'null'] },
    reason: str,
    isSales: str,
  },
} as const;
const itemErrors = { type: 'array', items: { type: 'object', properties: { productCode: str, reason: str } } } as const;

type SyncTypeName = 'PRODUCTS' | 'PRICES' | 'STOCK' | 'LOGISTICS' | 'ORDER' | 'MANUAL';

export function liveRoutes(app: FastifyInstance, ctx: EdgeContext): void {
  const { gateway } = ctx.clients;

  /**
   * Runs one live call, first spending the `calls` it costs Haier from the key's budget (429 past
   * it), and records it in the sync log (SUCCESS/FAILED, who, counts).
   */
  async function live<T>(req: FastifyRequest, type: SyncTypeName, what: string, calls: number, call: () => Promise<{ value: T; total: number; succeeded: number; failed: number; note?: string }>): Promise<T> {
    await ctx.callBudget.spend(req.auth, calls);
    const startedAt = new Date();
    const record = (status: sync.RunStatus, message: string, total: number, succeeded: number, failed: number) =>
      ctx.clients.sync
        .recordOperation({
          syncType: sync.SyncType[type],
          status,
          message,
          startedBy: req.auth?.name ?? '',
          total: BigInt(total),
          succeeded: BigInt(succeeded),
          failed: BigInt(failed),
          startedAt: timestampFromDate(startedAt),
          completedAt: timestampFromDate(new Date()),
        })
        .catch((err: unknown) => ctx.logger.warn({ err: String(err), what }, 'Could not record the live call in the sync log; is the sync orchestrator running (SYNC_URL)?'));
    try {
      const r = await call();
      await record(sync.RunStatus.SUCCESS, `REST ${what}: ${r.succeeded} of ${r.total} answered${r.note ? `; ${r.note}` : ''}`, r.total, r.succeeded, r.failed);
      return r.value;
    } catch (e) {
      const msg = e instanceof ConnectError ? mapConnectError(e, 'gateway').body.error.message : 'the call failed';
      await record(sync.RunStatus.FAILED, `REST ${what} failed: ${msg}`, 0, 0, 0);
      throw e;
    }
  }

  app.get<{ Querystring: { product_codes?: string } }>(
    '/api/haier/products/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['live'],
        operationId: 'liveProducts', summary: 'Procurable products, live from Haier (all of them when no codes are given)',
        querystring: { type: 'object', properties: { product_codes: CODES_LIST }, additionalProperties: false },
        response: dataAnswer({ type: 'array', items: productItem }, { errors: itemErrors }),
      },
    },
    async (req) => {
      const codes = parseCodes(req.query.product_codes, 'product_codes', false);
      const res = await live(req, 'PRODUCTS', `products (${codes.length || 'all'} codes)`, callsForCodes(codes.length), async () => {
        const r = await gateway.getProducts({ productCodes: codes }, { timeoutMs: 120_000 });
        return { value: r, total: codes.length || r.products.length, succeeded: r.products.length, failed: r.errors.length };
      });
      return { success: true, data: res.products.map(productOut), errors: res.errors.map((e) => ({ productCode: e.productCode, reason: e.reason })) };
    },
  );

  app.get<{ Querystring: { product_codes: string } }>(
    '/api/haier/prices/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['live'],
        operationId: 'livePrices', summary: 'Prices, live from Haier',
        querystring: { type: 'object', properties: { product_codes: CODES_LIST }, required: ['product_codes'], additionalProperties: false },
        response: dataAnswer({ type: 'array', items: priceItem }, { errors: itemErrors }),
      },
    },
    async (req) => {
      const codes = parseCodes(req.query.product_codes, 'product_codes', true);
      const res = await live(req, 'PRICES', `prices (${codes.length} codes)`, callsForCodes(codes.length), async () => {
        const r = await gateway.getPrices({ productCodes: codes }, { timeoutMs: 120_000 });
        return { value: r, total: codes.length, succeeded: r.prices.length, failed: r.errors.length };
      });
      return { success: true, data: res.prices.map(priceOut), errors: res.errors.map((e) => ({ productCode: e.productCode, reason: e.reason })) };
    },
  );

  app.get<{ Querystring: { product_code: string; county_code: string } }>(
    '/api/haier/stock/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['live'],
        operationId: 'liveStock', summary: 'Stock of one product in one county, live from Haier (sum over warehouses, best warehouse)',
        querystring: {
          type: 'object',
          properties: { product_code: codeSchema, county_code: countySchema },
          required: ['product_code', 'county_code'],
          additionalProperties: false,
        },
        response: dataAnswer({
          type: 'object',
          properties: {
            productCode: str,
            countyCode: str,
            stock: { type: 'integer' },
            bestSecCode: str,
            warehouses: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  secCode: str,
                  stock: { type: 'integer' },
                  warehouseGrade: str,
                  timelinessData: { type: 'object', properties: { cutTime: str, achieveUserOrderCut: str, hour: str, isTranfer: str } },
                },
              },
            },
          },
        }),
      },
    },
    async (req) => {
      const { product_code, county_code } = req.query;
      const stock = await live(req, 'STOCK', `stock (${product_code} in ${county_code})`, 1, async () => {
        const r = await gateway.getStock({ productCode: product_code, countyCode: county_code });
        return { value: r.stock, total: 1, succeeded: 1, failed: 0 };
      });
      return { success: true, data: stockOut(stock, product_code, county_code) };
    },
  );

  app.get(
    '/api/haier/balance/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['live'],
        operationId: 'liveBalance', summary: "The payer account's balance, live from Haier",
        querystring: { type: 'object', properties: {}, additionalProperties: false },
        response: dataAnswer({
          type: 'array',
          items: { type: 'object', properties: { saleGroupCode: str, saleGroupName: str, payerAccountCode: str, payerAccountName: str, payerAccountBalance: str } },
        }),
      },
    },
    async (req) => {
      const balances = await live(req, 'MANUAL', 'balance', 1, async () => {
        const r = await gateway.getBalance({});
        return { value: r.balances, total: r.balances.length, succeeded: r.balances.length, failed: 0 };
      });
      return { success: true, data: balances.map(balanceOut) };
    },
  );

  const int = { type: 'integer' } as const;
  app.get(
    '/api/haier/usage/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['live'],
        operationId: 'getUsage',
        summary: "The Haier call budget in use: the gateway's upstream calls since it started, per lane (interactive, scheduled, bulk: floor, cap, in use now, calls) and per endpoint and outcome; and what this key has spent of its own per-minute budget for live lookups",
        querystring: noQuery,
        response: dataAnswer({
          type: 'object',
          properties: {
            rate_limit_per_second: { ...int, description: 'HAIER_RATE_LIMIT: the account\'s budget' },
            limit_now_per_second: { ...int, description: "this gateway replica's share of it now" },
            total_calls: int,
            throttled: { ...int, description: 'calls Haier answered 429' },
            retries: int,
            token_requests: int,
            lanes: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  lane: { type: 'string', enum: ['interactive', 'scheduled', 'bulk'] },
                  floor_pct: int,
                  cap_pct: int,
                  cap_per_second: int,
                  in_window: { ...int, description: 'calls in flight or ended within the last second' },
                  waiting: int,
                  calls: { ...int, description: 'calls started since the gateway started' },
                },
              },
            },
            endpoints: { type: 'array', items: { type: 'object', properties: { endpoint: str, outcome: str, calls: int } } },
            key_budget: {
              type: 'object',
              description: "this API key's Haier calls for live lookups and per-product actions (EDGE_CALL_BUDGET_<ROLE>)",
              properties: { role: str, limit_per_minute: int, used: int, remaining: int, resets_in_s: int },
            },
          },
        }),
      },
    },
    async (req) => {
      const u = await gateway.getUsage({}, { timeoutMs: 5_000 });
      return {
        success: true,
        data: {
          rate_limit_per_second: u.rateLimitPerSecond,
          limit_now_per_second: u.limitNowPerSecond,
          total_calls: Number(u.totalCalls),
          throttled: Number(u.throttled),
          retries: Number(u.retries),
          token_requests: Number(u.tokenRequests),
          lanes: u.lanes.map((l) => ({ lane: l.lane, floor_pct: l.floorPct, cap_pct: l.capPct, cap_per_second: l.capPerSecond, in_window: l.inWindow, waiting: l.waiting, calls: Number(l.calls) })),
          endpoints: u.endpoints.map((e) => ({ endpoint: e.endpoint, outcome: e.outcome, calls: Number(e.calls) })),
          key_budget: req.auth ? await ctx.callBudget.standing(req.auth) : undefined,
        },
      };
    },
  );

  const anyList = { type: 'array', items: { type: 'object', additionalProperties: true } } as const;
  app.get<{ Querystring: { order_code: string; delivery_record_code?: string; member_id?: number } }>(
    '/api/haier/logistics/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['live'],
        operationId: 'liveLogistics', summary: 'Logistics of an order, live from Haier (three lists, as Haier names them)',
        querystring: {
          type: 'object',
          properties: {
            order_code: orderCodeSchema,
            delivery_record_code: { ...orderCodeSchema, description: 'A delivery record code of the order, e.g. SO.20190106.000003.F1.' },
            member_id: { type: 'integer', minimum: 0, maximum: 9007199254740991 },
          },
          required: ['order_code'],
          additionalProperties: false,
        },
        response: dataAnswer({
          type: 'object',
          properties: { getAllLogisticsInfoByOrderCode: anyList, getStockDeliveryLogisticsRecord: anyList, getStockDeliveryLogisticsRecordThirdparty: anyList },
        }),
      },
    },
    async (req) => {
      const { order_code, delivery_record_code, member_id } = req.query;
      const r = await live(req, 'LOGISTICS', `logistics (${order_code})`, 1, async () => {
        const res = await gateway.getLogistics({ orderCode: order_code, deliveryRecordCode: delivery_record_code ?? '', memberId: member_id === undefined ? undefined : BigInt(member_id) });
        const n = res.allLogisticsInfo.length + res.stockDeliveryRecords.length + res.thirdPartyRecords.length;
        return { value: res, total: n, succeeded: n, failed: 0 };
      });
      return { success: true, data: logisticsOut(r) };
    },
  );
}
