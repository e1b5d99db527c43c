// One MikroORM per process: Postgres, the edge entities and the committed migrations.
import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { ENTITIES } from './entities';
import { Migration20250601000000_edge } from '../migrations/Migration20250601000000_edge';

export const MIGRATIONS = [{ name: 'Migration20250601000000_edge', class: Migration20250601000000_edge }];

export function initOrm(databaseUrl: string, poolMax = 10): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: databaseUrl,
    entities: ENTITIES,
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: {
      tableName: 'edge.mikro_orm_migrations',
      migrationsList: MIGRATIONS,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    pool: { min: 0, max: poolMax },
    allowGlobalContext: false,
    timezone: '+00:00',
  });
}

/** Applies every pending migration (creates schema "edge" from empty). */
export async function runMigrations(orm: MikroORM): Promise<string[]> {
  // the migrations table lives in schema edge, which must exist before the migrator looks for it
  await orm.em.getConnection().execute('create schema if not exists edge');
  const done = await orm.getMigrator().up();
  return done.map((m) => m.name);
}
