// One MikroORM per process (schema "sync"): entities of runs, configs and events, the committed
// migrations, and the knex handle the run engine uses for its hot paths (SKIP LOCKED claims).
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Knex } from '@mikro-orm/postgresql';
import { configEntities } from './configs/entities';
import { eventEntities } from './events/entities';
import { Migration0001Runs } from './migrations/0001-runs';
import { Migration0002ConfigsEvents } from './migrations/0002-configs-events';
import { Migration0003RunClaimsItems } from './migrations/0003-run-claims-items';
import { runEntities } from './runs/entities';

export const migrationsList = [
  { name: '0001-runs', class: Migration0001Runs },
  { name: '0002-configs-events', class: Migration0002ConfigsEvents },
  { name: '0003-run-claims-items', class: Migration0003RunClaimsItems },
];

export interface OrmOptions {
  poolMax?: number;
}

export function initOrm(databaseUrl: string, opts: OrmOptions = {}): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: databaseUrl,
    entities: [...runEntities, ...configEntities, ...eventEntities],
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: {
      tableName: 'sync.mikro_orm_migrations',
      migrationsList,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    pool: { min: 0, max: opts.poolMax ?? 12 },
    allowGlobalContext: false,
    timezone: '+00:00',
    debug: false,
  });
}

/** Applies every pending migration (creates schema "sync" from empty). */
export async function runMigrations(orm: MikroORM): Promise<string[]> {
  // the migrations table lives in schema sync, which must exist before the migrator looks at it
  await orm.em.getKnex().raw('create schema if not exists sync');
  const done = await orm.getMigrator().up();
  return done.map((m) => m.name);
}

/** The knex instance behind the ORM (raw SQL with `?` bindings, transactions). */
export function knexOf(orm: MikroORM): Knex {
  return orm.em.getKnex();
}

export type { Knex };
