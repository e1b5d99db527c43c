// The catalog's Postgres schema as the runtime's initOrm and migrate take it: its entities and
// its committed migrations, oldest first.
import type { SchemaDefinition } from '@haier-sync/runtime/orm';
import { ENTITIES } from './entities';
import { Migration20250601000000_initial } from './migrations/Migration20250601000000_initial';
import { Migration20251125000000_batch_guard } from './migrations/Migration20251125000000_batch_guard';
import { Migration20251202000000_price_reason } from './migrations/Migration20251202000000_price_reason';
import { Migration20251203000000_price_checked } from './migrations/Migration20251203000000_price_checked';
import { Migration20251203100000_product_images } from './migrations/Migration20251203100000_product_images';
import { Migration20251203200000_trace_context } from './migrations/Migration20251203200000_trace_context';
import { Migration20251203300000_stock_checked } from './migrations/Migration20251203300000_stock_checked';

export const CATALOG_SCHEMA: SchemaDefinition = {
  schema: 'catalog',
  entities: ENTITIES,
  migrations: [
    { name: 'Migration20250601000000_initial', class: Migration20250601000000_initial },
    { name: 'Migration20251125000000_batch_guard', class: Migration20251125000000_batch_guard },
    { name: 'Migration20251202000000_price_reason', class: Migration20251202000000_price_reason },
    { name: 'Migration20251203000000_price_checked', class: Migration20251203000000_price_checked },
    { name: 'Migration20251203100000_product_images', class: Migration20251203100000_product_images },
    { name: 'Migration20251203200000_trace_context', class: Migration20251203200000_trace_context },
    { name: 'Migration20251203300000_stock_checked', class: Migration20251203300000_stock_checked },
  ],
};
