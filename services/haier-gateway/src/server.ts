// Maps each HaierGatewayService RPC to the domain operations: validate input, call, shape the
// answer. Failures become ConnectErrors an operator can act on in rpcError, which the runtime's
// error interceptor applies to every RPC (gatewayErrors).
import { setMaxListeners } from 'node:events';
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter, HandlerContext, ServiceImpl } from '@connectrpc/connect';
import { gateway, rules } from '@haier-sync/contracts';
import { Code, ConnectError } from '@connectrpc/connect';
import { HAIER_BUDGET_HEADER as BUDGET_HEADER, HAIER_LANE_LIMITS_HEADER, invalidArgument, type HaierLaneLimits, redact, toConnectError, UPSTREAM_FAULT_HEADER, type ErrorMapper, type Logger } from '@haier-sync/runtime';
import { credentialSources } from './account-check';
import { BatchError, dedupeCodes } from './batching';
import type { Endpoint } from './endpoints';
import { ENDPOINTS } from './endpoints';
import { CallAbandoned, isAboutTheItem, toConnectError as upstreamToConnectError, UpstreamError, type ErrorContext } from './errors';
import type { HaierApi } from './haier-api';
import { MalformedRecord } from './mapping';
import { GateClosed, LaneFull } from './rate-gate';
import { currentLane, LANE_HEADER, laneOfHeader, type Lane } from './lanes';
import type { FetchedToken, TokenManager } from './token-manager';
import { checkChunkSize, InvalidInput } from './validation';
import type { ImageMirror, MirrorResult } from './images/mirror';

/** Images one MirrorImages call may carry. */
export const MAX_IMAGES_PER_CALL = 500;

export interface ServerDeps {
  api: HaierApi;
  tokens: TokenManager;
  /** A fresh token for a Haier config's account, or why the gateway will not ask for one. */
  tokenFor(account: gateway.AccountToCheck): Promise<{ token: FetchedToken; host: string } | { refused: string }>;
  logger: Logger;
  maxRetries: number;
  rateLimit: number;
  /** Copies images into the image store (MirrorImages). */
  images: ImageMirror;
}

/** The codes that mean "Haier is unavailable for now" (5xx, timeouts, throttling, connection faults). */
const HAIER_UNAVAILABLE = new Set([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted]);

/** The gateway's own failures as the ConnectError the caller sees; undefined for anything else. */
export function gatewayError(err: unknown, endpoint: Endpoint | undefined, maxRetries: number, credentials?: ErrorContext['credentials']): ConnectError | undefined {
  if (err instanceof InvalidInput) return invalidArgument(err.problem, err.field);
  if (err instanceof BatchError) {
    const inner = rpcError(err.cause, endpoint, maxRetries);
    return new ConnectError(`${err.message}, so the request failed rather than answer partially: ${inner.rawMessage}`, inner.code, inner.metadata);
  }
  if (err instanceof CallAbandoned) return new ConnectError(err.message, Code.Canceled);
  if (err instanceof UpstreamError) {
    const ce = upstreamToConnectError(err, { passwordVar: endpoint?.passwordVar, maxRetries, credentials });
    // Haier itself unavailable (after the retries): callers wait it out rather than fail items
    if (!isAboutTheItem(ce.code) && HAIER_UNAVAILABLE.has(ce.code)) ce.metadata.set(UPSTREAM_FAULT_HEADER, 'haier');
    return ce;
  }
  if (err instanceof LaneFull) {
    const ce = new ConnectError(err.message, Code.ResourceExhausted);
    ce.metadata.set('retry-after', String(err.retryAfterS));
    ce.metadata.set(BUDGET_HEADER, 'lane-full');
    const limits: HaierLaneLimits = { lane: err.lane, cap_per_second: err.cap, in_use: err.load, cost: err.calls };
    ce.metadata.set(HAIER_LANE_LIMITS_HEADER, JSON.stringify(limits));
    return ce;
  }
  if (err instanceof GateClosed) return new ConnectError(`${err.message}: retry the call (another gateway instance, or this one once restarted)`, Code.Unavailable);
  if (err instanceof MalformedRecord) return new ConnectError(`Haier's ${endpoint?.name ?? ''} answer could not be read (${err.message}): report it to Haier if it persists`, Code.DataLoss);
  return undefined;
}

/** Any failure as a ConnectError (redacted), for answers that carry a failure in their body (GetStocks, CheckAuth). */
export function rpcError(err: unknown, endpoint: Endpoint | undefined, maxRetries: number, credentials?: ErrorContext['credentials']): ConnectError {
  return toConnectError(gatewayError(err, endpoint, maxRetries, credentials) ?? err);
}

/** The upstream endpoint each RPC calls, for the hints in its errors. */
const ENDPOINT_OF: Record<string, Endpoint> = {
  getProducts: ENDPOINTS.products,
  streamAllProducts: ENDPOINTS.products,
  getPrices: ENDPOINTS.prices,
  getStock: ENDPOINTS.stock,
  getStocks: ENDPOINTS.stock,
  getLogistics: ENDPOINTS.logistics,
  getBalance: ENDPOINTS.balance,
};

/** The gateway's errors as status codes, for the runtime's error interceptor (every RPC). */
export function gatewayErrors(maxRetries: number): ErrorMapper {
  return (err, method) => gatewayError(err, ENDPOINT_OF[method.localName], maxRetries);
}

/**
 * The RPC's abort signal, passed to every upstream call the RPC makes (waiting for a slot or the
 * budget, and the exchange): a cancelled or dead caller stops spending Haier's budget. One RPC
 * may have dozens of calls listening (a GetStocks of 60 pairs), hence no listener limit.
 */
function callerSignal(ctx: HandlerContext): AbortSignal {
  setMaxListeners(0, ctx.signal);
  return ctx.signal;
}

export function gatewayService(deps: ServerDeps): ServiceImpl<typeof gateway.HaierGatewayService> {
  const { api, tokens } = deps;

  return {
    async getProducts(req, ctx) {
      const r = await api.getProducts(dedupeCodes(req.productCodes), callerSignal(ctx));
      return create(gateway.GetProductsResponseSchema, { products: r.items, errors: r.errors });
    },

    async *streamAllProducts(req, ctx) {
      const chunkSize = checkChunkSize(req.chunkSize);
      for await (const chunk of api.streamAllProducts(chunkSize, callerSignal(ctx), laneOf(ctx, 'bulk'))) {
        yield create(gateway.StreamAllProductsResponseSchema, { products: chunk.products, errors: chunk.errors, seen: BigInt(chunk.seen) });
      }
    },

    async getPrices(req, ctx) {
      const r = await api.getPrices(dedupeCodes(req.productCodes), callerSignal(ctx));
      return create(gateway.GetPricesResponseSchema, { prices: r.items, errors: r.errors });
    },

    async getStock(req, ctx) {
      const stock = await api.getStock(req.productCode, req.countyCode, callerSignal(ctx));
      return create(gateway.GetStockResponseSchema, { stock });
    },

    async getStocks(req, ctx) {
      const queries = req.queries.map((q) => ({ productCode: q.productCode, countyCode: q.countyCode }));
      const settled = await api.getStocks(queries, callerSignal(ctx));
      const stocks: gateway.Stock[] = [];
      const errors: gateway.StockError[] = [];
      let notAboutTheItem: ConnectError | undefined;
      settled.forEach((s, i) => {
        const q = queries[i]!;
        if (s.status === 'fulfilled') return stocks.push(s.value);
        const ce = rpcError(s.reason, ENDPOINTS.stock, deps.maxRetries);
        if (isAboutTheItem(ce.code)) errors.push(create(gateway.StockErrorSchema, { ...q, reason: ce.rawMessage }));
        else notAboutTheItem ??= ce;
      });
      // A pair that failed for a reason that is not about it (Haier unavailable, throttled, the
      // gateway stopping) fails the call, as a failed prices call does: the caller retries the
      // whole batch instead of failing that product. Likewise when every pair failed.
      if (notAboutTheItem) throw notAboutTheItem;
      if (queries.length > 0 && stocks.length === 0) {
        throw settled.find((s): s is PromiseRejectedResult => s.status === 'rejected')?.reason;
      }
      return create(gateway.GetStocksResponseSchema, { stocks, errors });
    },

    async getLogistics(req, ctx) {
      return api.getLogistics({ orderCode: req.orderCode, deliveryRecordCode: req.deliveryRecordCode || undefined, memberId: req.memberId }, callerSignal(ctx));
    },

    async getBalance(_req, ctx) {
      const balances = await api.getBalance(callerSignal(ctx));
      return create(gateway.GetBalanceResponseSchema, { balances });
    },

    async checkAuth(req) {
      try {
        let expiresAt: number;
        let whose = 'this client';
        if (req.account) {
          // a Haier config's account: one token request, the shared token untouched
          const r = await deps.tokenFor(req.account);
          if ('refused' in r) return create(gateway.CheckAuthResponseSchema, { ok: false, message: redact(r.refused) });
          expiresAt = Date.now() + r.token.expiresInSeconds * 1000;
          whose = `the config's client at ${r.host}`;
        } else {
          expiresAt = (await tokens.forceRefresh()).expiresAt;
        }
        const inS = Math.round((expiresAt - Date.now()) / 1000);
        return create(gateway.CheckAuthResponseSchema, {
          ok: true,
          message: `Haier issued an access token for ${whose}; it expires in ${inS} s`,
          tokenExpiresAt: timestampFromMs(expiresAt),
        });
      } catch (err) {
        const from = req.account && credentialSources(req.account);
        const credentials = from && {
          client: `the config's ${from.clientIdEnv ?? 'client_id'} and ${from.clientSecretEnv}`,
          tokenUrl: "the config's token_url",
        };
        const ce = rpcError(err, undefined, deps.maxRetries, credentials);
        deps.logger.warn({ code: Code[ce.code], reason: ce.rawMessage }, 'CheckAuth: Haier did not issue a token');
        return create(gateway.CheckAuthResponseSchema, { ok: false, message: redact(ce.rawMessage) });
      }
    },

    async getUsage() {
      return api.usage(deps.rateLimit);
    },

    async mirrorImages(req) {
      if (req.images.length > MAX_IMAGES_PER_CALL)
        throw invalidArgument(`${req.images.length} images in one call; send at most ${MAX_IMAGES_PER_CALL} per MirrorImages call`, 'images');
      const results = await Promise.all(
        req.images.map((i) => deps.images.mirror(i.url, { etag: i.etag || undefined, lastModified: i.lastModified || undefined, sha256: i.sha256 || undefined })),
      );
      return create(gateway.MirrorImagesResponseSchema, { images: results.map(mirroredImage) });
    },
  };
}

function mirroredImage(r: MirrorResult): gateway.MirroredImage {
  const base = { url: r.url, attempts: r.attempts };
  if (r.status === 'unchanged') return create(gateway.MirroredImageSchema, { ...base, status: gateway.MirrorStatus.UNCHANGED });
  if (r.status === 'failed') return create(gateway.MirroredImageSchema, { ...base, status: gateway.MirrorStatus.FAILED, reason: redact(r.reason), httpStatus: r.httpStatus ?? 0 });
  return create(gateway.MirroredImageSchema, {
    ...base,
    status: gateway.MirrorStatus.STORED,
    sha256: r.sha256,
    storageKey: r.key,
    bytes: BigInt(r.bytes),
    contentType: r.contentType,
    width: r.width,
    height: r.height,
    etag: r.etag,
    lastModified: r.lastModified,
    written: r.written,
  });
}

/** The lane a request's upstream calls go in: its x-haier-lane header, else `dflt`; a bad value is INVALID_ARGUMENT naming the header. */
export function laneOf(ctx: HandlerContext, dflt: Lane): Lane {
  const lane = laneOfHeader(ctx.requestHeader.get(LANE_HEADER));
  if (lane === undefined) return dflt;
  if (typeof lane === 'object') throw invalidArgument(lane.error, LANE_HEADER);
  return lane;
}

/** The upstream calls a unary request will make (what its admission to the lane counts). */
export function upstreamCallsOf(method: string, req: unknown): number {
  const r = req as { productCodes?: readonly string[]; queries?: readonly unknown[] };
  if (method === 'getProducts' || method === 'getPrices') return rules.haierCallsForCodes(dedupeCodes(r.productCodes ?? []).length);
  if (method === 'getStocks') return Math.max(1, r.queries?.length ?? 0);
  // getUsage calls nobody; image hosts are not the API (MirrorImages has its own limits)
  if (method === 'getUsage' || method === 'mirrorImages') return 0;
  return 1;
}

/**
 * Every unary method runs in its request's lane (the upstream client reads it); the stream passes
 * it itself. An interactive request is first admitted to its lane by what it costs: one the lane
 * cannot start within HAIER_INTERACTIVE_MAX_WAIT_MS is RESOURCE_EXHAUSTED at once, with
 * `retry-after` and `x-haier-budget: lane-full` (the edge answers 429), instead of a long wait.
 */
function inLanes(impl: ServiceImpl<typeof gateway.HaierGatewayService>, api: HaierApi): ServiceImpl<typeof gateway.HaierGatewayService> {
  const out: Record<string, unknown> = { ...impl };
  for (const [name, fn] of Object.entries(impl)) {
    if (name === 'streamAllProducts' || typeof fn !== 'function') continue;
    out[name] = (req: unknown, ctx: HandlerContext) => {
      const lane = laneOf(ctx, 'scheduled');
      const release = api.admit(lane, upstreamCallsOf(name, req));
      return currentLane.run(lane, async () => {
        try {
          return await (fn as (r: unknown, c: HandlerContext) => unknown)(req, ctx);
        } finally {
          release();
        }
      });
    };
  }
  return out as ServiceImpl<typeof gateway.HaierGatewayService>;
}

export function routes(deps: ServerDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(gateway.HaierGatewayService, inLanes(gatewayService(deps), deps.api));
  };
}
