// The tables the ORM itself reads (Postgres schema "catalog"), defined without decorators. The
// tables are created by the committed migrations in src/migrations. The product row is described
// in product-table.ts (the bulk SQL reads and writes it directly); price history is read here.
import { EntitySchema } from '@mikro-orm/core';

export const SCHEMA = 'catalog';

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

export const ENTITIES = [PriceHistory];
