// Catalog products as REST answers (snake_case, decimals as strings, times ISO UTC) (pure).
import type { catalog } from '@haier-sync/contracts';
import { iso } from './run-view';

export function productOut(p: catalog.Product) {
  return {
    product_code: p.productCode,
    product_model: p.productModel,
    name: p.name,
    category: p.category,
    brand: p.brand,
    product_image_url: p.productImageUrl,
    product_page_urls: [...p.productPageUrls],
    supply_price: p.supplyPrice ?? null,
    invoice_price: p.invoicePrice ?? null,
    market_price: p.marketPrice ?? null,
    stock_rebate: p.stockRebate ?? null,
    rebate_money: p.rebateMoney ?? null,
    rebate_type: p.rebateType,
    display_price: p.displayPrice ?? null,
    pinned_price: p.pinnedPrice ?? null,
    is_sales: p.isSales,
    no_sales_reason: p.noSalesReason,
    stock: p.stock === undefined ? null : Number(p.stock),
    version: Number(p.version),
    first_seen_at: iso(p.firstSeenAt),
    last_synced_at: iso(p.lastSyncedAt),
    delisted_at: iso(p.delistedAt),
    updated_at: iso(p.updatedAt),
    county_stock: p.countyStock.map((c) => ({
      county_code: c.countyCode,
      quantity: Number(c.quantity),
      best_sec_code: c.bestSecCode,
      best_warehouse_grade: c.bestWarehouseGrade,
      cut_time: c.cutTime,
      achieve_user_order_cut: c.achieveUserOrderCut,
      hour: c.hour,
      updated_at: iso(c.updatedAt),
    })),
  };
}

export function priceChangeOut(c: catalog.PriceChange) {
  return { field: c.field, from: c.from ?? null, to: c.to ?? null, changed_at: iso(c.changedAt), run_id: c.runId };
}
