// The orchestrator's Postgres schema ("sync") as the runtime's initOrm and migrate take it:
// the configs' entity (the run tables and the publisher's cursors are read and written with SQL
// through knex: SKIP LOCKED claims, bulk completions), the committed migrations, and that knex.
import type { Knex, MikroORM } from '@mikro-orm/postgresql';
import type { SchemaDefinition } from '@haier-sync/runtime/orm';
import { configEntities } from './configs/entities';
import { Migration0001Runs } from './migrations/0001-runs';
import { Migration0002ConfigsEvents } from './migrations/0002-configs-events';
import { Migration0003RunClaimsItems } from './migrations/0003-run-claims-items';
import { Migration0006RunRetryOf } from './migrations/0006-run-retry-of';
import { Migration0007RunLog } from './migrations/0007-run-log';
import { Migration0008Schedules } from './migrations/0008-schedules';
import { Migration0009TraceContext } from './migrations/0009-trace-context';

export const SYNC_SCHEMA: SchemaDefinition = {
  schema: 'sync',
  entities: configEntities,
  migrations: [
    { name: '0001-runs', class: Migration0001Runs },
    { name: '0002-configs-events', class: Migration0002ConfigsEvents },
    { name: '0003-run-claims-items', class: Migration0003RunClaimsItems },
    { name: '0006-run-retry-of', class: Migration0006RunRetryOf },
    { name: '0007-run-log', class: Migration0007RunLog },
    { name: '0008-schedules', class: Migration0008Schedules },
    { name: '0009-trace-context', class: Migration0009TraceContext },
  ],
};

/** The knex instance behind the ORM (raw SQL with `?` bindings, transactions). */
export function knexOf(orm: MikroORM): Knex {
  return orm.em.getKnex();
}

export type { Knex };
