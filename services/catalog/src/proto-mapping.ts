// Rows as protobuf messages (money stays decimal text; bigint stays exact).
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { catalog } from '@haier-sync/contracts';
import { canonicalOrNull } from './stored-decimal';
import type { ChangeRow, CountyStockRow } from './product-queries';
import { STOCK_COLUMNS } from './stock';
import { PRODUCT_TABLE, protoName, type Column, type ProductColumn, type ProductRow } from './product-table';

export function ts(v: Date | string | null | undefined): Timestamp | undefined {
  if (v === null || v === undefined) return undefined;
  return timestampFromDate(v instanceof Date ? v : new Date(v));
}

/** A column's value as its Product field: decimals canonical (unset when null), bigints exact, times as Timestamps. */
function protoValue(pg: Column['pg'], v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  switch (pg) {
    case 'numeric':
      return canonicalOrNull(v as string) ?? undefined;
    case 'bigint':
      return BigInt(v as string);
    case 'timestamptz':
      return ts(v as Date | string);
    default:
      return v;
  }
}

/** Each column with its Product field name (code to product_code) and type, worked out once (not per row). */
const PRODUCT_FIELDS = (Object.keys(PRODUCT_TABLE) as ProductColumn[]).map(
  (n) => [n, n === 'code' ? 'productCode' : protoName(n), (PRODUCT_TABLE[n] as Column).pg] as const,
);
/** The stock columns (but the code) with their CountyStock field names, worked out once. */
const COUNTY_STOCK_FIELDS = STOCK_COLUMNS.filter(([n]) => n !== 'code').map(([n, t]) => [n, protoName(n), t === 'bigint'] as const);

/** A product row as a Product message: each column to the Product field of the same name (code to product_code). */
export function toProduct(r: ProductRow, stock: readonly CountyStockRow[] = []): catalog.Product {
  const fields: Record<string, unknown> = {};
  for (const [n, field, pg] of PRODUCT_FIELDS) fields[field] = protoValue(pg, r[n]);
  fields['countyStock'] = stock.map((s) => {
    const values: Record<string, unknown> = { updatedAt: ts(s.updated_at) };
    for (const [n, field, big] of COUNTY_STOCK_FIELDS) values[field] = big ? BigInt(s[n]) : s[n];
    return create(catalog.CountyStockSchema, values as MessageInitShape<typeof catalog.CountyStockSchema>);
  });
  return create(catalog.ProductSchema, fields as MessageInitShape<typeof catalog.ProductSchema>);
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
    traceparent: c.traceparent ?? '',
  });
}

const OUTCOMES: Record<'created' | 'updated' | 'unchanged' | 'failed', catalog.ItemOutcome> = {
  created: catalog.ItemOutcome.CREATED,
  updated: catalog.ItemOutcome.UPDATED,
  unchanged: catalog.ItemOutcome.UNCHANGED,
  failed: catalog.ItemOutcome.FAILED,
};

/** A written (or unchanged, or stock-failed) item as the wire's ItemResult. */
export function itemResult(x: { code: string; outcome: keyof typeof OUTCOMES; changedFields: string[]; version: number; reason: string }): catalog.ItemResult {
  return create(catalog.ItemResultSchema, { productCode: x.code, outcome: OUTCOMES[x.outcome], changedFields: x.changedFields, version: BigInt(x.version), reason: x.reason });
}
