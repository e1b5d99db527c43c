// Rows as protobuf messages (money stays decimal text; bigint stays exact).
import { create } from '@bufbuild/protobuf';
import { timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { catalog } from '@haier-sync/contracts';
import { canonicalOrNull } from './stored-decimal';
import type { ChangeRow, CountyStockRow } from './product-queries';
import type { ProductRow } from './sql';
import type { UpsertItemResult } from './upsert-products';

export function ts(v: Date | string | null | undefined): Timestamp | undefined {
  if (v === null || v === undefined) return undefined;
  return timestampFromDate(v instanceof Date ? v : new Date(v));
}

const opt = (v: string | null): string | undefined => canonicalOrNull(v) ?? undefined;

export function toProduct(r: ProductRow, stock: readonly CountyStockRow[] = []): catalog.Product {
  return create(catalog.ProductSchema, {
    productCode: r.code,
    productModel: r.product_model,
    name: r.name,
    productImageUrl: r.product_image_url,
    productPageUrls: r.product_page_urls,
    supplyPrice: opt(r.supply_price),
    invoicePrice: opt(r.invoice_price),
    marketPrice: opt(r.market_price),
    stockRebate: opt(r.stock_rebate),
    rebateMoney: opt(r.rebate_money),
    rebateType: r.rebate_type,
    isSales: r.is_sales,
    noSalesReason: r.no_sales_reason,
    displayPrice: opt(r.display_price),
    pinnedPrice: opt(r.pinned_price),
    category: r.category,
    brand: r.brand,
    stock: r.stock === null ? undefined : BigInt(r.stock),
    version: BigInt(r.version),
    contentHash: r.content_hash,
    firstSeenAt: ts(r.first_seen_at),
    lastSyncedAt: ts(r.last_synced_at),
    delistedAt: ts(r.delisted_at),
    updatedAt: ts(r.updated_at),
    countyStock: stock.map((s) =>
      create(catalog.CountyStockSchema, {
        countyCode: s.county_code,
        quantity: BigInt(s.quantity),
        bestSecCode: s.best_sec_code,
        bestWarehouseGrade: s.best_warehouse_grade,
        cutTime: s.cut_time,
        achieveUserOrderCut: s.achieve_user_order_cut,
        hour: s.hour,
        updatedAt: ts(s.updated_at),
      }),
    ),
  });
}

const KINDS: Record<string, catalog.ChangeKind> = {
  created: catalog.ChangeKind.CREATED,
  updated: catalog.ChangeKind.UPDATED,
  price_changed: catalog.ChangeKind.PRICE_CHANGED,
  stock_changed: catalog.ChangeKind.STOCK_CHANGED,
  delisted: catalog.ChangeKind.DELISTED,
  relisted: catalog.ChangeKind.RELISTED,
};

export function toChange(c: ChangeRow): catalog.Change {
  return create(catalog.ChangeSchema, {
    seq: BigInt(c.seq),
    productCode: c.product_code,
    version: BigInt(c.version),
    kind: KINDS[c.kind] ?? catalog.ChangeKind.UNSPECIFIED,
    fields: c.fields.map((f) => create(catalog.FieldChangeSchema, f)),
    runId: c.run_id,
    occurredAt: ts(c.occurred_at),
    product: toProduct(c.snapshot),
  });
}

const OUTCOMES: Record<'created' | 'updated' | 'unchanged' | 'failed', catalog.ItemOutcome> = {
  created: catalog.ItemOutcome.CREATED,
  updated: catalog.ItemOutcome.UPDATED,
  unchanged: catalog.ItemOutcome.UNCHANGED,
  failed: catalog.ItemOutcome.FAILED,
};

/** One item's outcome of UpsertProducts or UpdateStock as the answer carries it. */
export function toItemResult(x: UpsertItemResult): catalog.ItemResult {
  return create(catalog.ItemResultSchema, { productCode: x.code, outcome: OUTCOMES[x.outcome], changedFields: x.changedFields, version: BigInt(x.version), reason: x.reason });
}
