// The catalog as a unit: ORM (one per process), migrations, the service routes, readiness.
// main.ts serves it; tests and benchmarks build it in-process.
import type { ConnectRouter } from '@connectrpc/connect';
import { rules } from '@haier-sync/contracts';
import type { ErrorMapper, Logger, Registry } from '@haier-sync/runtime';
import { catalogMetrics } from './metrics';
import { catalogErrors, DATABASE_UNREACHABLE, registerCatalog } from './catalog-service';
import { initOrm, migrate } from '@haier-sync/runtime/orm';
import { CATALOG_SCHEMA } from './orm';
import { query } from './sql';
import type { MikroORM } from '@mikro-orm/postgresql';

export interface BuildCatalogOptions {
  databaseUrl: string;
  logger: Logger;
  defaultCounty?: string;
  /** Headline stock below this is low stock (SYNC_LOW_STOCK_THRESHOLD; default rules.DEFAULT_LOW_STOCK_THRESHOLD). */
  lowStockBelow?: number;
  poolMax?: number;
  /** Where the catalog's metrics go (metrics.ts); none when unset. */
  metrics?: Registry;
}

export interface Catalog {
  orm: MikroORM;
  routes(router: ConnectRouter): void;
  readiness(): Promise<boolean>;
  /** For startGrpcServer: the catalog's domain errors as status codes, and its answer when Postgres is unreachable. */
  errors: ErrorMapper;
  connectionLost: string;
  close(): Promise<void>;
}

export async function buildCatalog(opts: BuildCatalogOptions): Promise<Catalog> {
  const orm = await initOrm(CATALOG_SCHEMA, { databaseUrl: opts.databaseUrl, poolMax: opts.poolMax });
  try {
    // replicas starting together take turns under the schema's lock (deploy/k8s migrates first)
    const done = await migrate(orm, CATALOG_SCHEMA);
    if (done.length) opts.logger.info({ migrations: done }, 'catalog migrations applied');
  } catch (err) {
    await orm.close(true);
    throw err;
  }
  const lowStockBelow = opts.lowStockBelow ?? rules.DEFAULT_LOW_STOCK_THRESHOLD;
  const deps = { orm, logger: opts.logger, defaultCounty: opts.defaultCounty ?? '110101', lowStockBelow, metrics: opts.metrics ? catalogMetrics(opts.metrics, orm, lowStockBelow) : undefined };
  return {
    orm,
    routes: (router) => registerCatalog(router, deps),
    errors: catalogErrors,
    connectionLost: DATABASE_UNREACHABLE,
    async readiness() {
      try {
        await query(orm.em.fork(), 'select 1 from catalog.mikro_orm_migrations limit 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => orm.close(true),
  };
}
