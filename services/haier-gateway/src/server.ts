// Maps each HaierGatewayService RPC to the domain operations: validate input, call, shape the
// answer, and turn failures into ConnectErrors an operator can act on.
import { create } from '@bufbuild/protobuf';
import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter, ServiceImpl } from '@connectrpc/connect';
import { gateway } from '@haier-sync/contracts';
import { Code, ConnectError } from '@connectrpc/connect';
import { invalidArgument, redact, toConnectError, type Logger } from '@haier-sync/runtime';
import { credentialSources } from './account-check';
import { BatchError, dedupeCodes } from './batching';
import type { Endpoint } from './endpoints';
import { ENDPOINTS } from './endpoints';
import { toConnectError as upstreamToConnectError, UpstreamError, type ErrorContext } from './errors';
import type { HaierApi } from './haier-api';
import { MalformedRecord } from './mapping';
import { GateClosed } from './rate-gate';
import type { FetchedToken, TokenManager } from './token-manager';
import { checkChunkSize, InvalidInput } from './validation';

export interface ServerDeps {
  api: HaierApi;
  tokens: TokenManager;
  /** A fresh token for a Haier config's account, or why the gateway will not ask for one. */
  tokenFor(account: gateway.AccountToCheck): Promise<{ token: FetchedToken; host: string } | { refused: string }>;
  logger: Logger;
  maxRetries: number;
  rateLimit: number;
}

/** Any failure of a gateway operation as the ConnectError the caller sees (message redacted). */
export function rpcError(err: unknown, endpoint: Endpoint | undefined, maxRetries: number, credentials?: ErrorContext['credentials']): ConnectError {
  if (err instanceof ConnectError) return toConnectError(err);
  if (err instanceof InvalidInput) return invalidArgument(err.problem, err.field);
  if (err instanceof BatchError) {
    const inner = rpcError(err.cause, endpoint, maxRetries);
    return toConnectError(new ConnectError(`${err.message}, so the request failed rather than answer partially: ${inner.rawMessage}`, inner.code));
  }
  if (err instanceof UpstreamError) return toConnectError(upstreamToConnectError(err, { passwordVar: endpoint?.passwordVar, maxRetries, credentials }));
  if (err instanceof GateClosed) return toConnectError(new ConnectError(`${err.message}: retry the call (another gateway instance, or this one once restarted)`, Code.Unavailable));
  if (err instanceof MalformedRecord)
    return toConnectError(new ConnectError(`Haier's ${endpoint?.name ?? ''} answer could not be read (${err.message}): report it to Haier if it persists`, Code.DataLoss));
  return toConnectError(err);
}

export function gatewayService(deps: ServerDeps): ServiceImpl<typeof gateway.HaierGatewayService> {
  const { api, tokens } = deps;
  const fail = (endpoint: Endpoint | undefined) => (err: unknown) => {
    throw rpcError(err, endpoint, deps.maxRetries);
  };

  return {
    async getProducts(req) {
      const r = await api.getProducts(dedupeCodes(req.productCodes)).catch(fail(ENDPOINTS.products));
      return create(gateway.GetProductsResponseSchema, { products: r.items, errors: r.errors });
    },

    async *streamAllProducts(req) {
      let chunkSize: number;
      try {
        chunkSize = checkChunkSize(req.chunkSize);
      } catch (err) {
        throw rpcError(err, undefined, deps.maxRetries);
      }
      try {
        for await (const chunk of api.streamAllProducts(chunkSize)) {
          yield create(gateway.StreamAllProductsResponseSchema, { products: chunk.products, errors: chunk.errors, seen: BigInt(chunk.seen) });
        }
      } catch (err) {
        throw rpcError(err, ENDPOINTS.products, deps.maxRetries);
      }
    },

    async getPrices(req) {
      const r = await api.getPrices(dedupeCodes(req.productCodes)).catch(fail(ENDPOINTS.prices));
      return create(gateway.GetPricesResponseSchema, { prices: r.items, errors: r.errors });
    },

    async getStock(req) {
      const stock = await api.getStock(req.productCode, req.countyCode).catch(fail(ENDPOINTS.stock));
      return create(gateway.GetStockResponseSchema, { stock });
    },

    async getStocks(req) {
      const queries = req.queries.map((q) => ({ productCode: q.productCode, countyCode: q.countyCode }));
      const settled = await api.getStocks(queries);
      const stocks: gateway.Stock[] = [];
      const errors: gateway.StockError[] = [];
      settled.forEach((s, i) => {
        const q = queries[i]!;
        if (s.status === 'fulfilled') stocks.push(s.value);
        else errors.push(create(gateway.StockErrorSchema, { ...q, reason: rpcError(s.reason, ENDPOINTS.stock, deps.maxRetries).rawMessage }));
      });
      // Every pair failing means the gateway, not the pairs, is in trouble: fail the call.
      if (queries.length > 0 && stocks.length === 0) {
        const first = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        throw rpcError(first?.reason, ENDPOINTS.stock, deps.maxRetries);
      }
      return create(gateway.GetStocksResponseSchema, { stocks, errors });
    },

    async getLogistics(req) {
      return api
        .getLogistics({ orderCode: req.orderCode, deliveryRecordCode: req.deliveryRecordCode || undefined, memberId: req.memberId })
        .catch(fail(ENDPOINTS.logistics));
    },

    async getBalance() {
      const balances = await api.getBalance().catch(fail(ENDPOINTS.balance));
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
  };
}

export function routes(deps: ServerDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(gateway.HaierGatewayService, gatewayService(deps));
  };
}
