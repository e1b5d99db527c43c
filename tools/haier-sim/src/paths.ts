// Haier's paths (from haier-upstream.md), by the endpoint names the stats use.
export const BUSINESS_PATHS = {
  products: '/yilihuo/jsh-service-goods-mall-search/api/product-info/procurable-products-out/check-procurable-products',
  prices: '/yilihuo/jsh-service-goods-price/api/goods-price/price-daily-sales/price-query/pt-out-list-price',
  stock: '/yilihuo/jsh-service-stock-mall/api/page/stock/get-available-stock-open',
  logistics: '/yilihuo/ylh-cloud-service-stock/api/page/stock/logistics/sass/get-thirdparty-logistics-info-by-order-code-auth',
  balance: '/yilihuo/jsh-service-finance-mall/api/page/account/account-balance-manager/get-payer-account-balance-by-customer-code',
} as const;

export type Endpoint = keyof typeof BUSINESS_PATHS;

const BY_PATH = new Map<string, Endpoint>(Object.entries(BUSINESS_PATHS).map(([k, v]) => [v, k as Endpoint]));

export function endpointFor(path: string): Endpoint | undefined {
  return BY_PATH.get(path.length > 1 ? path.replace(/\/+$/, '') : path);
}

export const TOKEN_PATHS = new Set(['/oauth2/auth', '/oauth2/token']);
export const MAX_CODES = 20;
