// This service's schema ("sync") on a test database, built from the committed migrations.
import type { MikroORM } from '@mikro-orm/postgresql';
import { initOrm, migrate } from '@haier-sync/runtime/orm';
import { SYNC_SCHEMA } from '../../src/db';

export async function syncOrm(databaseUrl: string): Promise<MikroORM> {
  const orm = await initOrm(SYNC_SCHEMA, { databaseUrl, poolMax: 4 });
  await migrate(orm, SYNC_SCHEMA);
  return orm;
}
