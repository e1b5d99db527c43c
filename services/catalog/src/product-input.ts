// Validates and normalises what a sync sends for one product (the mapping in mission.md).
// Pure: no I/O. A bad item fails on its own (ItemFailure); only an oversized batch is rejected.
import { rules, type catalog } from '@haier-sync/contracts';
import { unstorableField } from '@haier-sync/runtime';
import { DecimalError, canonicalDecimal } from './stored-decimal';
import { PRICE_COLUMNS, PRODUCT_TABLE, protoName, type Descriptive, type Prices } from './product-table';

export const MAX_BATCH = rules.MAX_ITEMS_PER_WRITE;
export const NO_SALES_REASON_MAX = 500;

/** What a sync sends for one product: the generated catalog.ProductInput, without protobuf-es bookkeeping and its images (upsert-with-images.ts records those). */
export type ProductInputData = Omit<catalog.ProductInput, '$typeName' | '$unknown' | 'images' | 'hasImages'>;

export interface NormalisedInput extends Descriptive {
  code: string;
  /** null when the input carries no prices (stored prices are kept). */
  prices: Prices | null;
  /** Only prices (ProductInput.prices_only): the listing fields here are placeholders; the stored ones are kept. */
  pricesOnly: boolean;
}

/** A request that must be rejected as a whole (a batch too large, a bad argument of a read), naming the field when one is to blame. */
export class BatchRejection extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** An item that cannot be written: answered FAILED with the reason; the rest of the batch is written. */
export class ItemRejection extends Error {}

export interface ItemFailure {
  index: number;
  code: string;
  reason: string;
}

export interface NormaliseResult {
  /** The items to write, in request order. */
  items: NormalisedInput[];
  /** One per input, in request order: the normalised item or why it fails. */
  slots: (NormalisedInput | ItemFailure)[];
  /** product code -> what was repaired in its record (e.g. a non-http image URL blanked). */
  warnings: Map<string, string>;
}

export const isFailure = (s: NormalisedInput | ItemFailure): s is ItemFailure => 'reason' in s;

function optionalDecimal(value: string | undefined, field: string): string | null {
  if (value === undefined || value.trim() === '') return null;
  try {
    return canonicalDecimal(value);
  } catch (err) {
    const why = err instanceof DecimalError ? err.message : String(err);
    throw new ItemRejection(`${field} ${why}; fix the value in Haier's price answer or leave it unset, then sync the product again`);
  }
}

/** name = product_name if non-empty, else model, else code. */
export function displayName(code: string, model: string, name: string): string {
  return name || model || code;
}

/** The price columns as ProductInput names them (same names), and whether each is a decimal. */
const PRICE_WIRE = PRICE_COLUMNS.map((n) => [n, protoName(n), PRODUCT_TABLE[n].pg === 'numeric'] as const);

/** The price fields of an input: decimals canonical, text trimmed. */
function normalisePrices(p: ProductInputData): Prices {
  const wire = p as unknown as Record<string, string | undefined>;
  const out: Record<string, string | null> = {};
  for (const [n, field, decimal] of PRICE_WIRE) out[n] = decimal ? optionalDecimal(wire[field], n) : (wire[field] ?? '').trim();
  return out as Prices;
}

/** One input, normalised; throws ItemRejection when it cannot be stored. */
function normaliseOne(p: ProductInputData, code: string, warn: (w: string) => void): NormalisedInput {
  if (!code) throw new ItemRejection("product_code is empty; every product needs Haier's productCode");
  const codeProblem = rules.checkText(rules.productCode, code);
  if (codeProblem) throw new ItemRejection(`product_code ${codeProblem}; check the code Haier sent`);
  const unstorable = unstorableField(p);
  if (unstorable) throw new ItemRejection(`${unstorable} contains a NUL character or an unpaired UTF-16 surrogate, which Postgres cannot store; check what Haier sent`);
  if (p.pricesOnly) {
    if (!p.hasPrices) throw new ItemRejection('prices_only is set but has_prices is not: a prices-only input must carry prices (set has_prices)');
    return { ...LISTING_PLACEHOLDER, code, prices: normalisePrices(p), pricesOnly: true };
  }
  const model = p.productModel.trim();
  let image = p.productImageUrl.trim();
  if (image && !rules.httpUrl(image)) {
    warn('product_image_url is not an http(s) URL; stored as empty');
    image = '';
  }
  const prices = p.hasPrices ? normalisePrices(p) : null;
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
    pricesOnly: false,
  };
}

/** The listing fields of a prices-only input before the stored ones replace them (change-detection.ts mergeInput). */
const LISTING_PLACEHOLDER: Descriptive = {
  product_model: '',
  name: '',
  category: '',
  brand: '',
  product_image_url: '',
  product_page_urls: [],
  is_sales: false,
  no_sales_reason: '',
};

/**
 * Normalises a batch. Only a batch over the size limit is rejected as a whole (BatchRejection);
 * a bad item (empty or too long code, a malformed decimal, a code sent twice: both copies) fails
 * on its own and the rest is written.
 */
export function normaliseProducts(inputs: readonly ProductInputData[], maxBatch = MAX_BATCH): NormaliseResult {
  if (inputs.length > maxBatch) {
    throw new BatchRejection(`batch of ${inputs.length} products is larger than the limit of ${maxBatch}; split it into smaller batches`);
  }
  const positions = new Map<string, number[]>();
  inputs.forEach((p, index) => {
    const code = p.productCode.trim();
    const at = positions.get(code);
    if (at) at.push(index);
    else positions.set(code, [index]);
  });
  const warnings = new Map<string, string>();
  const slots = inputs.map((p, index): NormalisedInput | ItemFailure => {
    const code = p.productCode.trim();
    const at = positions.get(code)!;
    try {
      if (code && at.length > 1) {
        throw new ItemRejection(`product_code "${code}" is sent ${at.length} times in this batch (items ${at.join(', ')}); none of them was written: send each product once`);
      }
      return normaliseOne(p, code, (w) => warnings.set(code, w));
    } catch (err) {
      if (!(err instanceof ItemRejection)) throw err;
      return { index, code, reason: code ? err.message : `item ${index}: ${err.message}` };
    }
  });
  return { items: slots.filter((s): s is NormalisedInput => !isFailure(s)), slots, warnings };
}
