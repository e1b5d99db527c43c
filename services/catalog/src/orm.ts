// One MikroORM per process: Postgres driver, the catalog entities and the committed migrations.
import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from './entities';
import { Migration20250601000000_initial } from './migrations/Migration20250601000000_initial';
import { Migration20251125000000_batch_guard } from './migrations/Migration20251125000000_batch_guard';
import { Migration20251202000000_price_reason } from './migrations/Migration20251202000000_price_reason';

export const MIGRATIONS = [
  { name: 'Migration20250601000000_initial', class: Migration20250601000000_initial },
  { name: 'Migration20251125000000_batch_guard', class: Migration20251125000000_batch_guard },
  { name: 'Migration20251202000000_price_reason', class: Migration20251202000000_price_reason },
];

export interface OrmOptions {
  databaseUrl: string;
  poolMax?: number;
  debug?: boolean;
}

export function initOrm(opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: opts.databaseUrl,
    entities: ENTITIES,
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: {
      tableName: 'catalog.mikro_orm_migrations',
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    debug: opts.debug ?? false,
    allowGlobalContext: false,
    // timestamps are UTC end to end
    timezone: '+00:00',
  });
}

/** Applies every pending migration (creates schema "catalog" from empty). */
export async function runMigrations(databaseUrl: string): Promise<string[]> {
  const orm = await initOrm({ databaseUrl, poolMax: 2 });
  try {
    const done = await orm.getMigrator().up();
    return done.map((m) => m.name);
  } finally {
    await orm.close(true);
  }
}
