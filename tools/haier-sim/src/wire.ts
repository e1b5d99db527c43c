// Haier's wire format, written as JSON text by hand so decimals go out as JSON number tokens
// (e.g. 1299.00, 12345678901234.5678) exactly as the truth holds them; JSON.stringify could not.
import type { SimProduct, StockEntry } from './types';

/** Ways a fault corrupts one row (what a tolerant client must survive). */
export type Malformation = 'missingProductCode' | 'badIsSales' | 'lageUrlsNotList' | 'badSupplyPrice';
export const PRODUCT_MALFORMATIONS: readonly Malformation[] = ['missingProductCode', 'badIsSales', 'lageUrlsNotList', 'badSupplyPrice'];
export const PRICE_MALFORMATIONS: readonly Malformation[] = ['badSupplyPrice', 'missingProductCode', 'badIsSales'];

const str = JSON.stringify;

/** A decimal as a JSON number token, or as a string for rows that carry the "strings" quirk. */
function decimal(value: string, asString: boolean): string {
  return asString ? str(value) : value;
}

function isSales(p: SimProduct): string {
  return p.quirks.isSalesAsNumber ? p.isSales : str(p.isSales);
}

/** One ProductOutInfoDto. */
export function productRow(p: SimProduct, bad?: Malformation): string {
  const f: string[] = [];
  if (bad !== 'missingProductCode') f.push(`"productCode":${str(p.productCode)}`);
  f.push(`"productModel":${str(p.productModel)}`);
  if (p.productName !== undefined) f.push(`"productName":${str(p.productName)}`);
  f.push(`"productGroupNamd":${str(p.productGroupNamd)}`, `"productBrandName":${str(p.productBrandName)}`, `"productImageUrl":${str(p.productImageUrl)}`);
  f.push(`"productLageUrls":${bad === 'lageUrlsNotList' ? str(p.productLageUrls.join(';')) : str(p.productLageUrls)}`);
  f.push(`"isSales":${bad === 'badIsSales' ? '"x"' : isSales(p)}`);
  if (p.noSalesReason !== undefined) f.push(`"noSalesReason":${str(p.noSalesReason)}`);
  if (bad === 'badSupplyPrice') f.push('"supplyPrice":"abc"');
  return `{${f.join(',')}}`;
}

/** The ProductOutInfoDto for a requested code that names no listed product. */
export function missingProductRow(code: string, reason: string): string {
  return `{"productCode":${str(code)},"isSales":"0","noSalesReason":${str(reason)}}`;
}

/** One PriceSupplyVo. */
export function priceRow(p: SimProduct, bad?: Malformation): string {
  const s = p.quirks.decimalsAsStrings;
  const f: string[] = [];
  if (bad !== 'missingProductCode') f.push(`"productCode":${str(p.productCode)}`);
  if (bad === 'badSupplyPrice') f.push('"supplyPrice":"abc"');
  else if (p.supplyPrice !== undefined) f.push(`"supplyPrice":${decimal(p.supplyPrice, s)}`);
  if (p.invoicePrice !== undefined) f.push(`"invoicePrice":${decimal(p.invoicePrice, s)}`);
  f.push(`"stockRebatePolicy":${/^-?\d/.test(p.stockRebatePolicy) ? decimal(p.stockRebatePolicy, s) : str(p.stockRebatePolicy)}`);
  f.push(`"rebateMoney":${decimal(p.rebateMoney, s)}`);
  if (p.marketPrice !== undefined) f.push(`"marketPrice":${decimal(p.marketPrice, s)}`);
  if (p.reason !== undefined) f.push(`"reason":${str(p.reason)}`);
  f.push(`"isSales":${bad === 'badIsSales' ? '"x"' : isSales(p)}`);
  return `{${f.join(',')}}`;
}

export function missingPriceRow(code: string, reason: string): string {
  return `{"productCode":${str(code)},"reason":${str(reason)},"isSales":"0"}`;
}

export function stockRows(entries: StockEntry[], bad: boolean): string {
  return str(bad && entries.length ? entries.map((e, i) => (i === 0 ? { ...e, stock: 'many' } : e)) : entries);
}

/** `{"success":true,"data":<data>}` around already-serialised data. */
export function envelope(dataJson: string): string {
  return `{"success":true,"data":${dataJson}}`;
}

/** Haier's callback/error shape: {success:false, code, description, timeStamp:"yyyyMMddHHmmss", data:null}. */
export function errorBody(code: string, description: string, now = new Date()): string {
  return str({ success: false, code, description, timeStamp: timeStamp(now), data: null });
}

/** yyyyMMddHHmmss in UTC. */
export function timeStamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}
