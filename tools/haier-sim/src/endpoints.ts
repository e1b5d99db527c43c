// The five business calls: validate the request as Haier does, then answer from the catalog.
// Pure of I/O except for the full-list stream, which is handed back as rows to write.
import type { Catalog } from './catalog';
import { hash32, hashString, intIn } from './hash';
import { fromCents } from './price-math';
import type { Endpoint } from './paths';
import { MAX_CODES } from './paths';
import type { SimCredentials } from './types';
import {
  envelope, errorBody, missingPriceRow, missingProductRow, priceRow, productRow, stockRows,
  PRICE_MALFORMATIONS, PRODUCT_MALFORMATIONS,
} from './wire';

export type Answer =
  | { kind: 'body'; status: number; outcome: string; body: string }
  /** the whole listed catalog, to stream: rows from listing position `from` */
  | { kind: 'fullList'; outcome: string; malformedAt?: number; malformation?: (typeof PRODUCT_MALFORMATIONS)[number] };

export interface CallContext {
  catalog: Catalog;
  credentials: SimCredentials;
  /** set when a malformed-row fault hit this call: a number to pick the row and the kind of damage */
  malformed?: number;
}

type Body = Record<string, unknown>;

const badRequest = (description: string): Answer => ({ kind: 'body', status: 400, outcome: 'bad_request', body: errorBody('400', description) });
const forbidden = (description: string): Answer => ({ kind: 'body', status: 403, outcome: 'forbidden', body: errorBody('403', description) });
const businessError = (code: string, description: string): Answer => ({ kind: 'body', status: 200, outcome: 'business_error', body: errorBody(code, description) });
const ok = (dataJson: string, malformed = false): Answer => ({ kind: 'body', status: 200, outcome: malformed ? 'malformed' : 'ok', body: envelope(dataJson) });

/** A required text field (numbers accepted, as some clients send codes as numbers), or the 400 answer. */
function text(body: Body, field: string, required = true): string | Answer | undefined {
  const v = body[field];
  if (v === undefined || v === null || v === '') return required ? badRequest(`missing required parameter ${field}`) : undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string') return badRequest(`parameter ${field} must be a string`);
  return v;
}

function isAnswer(v: unknown): v is Answer {
  return typeof v === 'object' && v !== null && 'kind' in v;
}

function codesOf(body: Body, required: boolean): string[] | Answer {
  const v = body.productCodes;
  if (v === undefined || v === null) return required ? badRequest('missing required parameter productCodes (a list of 1 to 20 product codes)') : [];
  if (!Array.isArray(v) || v.some((c) => typeof c !== 'string' || c === '')) return badRequest('productCodes must be a list of product code strings');
  if (v.length > MAX_CODES) return badRequest(`productCodes holds ${v.length} codes; at most ${MAX_CODES} are allowed per call — split the request`);
  if (required && v.length === 0) return badRequest('productCodes is empty: name 1 to 20 product codes');
  return v as string[];
}

function wrongPassword(field: string): Answer {
  return businessError('PASSWORD_ERROR', `密码错误: ${field} does not match the agreed password of this account`);
}

function checkCustomer(creds: SimCredentials, field: string, value: string): Answer | undefined {
  return value === creds.customerCode ? undefined : forbidden(`no permission for ${field} ${value}: this client may only query its own account`);
}

function checkSendTo(creds: SimCredentials, field: string, value: string): Answer | undefined {
  return value === creds.sendToCode ? undefined : businessError('SEND_TO_ERROR', `送达方编码 ${field} ${value} is not a ship-to of customer ${creds.customerCode}`);
}

function products(ctx: CallContext, body: Body): Answer {
  const customerCode = text(body, 'customerCode');
  const supplierCode = text(body, 'supplierCode');
  const searchType = text(body, 'searchType');
  const passWord = text(body, 'passWord');
  for (const v of [customerCode, supplierCode, searchType, passWord]) if (isAnswer(v)) return v;
  const sendToCode = text(body, 'sendToCode', supplierCode === '1001');
  if (isAnswer(sendToCode)) return sendToCode;
  if (!/^(\d{4}|\d{8})$/.test(supplierCode as string)) return badRequest(`supplierCode ${supplierCode} is not valid: use 1001 (Haier Smart Home) or an 8-digit service provider code`);
  if (searchType !== 'PTJSH') return badRequest(`searchType must be PTJSH, got ${searchType}`);
  const codes = codesOf(body, false);
  if (isAnswer(codes)) return codes;
  const denied = checkCustomer(ctx.credentials, 'customerCode', customerCode as string) ?? (sendToCode !== undefined ? checkSendTo(ctx.credentials, 'sendToCode', sendToCode) : undefined);
  if (denied) return denied;
  if (passWord !== ctx.credentials.passWord) return wrongPassword('passWord');

  const bad = ctx.malformed;
  const malformation = bad === undefined ? undefined : PRODUCT_MALFORMATIONS[bad % PRODUCT_MALFORMATIONS.length];
  if (codes.length === 0) {
    const listed = ctx.catalog.listedCount();
    const at = bad === undefined || listed === 0 ? undefined : Math.floor(bad / PRODUCT_MALFORMATIONS.length) % Math.min(listed, 1000);
    return { kind: 'fullList', outcome: at === undefined ? 'ok' : 'malformed', malformedAt: at, malformation };
  }
  const badRow = bad === undefined ? -1 : Math.floor(bad / PRODUCT_MALFORMATIONS.length) % codes.length;
  const rows = codes.map((code, i) => {
    const found = ctx.catalog.lookup(code);
    return 'product' in found ? productRow(found.product, i === badRow ? malformation : undefined) : missingProductRow(code, found.missing);
  });
  return ok(`[${rows.join(',')}]`, bad !== undefined);
}

function prices(ctx: CallContext, body: Body): Answer {
  const customerCode = text(body, 'customerCode');
  const sendToCode = text(body, 'sendToCode');
  const priceType = text(body, 'priceType');
  const passWord = text(body, 'passWord');
  for (const v of [customerCode, sendToCode, priceType, passWord]) if (isAnswer(v)) return v;
  const codes = codesOf(body, true);
  if (isAnswer(codes)) return codes;
  if (priceType !== 'PT') return badRequest(`priceType must be PT, got ${priceType}`);
  const denied = checkCustomer(ctx.credentials, 'customerCode', customerCode as string) ?? checkSendTo(ctx.credentials, 'sendToCode', sendToCode as string);
  if (denied) return denied;
  if (passWord !== ctx.credentials.passWord) return wrongPassword('passWord');

  const bad = ctx.malformed;
  const malformation = bad === undefined ? undefined : PRICE_MALFORMATIONS[bad % PRICE_MALFORMATIONS.length];
  const badRow = bad === undefined ? -1 : Math.floor(bad / PRICE_MALFORMATIONS.length) % codes.length;
  const rows = codes.map((code, i) => {
    const found = ctx.catalog.lookup(code);
    return 'product' in found ? priceRow(found.product, i === badRow ? malformation : undefined) : missingPriceRow(code, found.missing);
  });
  return ok(`[${rows.join(',')}]`, bad !== undefined);
}

function stock(ctx: CallContext, body: Body): Answer {
  const fields = ['salesCode', 'senderCode', 'productCode', 'countyCode', 'source', 'sellerPassword'].map((f) => text(body, f));
  for (const v of fields) if (isAnswer(v)) return v;
  const [salesCode, senderCode, productCode, countyCode, source, sellerPassword] = fields as string[];
  if (!/^\d{6}$/.test(countyCode!)) return badRequest(`countyCode must be a 6-digit national county code such as 110101, got ${countyCode}`);
  if (source !== 'JSH-B') return badRequest(`source must be JSH-B, got ${source}`);
  const denied = checkCustomer(ctx.credentials, 'salesCode', salesCode!) ?? checkSendTo(ctx.credentials, 'senderCode', senderCode!);
  if (denied) return denied;
  if (sellerPassword !== ctx.credentials.sellerPassword) return wrongPassword('sellerPassword');
  return ok(stockRows(ctx.catalog.stock(productCode!, countyCode!), ctx.malformed !== undefined), ctx.malformed !== undefined);
}

function logistics(ctx: CallContext, body: Body): Answer {
  const orderCode = text(body, 'orderCode');
  const sellerCode = text(body, 'sellerCode');
  const sellerPassword = text(body, 'sellerPassword');
  const deliveryRecordCode = text(body, 'deliveryRecordCode', false);
  for (const v of [orderCode, sellerCode, sellerPassword, deliveryRecordCode]) if (isAnswer(v)) return v;
  const memberId = body.memberId;
  if (memberId !== undefined && memberId !== null && !(Number.isInteger(memberId) || (typeof memberId === 'string' && /^\d+$/.test(memberId))))
    return badRequest('memberId must be an integer');
  const denied = checkCustomer(ctx.credentials, 'sellerCode', sellerCode as string);
  if (denied) return denied;
  if (sellerPassword !== ctx.credentials.sellerPassword) return wrongPassword('sellerPassword');
  return ok(JSON.stringify(logisticsOf(orderCode as string, deliveryRecordCode as string | undefined)));
}

/** Deterministic tracking for an order: the date comes from the order code (SO.yyyyMMdd.nnnnnn) when it has one. */
export function logisticsOf(orderCode: string, deliveryRecordCode?: string) {
  const h = hashString(orderCode);
  const m = /\.(\d{4})(\d{2})(\d{2})\./.exec(orderCode);
  const start = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 9) : Date.UTC(2025, 0, 1, 9);
  const at = (hours: number) => new Date(start + hours * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
  const deliveries = Array.from({ length: 1 + (h % 2) }, (_, d) => `${orderCode}.F${d + 1}`).filter((c) => !deliveryRecordCode || c === deliveryRecordCode);
  const steps = ['订单已审核', '仓库已出库', '干线运输中', '到达网点', '已签收'];
  return {
    getAllLogisticsInfoByOrderCode: deliveries.flatMap((code, d) =>
      steps.slice(0, 2 + (hash32(h, d) % 4)).map((step, s) => ({ orderCode, deliveryRecordCode: code, nodeName: step, operateTime: at(d * 6 + s * 10), warehouseCode: `W${String(hash32(h, d, 1) % 900 + 100)}` })),
    ),
    getStockDeliveryLogisticsRecord: deliveries.map((code, d) => ({
      deliveryRecordCode: code, orderCode, deliveryStatus: hash32(h, d, 2) % 3 === 0 ? '已签收' : '配送中', deliveryTime: at(d * 6 + 10), quantity: String(1 + (hash32(h, d, 3) % 3)),
    })),
    getStockDeliveryLogisticsRecordThirdparty: deliveries
      .filter((_, d) => hash32(h, d, 4) % 2 === 0)
      .map((code, d) => ({ deliveryRecordCode: code, expressCompany: ['顺丰速运', '日日顺物流', '京东物流'][hash32(h, d, 5) % 3], expressNo: `SF${String(hash32(h, d, 6)).padStart(12, '0')}`, traceInfo: '快件已到达转运中心', traceTime: at(d * 6 + 20) })),
  };
}

function balance(ctx: CallContext, body: Body): Answer {
  const customerCode = text(body, 'customerCode');
  const customerPassword = text(body, 'customerPassword');
  for (const v of [customerCode, customerPassword]) if (isAnswer(v)) return v;
  const denied = checkCustomer(ctx.credentials, 'customerCode', customerCode as string);
  if (denied) return denied;
  if (customerPassword !== ctx.credentials.customerPassword) return wrongPassword('customerPassword');
  const h = hashString(customerCode as string);
  const groups = [['S001', '海尔智家家电销售组'], ['S002', '卡萨帝高端销售组'], ['S003', '厨电销售组']] as const;
  const rows = groups.slice(0, 1 + (h % 3)).map(([code, name], g) => {
    const cents = BigInt(intIn(0, 99_999_999, h, g)) * 100n + BigInt(intIn(0, 99, h, g, 1));
    const balance = fromCents(cents);
    const bad = ctx.malformed !== undefined && g === 0;
    return `{"saleGroupCode":${JSON.stringify(code)},"saleGroupName":${JSON.stringify(name)},"payerAccountCode":${JSON.stringify(customerCode)},"payerAccountName":${JSON.stringify(`客户${customerCode}`)},"payerAccountBalance":${bad ? '"abc"' : balance}}`;
  });
  return ok(`[${rows.join(',')}]`, ctx.malformed !== undefined);
}

export const HANDLERS: Record<Endpoint, (ctx: CallContext, body: Body) => Answer> = { products, prices, stock, logistics, balance };
