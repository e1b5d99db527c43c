// Rows as protobuf messages (money stays decimal text; bigint stays exact).
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { catalog } from '@haier-sync/contracts';
import { canonicalOrNull } from './stored-decimal';
import type { ChangeRow, CountyStockRow } from './product-queries';
import { STOCK_COLUMNS } from './stock';
import { PRODUCT_TABLE, protoName, type ProductColumn, type ProductRow } from './product-table';

export function ts(v: Date | string | null | undefined): Timestamp | undefined {
  if (v === null || v === undefined) return undefined;
  return timestampFromDate(v instanceof Date ? v : new Date(v));
}

/** A column's value as its Product field: decimals canonical (unset when null), bigints exact, times as Timestamps. */
function protoValue(n: ProductColumn, v: unknown): unknown {
  if (v === null || v === undefined) return undefined;
  switch (PRODUCT_TABLE[n].pg) {
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

/** A product row as a Product message: each column to the Product field of the same name (code to product_code). */
export function toProduct(r: ProductRow, stock: readonly CountyStockRow[] = []): catalog.Product {
  const fields = Object.fromEntries(
    (Object.keys(PRODUCT_TABLE) as ProductColumn[]).map((n) => [n === 'code' ? 'productCode' : protoName(n), protoValue(n, r[n])]),
  ) as MessageInitShape<typeof catalog.ProductSchema>;
  return create(catalog.ProductSchema, {
    ...fields,
    countyStock: stock.map((s) => {
      const values = STOCK_COLUMNS.filter(([n]) => n !== 'code').map(([n, t]) => [protoName(n), t === 'bigint' ? BigInt(s[n]) : s[n]]);
      return create(catalog.CountyStockSchema, { ...(Object.fromEntries(values) as MessageInitShape<typeof catalog.CountyStockSchema>), updatedAt: ts(s.updated_at) });
    }),
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

/** A written (or unchanged, or stock-failed) item as the wire's ItemResult. */
export function itemResult(x: { code: string; outcome: keyof typeof OUTCOMES; changedFields: string[]; version: number; reason: string }): catalog.ItemResult {
  return create(catalog.ItemResultSchema, { productCode: x.code, outcome: OUTCOMES[x.outcome], changedFields: x.changedFields, version: BigInt(x.version), reason: x.reason });
}
