// Validates and normalises what a sync sends for one product (the mapping in mission.md).
// Pure: no I/O. A bad item rejects the whole batch (BatchRejection names the item).
import { DecimalError, canonicalDecimal } from './stored-decimal';

export const MAX_BATCH = 1000;
export const MAX_CODE_LENGTH = 64;
export const NO_SALES_REASON_MAX = 500;

/** The wire shape we read (structurally compatible with the generated catalog.ProductInput). */
export interface ProductInputLike {
  productCode: string;
  productModel: string;
  productName: string;
  productGroupName: string;
  productBrandName: string;
  productImageUrl: string;
  productPageUrls: string[];
  isSales: boolean;
  noSalesReason: string;
  supplyPrice?: string | undefined;
  invoicePrice?: string | undefined;
  marketPrice?: string | undefined;
  stockRebate?: string | undefined;
  rebateMoney?: string | undefined;
  rebateType?: string | undefined;
  hasPrices: boolean;
}

export const PRICE_FIELDS = ['supply_price', 'invoice_price', 'market_price', 'stock_rebate', 'rebate_money'] as const;
export type PriceField = (typeof PRICE_FIELDS)[number];

export interface Prices {
  supply_price: string | null;
  invoice_price: string | null;
  market_price: string | null;
  stock_rebate: string | null;
  rebate_money: string | null;
  rebate_type: string;
}

/** What Haier says about a product besides its prices. */
export interface Descriptive {
  product_model: string;
  name: string;
  category: string;
  brand: string;
  product_image_url: string;
  product_page_urls: string[];
  is_sales: boolean;
  no_sales_reason: string;
}

export interface NormalisedInput extends Descriptive {
  code: string;
  /** null when the input carries no prices (stored prices are kept). */
  prices: Prices | null;
}

/** A batch that must be rejected as a whole, naming the offending item. */
export class BatchRejection extends Error {
  constructor(
    message: string,
    readonly index?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

export interface NormaliseResult {
  items: NormalisedInput[];
  warnings: string[];
}

function isHttpUrl(text: string): boolean {
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function optionalDecimal(value: string | undefined, field: string, index: number, code: string): string | null {
  if (value === undefined || value.trim() === '') return null;
  try {
    return canonicalDecimal(value);
  } catch (err) {
    const why = err instanceof DecimalError ? err.message : String(err);
    throw new BatchRejection(`item ${index} (product_code "${code}"): ${field} ${why}; fix the value or leave it unset`, index, code);
  }
}

/** name = product_name if non-empty, else model, else code. */
export function displayName(code: string, model: string, name: string): string {
  return name || model || code;
}

export function normaliseProducts(inputs: readonly ProductInputLike[], maxBatch = MAX_BATCH): NormaliseResult {
  if (inputs.length > maxBatch) {
    throw new BatchRejection(`batch of ${inputs.length} products is larger than the limit of ${maxBatch}; split it into smaller batches`);
  }
  const seen = new Map<string, number>();
  const warnings: string[] = [];
  const items = inputs.map((p, index): NormalisedInput => {
    const code = p.productCode.trim();
    if (!code) throw new BatchRejection(`item ${index}: product_code is empty; every product needs Haier's productCode`, index, '');
    if (code.length > MAX_CODE_LENGTH) {
      throw new BatchRejection(`item ${index} (product_code "${code.slice(0, 20)}…"): product_code is longer than ${MAX_CODE_LENGTH} characters`, index, code);
    }
    const first = seen.get(code);
    if (first !== undefined) {
      throw new BatchRejection(`item ${index} (product_code "${code}"): duplicate of item ${first} in the same batch; send each product once`, index, code);
    }
    seen.set(code, index);
    const model = p.productModel.trim();
    let image = p.productImageUrl.trim();
    if (image && !isHttpUrl(image)) {
      warnings.push(`item ${index} (product_code "${code}"): product_image_url is not an http(s) URL; stored as empty`);
      image = '';
    }
    const prices: Prices | null = p.hasPrices
      ? {
          supply_price: optionalDecimal(p.supplyPrice, 'supply_price', index, code),
          invoice_price: optionalDecimal(p.invoicePrice, 'invoice_price', index, code),
          market_price: optionalDecimal(p.marketPrice, 'market_price', index, code),
          stock_rebate: optionalDecimal(p.stockRebate, 'stock_rebate', index, code),
          rebate_money: optionalDecimal(p.rebateMoney, 'rebate_money', index, code),
          rebate_type: (p.rebateType ?? '').trim(),
        }
      : null;
    return {
      code,
      product_model: model,
      name: displayName(code, model, p.productName.trim()),
      category: p.productGroupName.trim(),
      brand: p.productBrandName.trim(),
      product_image_url: image,
      product_page_urls: p.productPageUrls.map((u) => u.trim()).filter((u) => u !== ''),
      is_sales: p.isSales,
      no_sales_reason: [...p.noSalesReason].slice(0, NO_SALES_REASON_MAX).join(''),
      prices,
    };
  });
  return { items, warnings };
}
