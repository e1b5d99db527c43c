// The catalog model (Postgres schema "catalog"), defined without decorators. The tables are
// created by the committed migrations in src/migrations; these schemas map them for the ORM.
import { EntitySchema } from '@mikro-orm/core';

export const SCHEMA = 'catalog';

export interface CategoryEntity {
  id: string;
  name: string;
  createdAt: Date;
}
export const Category = new EntitySchema<CategoryEntity>({
  name: 'Category',
  tableName: 'category',
  schema: SCHEMA,
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    name: { type: 'text', unique: true },
    createdAt: { type: 'Date', fieldName: 'created_at', defaultRaw: 'now()' },
  },
});

export interface BrandEntity {
  id: string;
  name: string;
  createdAt: Date;
}
export const Brand = new EntitySchema<BrandEntity>({
  name: 'Brand',
  tableName: 'brand',
  schema: SCHEMA,
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    name: { type: 'text', unique: true },
    createdAt: { type: 'Date', fieldName: 'created_at', defaultRaw: 'now()' },
  },
});

export interface ProductEntity {
  code: string;
  productModel: string;
  name: string;
  category?: CategoryEntity | null;
  brand?: BrandEntity | null;
  productImageUrl: string;
  productPageUrls: string[];
  supplyPrice?: string | null;
  invoicePrice?: string | null;
  marketPrice?: string | null;
  stockRebate?: string | null;
  rebateMoney?: string | null;
  rebateType: string;
  isSales: boolean;
  noSalesReason: string;
  displayPrice?: string | null;
  pinnedPrice?: string | null;
  stock?: string | null;
  version: string;
  contentHash: string;
  firstSeenAt: Date;
  lastSyncedAt?: Date | null;
  delistedAt?: Date | null;
  updatedAt: Date;
}
const money = { type: 'decimal', precision: 20, scale: 4, nullable: true } as const;
export const Product = new EntitySchema<ProductEntity>({
  name: 'Product',
  tableName: 'product',
  schema: SCHEMA,
  properties: {
    code: { type: 'text', primary: true },
    productModel: { type: 'text', fieldName: 'product_model', default: '' },
    name: { type: 'text' },
    category: { kind: 'm:1', entity: () => Category, nullable: true, fieldName: 'category_id' },
    brand: { kind: 'm:1', entity: () => Brand, nullable: true, fieldName: 'brand_id' },
    productImageUrl: { type: 'text', fieldName: 'product_image_url', default: '' },
    productPageUrls: { type: 'json', fieldName: 'product_page_urls' },
    supplyPrice: { ...money, fieldName: 'supply_price' },
    invoicePrice: { ...money, fieldName: 'invoice_price' },
    marketPrice: { ...money, fieldName: 'market_price' },
    stockRebate: { ...money, fieldName: 'stock_rebate' },
    rebateMoney: { ...money, fieldName: 'rebate_money' },
    rebateType: { type: 'text', fieldName: 'rebate_type', default: '' },
    isSales: { type: 'boolean', fieldName: 'is_sales', default: false },
    noSalesReason: { type: 'string', length: 500, fieldName: 'no_sales_reason', default: '' },
    displayPrice: { ...money, fieldName: 'display_price' },
    pinnedPrice: { ...money, fieldName: 'pinned_price' },
    stock: { type: 'bigint', nullable: true },
    version: { type: 'bigint', default: 1 },
    contentHash: { type: 'text', fieldName: 'content_hash' },
    firstSeenAt: { type: 'Date', fieldName: 'first_seen_at', defaultRaw: 'now()' },
    lastSyncedAt: { type: 'Date', fieldName: 'last_synced_at', nullable: true },
    delistedAt: { type: 'Date', fieldName: 'delisted_at', nullable: true },
    updatedAt: { type: 'Date', fieldName: 'updated_at', defaultRaw: 'now()' },
  },
});

export interface ProductStockEntity {
  product: ProductEntity;
  countyCode: string;
  quantity: string;
  bestSecCode: string;
  bestWarehouseGrade: string;
  cutTime: string;
  achieveUserOrderCut: string;
  hour: string;
  updatedAt: Date;
}
export const ProductStock = new EntitySchema<ProductStockEntity>({
  name: 'ProductStock',
  tableName: 'product_stock',
  schema: SCHEMA,
  properties: {
    product: { kind: 'm:1', entity: () => Product, primary: true, fieldName: 'product_code' },
    countyCode: { type: 'text', primary: true, fieldName: 'county_code' },
    quantity: { type: 'bigint' },
    bestSecCode: { type: 'text', fieldName: 'best_sec_code', default: '' },
    bestWarehouseGrade: { type: 'text', fieldName: 'best_warehouse_grade', default: '' },
    cutTime: { type: 'text', fieldName: 'cut_time', default: '' },
    achieveUserOrderCut: { type: 'text', fieldName: 'achieve_user_order_cut', default: '' },
    hour: { type: 'text', default: '' },
    updatedAt: { type: 'Date', fieldName: 'updated_at', defaultRaw: 'now()' },
  },
});

export interface PriceHistoryEntity {
  id: string;
  productCode: string;
  field: string;
  fromValue?: string | null;
  toValue?: string | null;
  changedAt: Date;
  runId: string;
}
export const PriceHistory = new EntitySchema<PriceHistoryEntity>({
  name: 'PriceHistory',
  tableName: 'price_history',
  schema: SCHEMA,
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    productCode: { type: 'text', fieldName: 'product_code' },
    field: { type: 'text' },
    fromValue: { type: 'text', fieldName: 'from_value', nullable: true },
    toValue: { type: 'text', fieldName: 'to_value', nullable: true },
    changedAt: { type: 'Date', fieldName: 'changed_at', defaultRaw: 'now()' },
    runId: { type: 'text', fieldName: 'run_id', default: '' },
  },
});

export interface ChangeLogEntity {
  seq: string;
  productCode: string;
  version: string;
  kind: string;
  fields: { field: string; before: string; after: string }[];
  snapshot: Record<string, unknown>;
  runId: string;
  actor: string;
  occurredAt: Date;
}
export const ChangeLog = new EntitySchema<ChangeLogEntity>({
  name: 'ChangeLog',
  tableName: 'change_log',
  schema: SCHEMA,
  properties: {
    seq: { type: 'bigint', primary: true, autoincrement: true },
    productCode: { type: 'text', fieldName: 'product_code' },
    version: { type: 'bigint' },
    kind: { type: 'text' },
    fields: { type: 'json' },
    snapshot: { type: 'json' },
    runId: { type: 'text', fieldName: 'run_id', default: '' },
    actor: { type: 'text', default: '' },
    occurredAt: { type: 'Date', fieldName: 'occurred_at', defaultRaw: 'now()' },
  },
});

export const ENTITIES = [Category, Brand, Product, ProductStock, PriceHistory, ChangeLog];
