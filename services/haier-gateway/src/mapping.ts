// Pure mapping of Haier's records (as parsed losslessly: number tokens are LosslessNumber,
// never floats) to the gateway's contract messages. A record that cannot be mapped becomes
// an ItemError naming its code and the reason; it never fails the batch it came in.
import { create, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { isLosslessNumber } from 'lossless-json';
import { gateway } from '@haier-sync/contracts';
import { plainDecimal, parseWholeNumber, scalarText } from './haier-numbers';

export type Mapped<T> = { ok: true; value: T } | { ok: false; error: gateway.ItemError };

export class MalformedRecord extends Error {}

const NO_RECORD = 'Haier returned no record for this code';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
}

function describe(v: unknown): string {
  const t = scalarText(v);
  if (t !== undefined) return JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
  if (Array.isArray(v)) return 'a list';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'an object' : String(v);
}

/** Optional text field: absent/null -> "", text or number token -> its text, anything else malformed. */
function text(rec: Record<string, unknown>, field: string): string {
  const v = rec[field];
  if (v === undefined || v === null) return '';
  const t = scalarText(v);
  if (t === undefined) throw new MalformedRecord(`${field} is ${describe(v)}, expected text`);
  return t;
}

/** isSales: "1"/1 -> true, "0"/0 -> false, anything else (absent included) is malformed. */
export function parseIsSales(v: unknown): boolean {
  const t = scalarText(v);
  if (t === '1') return true;
  if (t === '0') return false;
  throw new MalformedRecord(`isSales is ${v === undefined ? 'missing' : describe(v)}, expected "1" or "0"`);
}

/** A decimal field: absent/null/"" -> undefined; otherwise exact text, or malformed. */
function decimal(rec: Record<string, unknown>, field: string): string | undefined {
  const v = rec[field];
  if (v === undefined || v === null) return undefined;
  const t = scalarText(v);
  if (t === undefined) throw new MalformedRecord(`${field} is ${describe(v)}, expected a decimal number`);
  if (t.trim() === '') return undefined;
  const d = plainDecimal(t);
  if (d === undefined) throw new MalformedRecord(`${field} is ${describe(v)}, expected a decimal number`);
  return d;
}

function codeOf(raw: unknown): string {
  return isObject(raw) ? (scalarText(raw['productCode'])?.trim() ?? '') : '';
}

function guard<T>(raw: unknown, fn: (rec: Record<string, unknown>, code: string) => T): Mapped<T> {
  const code = codeOf(raw);
  if (!isObject(raw)) return { ok: false, error: create(gateway.ItemErrorSchema, { productCode: '', reason: `record is ${describe(raw)}, expected an object` }) };
  if (!code) return { ok: false, error: create(gateway.ItemErrorSchema, { productCode: '', reason: 'record has no productCode' }) };
  try {
    return { ok: true, value: fn(raw, code) };
  } catch (err) {
    if (err instanceof MalformedRecord) return { ok: false, error: create(gateway.ItemErrorSchema, { productCode: code, reason: `malformed record: ${err.message}` }) };
    throw err;
  }
}

/** One ProductOutInfoDto -> Product. */
export function mapProduct(raw: unknown): Mapped<gateway.Product> {
  return guard(raw, (rec, code) => {
    const urls = rec['productLageUrls'];
    let pageUrls: string[] = [];
    if (urls !== undefined && urls !== null) {
      if (!Array.isArray(urls)) throw new MalformedRecord(`productLageUrls is ${describe(urls)}, expected a list`);
      pageUrls = urls.map((u, i) => {
        const t = typeof u === 'string' ? u : undefined;
        if (t === undefined) throw new MalformedRecord(`productLageUrls[${i}] is ${describe(u)}, expected text`);
        return t;
      });
    }
    return create(gateway.ProductSchema, {
      productCode: code,
      productModel: text(rec, 'productModel'),
      productName: text(rec, 'productName'),
      productGroupName: text(rec, 'productGroupNamd'),
      productBrandName: text(rec, 'productBrandName'),
      productImageUrl: text(rec, 'productImageUrl'),
      productPageUrls: pageUrls,
      isSales: parseIsSales(rec['isSales']),
      noSalesReason: text(rec, 'noSalesReason'),
    });
  });
}

const REBATE_TYPE = /^[A-Za-z][A-Za-z0-9_]*$/;

/** One PriceSupplyVo -> Price. Absent prices stay unset; absent rebates are "0". */
export function mapPrice(raw: unknown): Mapped<gateway.Price> {
  return guard(raw, (rec, code) => {
    let stockRebatePolicy = '0';
    let rebateType = '';
    const policy = rec['stockRebatePolicy'];
    const policyText = policy === undefined || policy === null ? '' : scalarText(policy);
    if (policyText === undefined) throw new MalformedRecord(`stockRebatePolicy is ${describe(policy)}, expected a rate or a rebate type`);
    if (policyText.trim() !== '') {
      const rate = plainDecimal(policyText);
      if (rate !== undefined) stockRebatePolicy = rate;
      else if (REBATE_TYPE.test(policyText.trim())) rebateType = policyText.trim();
      else throw new MalformedRecord(`stockRebatePolicy is ${describe(policy)}, expected a rate or a rebate type`);
    }
    return create(gateway.PriceSchema, {
      productCode: code,
      supplyPrice: decimal(rec, 'supplyPrice'),
      invoicePrice: decimal(rec, 'invoicePrice'),
      marketPrice: decimal(rec, 'marketPrice'),
      stockRebatePolicy,
      rebateMoney: decimal(rec, 'rebateMoney') ?? '0',
      rebateType,
      reason: text(rec, 'reason'),
      isSales: parseIsSales(rec['isSales']),
    });
  });
}

/**
 * Maps a batch's records and matches them to the codes asked for: results come back in the
 * requested order; a malformed record and a code Haier did not answer for each become an error.
 * Records for codes not asked for are ignored (Haier answers only what was asked).
 */
export function matchBatch<T extends { productCode: string }>(
  requested: readonly string[],
  records: readonly unknown[],
  map: (raw: unknown) => Mapped<T>,
): { items: T[]; errors: gateway.ItemError[] } {
  const byCode = new Map<string, T>();
  const errorByCode = new Map<string, gateway.ItemError>();
  const anonymous: gateway.ItemError[] = [];
  for (const raw of records) {
    const m = map(raw);
    if (m.ok) {
      if (!byCode.has(m.value.productCode)) byCode.set(m.value.productCode, m.value);
    } else if (m.error.productCode) {
      if (!errorByCode.has(m.error.productCode)) errorByCode.set(m.error.productCode, m.error);
    } else {
      anonymous.push(m.error);
    }
  }
  const items: T[] = [];
  const errors: gateway.ItemError[] = [];
  for (const code of requested) {
    const item = byCode.get(code);
    if (item) items.push(item);
    else errors.push(errorByCode.get(code) ?? create(gateway.ItemErrorSchema, { productCode: code, reason: NO_RECORD }));
  }
  return { items, errors: [...errors, ...anonymous] };
}

/** Maps a list of records (no codes requested: the whole list) keeping Haier's order. */
export function mapAll<T>(records: readonly unknown[], map: (raw: unknown) => Mapped<T>): { items: T[]; errors: gateway.ItemError[] } {
  const items: T[] = [];
  const errors: gateway.ItemError[] = [];
  for (const raw of records) {
    const m = map(raw);
    if (m.ok) items.push(m.value);
    else errors.push(m.error);
  }
  return { items, errors };
}

function mapWarehouse(raw: unknown, index: number): gateway.Warehouse {
  if (!isObject(raw)) throw new MalformedRecord(`warehouse ${index} is ${describe(raw)}, expected an object`);
  const stockText = scalarText(raw['stock']);
  const stock = stockText === undefined ? undefined : parseWholeNumber(stockText);
  if (stock === undefined) throw new MalformedRecord(`warehouse ${index} stock is ${describe(raw['stock'])}, expected a whole number`);
  const tl = raw['timelinessData'];
  const timeliness = isObject(tl) ? tl : {};
  if (tl !== undefined && tl !== null && !isObject(tl)) throw new MalformedRecord(`warehouse ${index} timelinessData is ${describe(tl)}, expected an object`);
  return create(gateway.WarehouseSchema, {
    secCode: text(raw, 'secCode'),
    stock,
    warehouseGrade: text(raw, 'warehouseGrade'),
    cutTime: text(timeliness, 'cutTime'),
    achieveUserOrderCut: text(timeliness, 'achieveUserOrderCut'),
    hour: text(timeliness, 'hour'),
    isTransfer: text(timeliness, 'isTranfer') === '1',
  });
}

/**
 * The stock answer (one entry per warehouse serving the county) -> Stock: quantity is the sum,
 * best is the warehouse with the most (the first of equals). Throws MalformedRecord.
 */
export function mapStock(productCode: string, countyCode: string, data: unknown): gateway.Stock {
  let list: unknown[];
  if (data === undefined || data === null) list = [];
  else if (Array.isArray(data)) list = data;
  else throw new MalformedRecord(`the stock answer is ${describe(data)}, expected a list of warehouses`);
  const warehouses = list.map(mapWarehouse);
  let quantity = 0n;
  let best: gateway.Warehouse | undefined;
  for (const w of warehouses) {
    quantity += w.stock;
    if (!best || w.stock > best.stock) best = w;
  }
  return create(gateway.StockSchema, { productCode, countyCode, quantity, best, warehouses });
}

/** The payer balance answer -> PayerBalance[]. Throws MalformedRecord. */
export function mapBalances(data: unknown): gateway.PayerBalance[] {
  const list = data === undefined || data === null ? [] : data;
  if (!Array.isArray(list)) throw new MalformedRecord(`the balance answer is ${describe(data)}, expected a list`);
  return list.map((raw, i) => {
    if (!isObject(raw)) throw new MalformedRecord(`balance ${i} is ${describe(raw)}, expected an object`);
    const balance = decimal(raw, 'payerAccountBalance');
    if (balance === undefined) throw new MalformedRecord(`balance ${i} has no payerAccountBalance`);
    return create(gateway.PayerBalanceSchema, {
      saleGroupCode: text(raw, 'saleGroupCode'),
      saleGroupName: text(raw, 'saleGroupName'),
      payerAccountCode: text(raw, 'payerAccountCode'),
      payerAccountName: text(raw, 'payerAccountName'),
      payerAccountBalance: balance,
    });
  });
}

/** Lossless JSON -> a protobuf JsonValue. Numbers that a double holds exactly stay numbers; others become their exact text. */
export function toJsonValue(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (isLosslessNumber(v)) {
    const n = Number(v.value);
    return Number.isFinite(n) && String(n) === v.value ? n : v.value;
  }
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (typeof v === 'object') {
    const o: JsonObject = {};
    for (const [k, val] of Object.entries(v)) o[k] = toJsonValue(val);
    return o;
  }
  return String(v);
}

function recordList(data: Record<string, unknown>, field: string): JsonObject[] {
  const v = data[field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new MalformedRecord(`${field} is ${describe(v)}, expected a list`);
  return v.map((r, i) => {
    if (!isObject(r)) throw new MalformedRecord(`${field}[${i}] is ${describe(r)}, expected an object`);
    return toJsonValue(r) as JsonObject;
  });
}

/** The logistics answer (three lists) -> GetLogisticsResponse. Throws MalformedRecord. */
export function mapLogistics(data: unknown): gateway.GetLogisticsResponse {
  const obj = data === undefined || data === null ? {} : data;
  if (!isObject(obj)) throw new MalformedRecord(`the logistics answer is ${describe(data)}, expected an object with three lists`);
  return create(gateway.GetLogisticsResponseSchema, {
    allLogisticsInfo: recordList(obj, 'getAllLogisticsInfoByOrderCode'),
    stockDeliveryRecords: recordList(obj, 'getStockDeliveryLogisticsRecord'),
    thirdPartyRecords: recordList(obj, 'getStockDeliveryLogisticsRecordThirdparty'),
  });
}
