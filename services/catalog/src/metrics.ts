// The catalog's Prometheus metrics: products by state, the age of the least recently synced
// listed product, of the oldest procurable price check and of the oldest low-stock stock check,
// the low-stock products (one query per scrape), UpsertProducts' duration and item outcomes, and
// the database pool. The RPC RED metrics come from the runtime's interceptor.
import { Counter, gaugeFrom, Histogram, type Registry } from '@haier-sync/runtime';
import { ormPoolMetrics } from '@haier-sync/runtime/orm';
import type { MikroORM } from '@mikro-orm/postgresql';
import { LOW_STOCK, PROCURABLE } from './product-queries';
import { query } from './sql';

/** What UpsertProducts tells the metrics. */
export interface UpsertObserver {
  upserted(seconds: number, counts: { created: number; updated: number; unchanged: number; failed: number }): void;
}

interface StateRow {
  on_sale: string;
  not_on_sale: string;
  delisted: string;
  oldest_sync_age_s: string | null;
  oldest_price_age_s: string | null;
  oldest_low_stock_age_s: string | null;
  low_stock: string;
}

const STATE_SQL = `select count(*) filter (where delisted_at is null and is_sales) as on_sale,
  count(*) filter (where delisted_at is null and not is_sales) as not_on_sale,
  count(*) filter (where delisted_at is not null) as delisted,
  extract(epoch from now() - min(coalesce(last_synced_at, first_seen_at)) filter (where delisted_at is null))::float8::text as oldest_sync_age_s,
  extract(epoch from now() - min(coalesce(price_checked_at, first_seen_at)) filter (where ${PROCURABLE}))::float8::text as oldest_price_age_s,
  extract(epoch from now() - min(coalesce(stock_checked_at, first_seen_at)) filter (where ${LOW_STOCK}))::float8::text as oldest_low_stock_age_s,
  count(*) filter (where ${LOW_STOCK}) as low_stock
  from catalog.product`;

/** `lowStockBelow`: headline stock below it is low stock (SYNC_LOW_STOCK_THRESHOLD). */
export function catalogMetrics(registry: Registry, orm: MikroORM, lowStockBelow: number): UpsertObserver {
  ormPoolMetrics(registry, orm);
  // both gauges come from one query: a scrape collects them together, and they share the one in flight
  let reading: Promise<StateRow | undefined> | undefined;
  const state = (): Promise<StateRow | undefined> =>
    (reading ??= query<StateRow>(orm.em.fork(), STATE_SQL, [lowStockBelow, lowStockBelow])
      .then((r) => r[0])
      .finally(() => (reading = undefined)));
  gaugeFrom(
    registry,
    'catalog_products',
    'Products in the catalog, by state (on_sale, not_on_sale, delisted)',
    async () => {
      const r = await state();
      return r ? (['on_sale', 'not_on_sale', 'delisted'] as const).map((s) => ({ labels: { state: s }, value: Number(r[s]) })) : [];
    },
    ['state'] as const,
  );
  gaugeFrom(
    registry,
    'catalog_oldest_sync_age_seconds',
    'Seconds since the least recently synced listed product was last written by a sync (its listing and prices); 0 for an empty catalog',
    async () => Number((await state())?.oldest_sync_age_s ?? 0),
  );
  gaugeFrom(
    registry,
    'catalog_oldest_price_age_seconds',
    "Seconds since the price of the procurable product checked longest ago was last checked against Haier (price_checked_at; first seen when never); 0 for an empty catalog. The price-freshness sweep keeps it under SYNC_PRICE_MAX_AGE",
    async () => Number((await state())?.oldest_price_age_s ?? 0),
  );
  gaugeFrom(
    registry,
    'catalog_oldest_low_stock_age_seconds',
    'Seconds since the stock of the low-stock product (listed, headline stock below SYNC_LOW_STOCK_THRESHOLD) checked longest ago was last checked against Haier (stock_checked_at; first seen when never); 0 when none is low. The low_stock run or the low-stock sweep keeps it under 15 minutes (SYNC_LOW_STOCK_MAX_AGE)',
    async () => Number((await state())?.oldest_low_stock_age_s ?? 0),
  );
  gaugeFrom(registry, 'catalog_low_stock_products', 'Listed products whose headline stock is below SYNC_LOW_STOCK_THRESHOLD', async () => Number((await state())?.low_stock ?? 0));
  const duration = new Histogram({
    name: 'catalog_upsert_duration_seconds',
    help: 'Duration of one UpsertProducts write (normalising, change detection, the batch write)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const items = new Counter({
    name: 'catalog_upsert_products_total',
    help: 'Products sent to UpsertProducts, by outcome (created, updated, unchanged, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  return {
    upserted(seconds, counts) {
      duration.observe(seconds);
      for (const outcome of ['created', 'updated', 'unchanged', 'failed'] as const) if (counts[outcome]) items.inc({ outcome }, counts[outcome]);
    },
  };
}
