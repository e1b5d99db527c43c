// Haier's business endpoints (paths and request bodies exactly as haier-upstream.md gives them).
import { REDACTED, isSecretName } from '@haier-sync/runtime';
import type { GatewayConfig } from './config';

export interface Endpoint {
  /** Short name used in logs, counters and messages. */
  name: 'products' | 'prices' | 'stock' | 'logistics' | 'balance';
  path: string;
  /** The environment variable of the password this endpoint checks (for error hints). */
  passwordVar: 'HAIER_PASSWORD' | 'HAIER_SELLER_PASSWORD' | 'HAIER_CUSTOMER_PASSWORD';
}

export const ENDPOINTS = {
  products: {
    name: 'products',
    path: '/yilihuo/jsh-service-goods-mall-search/api/product-info/procurable-products-out/check-procurable-products',
    passwordVar: 'HAIER_PASSWORD',
  },
  prices: {
    name: 'prices',
    path: '/yilihuo/jsh-service-goods-price/api/goods-price/price-daily-sales/price-query/pt-out-list-price',
    passwordVar: 'HAIER_PASSWORD',
  },
  stock: {
    name: 'stock',
    path: '/yilihuo/jsh-service-stock-mall/api/page/stock/get-available-stock-open',
    passwordVar: 'HAIER_SELLER_PASSWORD',
  },
  logistics: {
    name: 'logistics',
    path: '/yilihuo/ylh-cloud-service-stock/api/page/stock/logistics/sass/get-thirdparty-logistics-info-by-order-code-auth',
    passwordVar: 'HAIER_SELLER_PASSWORD',
  },
  balance: {
    name: 'balance',
    path: '/yilihuo/jsh-service-finance-mall/api/page/account/account-balance-manager/get-payer-account-balance-by-customer-code',
    passwordVar: 'HAIER_CUSTOMER_PASSWORD',
  },
} as const satisfies Record<string, Endpoint>;


export type Account = Pick<
  GatewayConfig,
  'HAIER_CUSTOMER_CODE' | 'HAIER_SEND_TO_CODE' | 'HAIER_SUPPLIER_CODE' | 'HAIER_PASSWORD' | 'HAIER_SELLER_PASSWORD' | 'HAIER_CUSTOMER_PASSWORD'
>;

export function productsBody(a: Account, productCodes: readonly string[]): Record<string, unknown> {
  return {
    customerCode: a.HAIER_CUSTOMER_CODE,
    sendToCode: a.HAIER_SEND_TO_CODE,
    productCodes: [...productCodes],
    supplierCode: a.HAIER_SUPPLIER_CODE,
    searchType: 'PTJSH',
    passWord: a.HAIER_PASSWORD,
  };
}

export function pricesBody(a: Account, productCodes: readonly string[]): Record<string, unknown> {
  return {
    customerCode: a.HAIER_CUSTOMER_CODE,
    sendToCode: a.HAIER_SEND_TO_CODE,
    productCodes: [...productCodes],
    priceType: 'PT',
    passWord: a.HAIER_PASSWORD,
  };
}

export function stockBody(a: Account, productCode: string, countyCode: string): Record<string, unknown> {
  return {
    salesCode: a.HAIER_CUSTOMER_CODE,
    senderCode: a.HAIER_SEND_TO_CODE,
    productCode,
    countyCode,
    source: 'JSH-B',
    sellerPassword: a.HAIER_SELLER_PASSWORD,
  };
}

export function logisticsBody(a: Account, q: { orderCode: string; deliveryRecordCode?: string; memberId?: bigint }): Record<string, unknown> {
  const body: Record<string, unknown> = { orderCode: q.orderCode };
  if (q.deliveryRecordCode) body['deliveryRecordCode'] = q.deliveryRecordCode;
  if (q.memberId !== undefined) body['memberId'] = q.memberId;
  body['sellerCode'] = a.HAIER_CUSTOMER_CODE;
  body['sellerPassword'] = a.HAIER_SELLER_PASSWORD;
  return body;
}

export function balanceBody(a: Account): Record<string, unknown> {
  return { customerCode: a.HAIER_CUSTOMER_CODE, customerPassword: a.HAIER_CUSTOMER_PASSWORD };
}

/** A copy of a request body fit for a log line: secret fields masked. */
export function loggableBody(body: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (isSecretName(k)) copy[k] = REDACTED;
    else if (Array.isArray(v) && v.length > 20) copy[k] = [...v.slice(0, 20), `… ${v.length - 20} more`];
    else copy[k] = typeof v === 'bigint' ? v.toString() : v;
  }
  return copy;
}
