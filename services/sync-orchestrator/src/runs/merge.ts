// Merging what Haier answered for a batch into catalog inputs, and the per-item outcome lines.
// Pure.
import { create } from '@bufbuild/protobuf';
import { catalog, type gateway } from '@haier-sync/contracts';

const orUndefined = (s: string | undefined): string | undefined => (s === undefined || s === '' ? undefined : s);

/** One listing record and (when a price call was made) its price, as the catalog's input. */
export function toProductInput(p: gateway.Product, price: gateway.Price | undefined, withPrices: boolean): catalog.ProductInput {
  const input = create(catalog.ProductInputSchema, {
    productCode: p.productCode,
    productModel: p.productModel,
    productName: p.productName,
    productGroupName: p.productGroupName,
    productBrandName: p.productBrandName,
    productImageUrl: p.productImageUrl,
    productPageUrls: [...p.productPageUrls],
    isSales: p.isSales,
    noSalesReason: p.noSalesReason,
    hasPrices: withPrices && price !== undefined,
  });
  if (withPrices && price) setPrices(input, price);
  return input;
}

/** Haier's price record into the input's price fields (the one price rule of every write). */
function setPrices(input: catalog.ProductInput, price: gateway.Price): void {
  input.supplyPrice = orUndefined(price.supplyPrice);
  input.invoicePrice = orUndefined(price.invoicePrice);
  input.marketPrice = orUndefined(price.marketPrice);
  input.stockRebate = orUndefined(price.stockRebatePolicy);
  input.rebateMoney = orUndefined(price.rebateMoney);
  input.rebateType = orUndefined(price.rebateType);
  input.priceReason = orUndefined(price.reason);
}

/** A price record alone as the catalog's input (prices_only: the catalog keeps the stored listing). */
export function toPriceInput(price: gateway.Price): catalog.ProductInput {
  const input = create(catalog.ProductInputSchema, { productCode: price.productCode, hasPrices: true, pricesOnly: true });
  setPrices(input, price);
  return input;
}

/**
 * The price-freshness sweep's batch: prices only (one call per 20 codes, no product record). A
 * code whose price Haier reported as an error or did not answer is failed with the reason and not
 * written, as in mergeBatch.
 */
export function mergePrices(codes: readonly string[], prices: readonly gateway.Price[], priceErrors: readonly gateway.ItemError[]): MergeResult {
  const failures = new Map<string, string>();
  for (const e of priceErrors) if (e.productCode) failures.set(e.productCode, `price: ${e.reason}`);
  const priceBy = new Map(prices.map((p) => [p.productCode, p]));
  const inputs: catalog.ProductInput[] = [];
  for (const code of codes) {
    if (failures.has(code)) continue;
    const price = priceBy.get(code);
    if (!price) failures.set(code, 'price: Haier returned no price record for this code');
    else inputs.push(toPriceInput(price));
  }
  return { inputs, failures };
}

/** Haier's stock answers as the catalog's stock inputs (the best warehouse's details), as every stock write sends them. */
export function toStockInputs(stocks: readonly gateway.Stock[]): catalog.StockInput[] {
  return stocks.map((s) =>
    create(catalog.StockInputSchema, {
      productCode: s.productCode,
      countyCode: s.countyCode,
      quantity: s.quantity,
      bestSecCode: s.best?.secCode ?? '',
      bestWarehouseGrade: s.best?.warehouseGrade ?? '',
      cutTime: s.best?.cutTime ?? '',
      achieveUserOrderCut: s.best?.achieveUserOrderCut ?? '',
      hour: s.best?.hour ?? '',
    }),
  );
}

export interface MergeResult {
  inputs: catalog.ProductInput[];
  /** code -> reason, for items that cannot be upserted. */
  failures: Map<string, string>;
}

/**
 * Pairs products with prices. A code whose price Haier reported as an error (or did not answer)
 * is failed with the reason and not upserted, so its stored prices are not cleared by mistake.
 */
export function mergeBatch(
  codes: readonly string[],
  products: readonly gateway.Product[],
  productErrors: readonly gateway.ItemError[],
  prices: readonly gateway.Price[] | undefined,
  priceErrors: readonly gateway.ItemError[],
): MergeResult {
  const failures = new Map<string, string>();
  for (const e of productErrors) if (e.productCode) failures.set(e.productCode, `product: ${e.reason}`);
  for (const e of priceErrors) if (e.productCode && !failures.has(e.productCode)) failures.set(e.productCode, `price: ${e.reason}`);
  const byCode = new Map(products.map((p) => [p.productCode, p]));
  const priceBy = new Map((prices ?? []).map((p) => [p.productCode, p]));
  const inputs: catalog.ProductInput[] = [];
  for (const code of codes) {
    if (failures.has(code)) continue;
    const p = byCode.get(code);
    if (!p) {
      failures.set(code, 'product: Haier returned no record for this code');
      continue;
    }
    if (isPlaceholder(p)) {
      // Haier answers a code it does not offer with a bare row (isSales 0 and a reason): it is not a product to store
      failures.set(code, `product: Haier does not offer this code to this account${p.noSalesReason ? ` (${p.noSalesReason})` : ''}`);
      continue;
    }
    const price = priceBy.get(code);
    if (prices !== undefined && !price) {
      failures.set(code, 'price: Haier returned no price record for this code');
      continue;
    }
    inputs.push(toProductInput(p, price, prices !== undefined));
  }
  return { inputs, failures };
}

/** The row Haier sends for a requested code that names no product: no model, name or group, not procurable. */
export function isPlaceholder(p: gateway.Product): boolean {
  return !p.isSales && p.productModel === '' && p.productName === '' && p.productGroupName === '' && p.productBrandName === '';
}

/** One line for a change an upsert made (or would make, in a dry run). */
export function changeLine(r: catalog.ItemResult, dryRun: boolean): string | undefined {
  const fields = r.changedFields.length ? `: ${r.changedFields.join(', ')}` : '';
  if (r.outcome === catalog.ItemOutcome.CREATED) return `${r.productCode} ${dryRun ? 'would be created' : 'created'}`;
  if (r.outcome === catalog.ItemOutcome.UPDATED) return `${r.productCode} ${dryRun ? 'would be updated' : 'updated'}${fields}`;
  return undefined;
}
