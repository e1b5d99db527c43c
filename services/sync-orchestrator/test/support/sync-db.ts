// This service's schema ("sync") on a test database, built from the committed migrations.
import { createTestDatabase, type TestDatabase } from '@haier-sync/runtime/testing';
import type { MikroORM } from '@mikro-orm/postgresql';
import { initOrm, migrate } from '@haier-sync/runtime/orm';
import { knexOf, SYNC_SCHEMA, type Knex } from '../../src/db';

export async function syncOrm(databaseUrl: string): Promise<MikroORM> {
  const orm = await initOrm(SYNC_SCHEMA, { databaseUrl, poolMax: 4 });
  await migrate(orm, SYNC_SCHEMA);
  return orm;
}

/**
 * A fresh database with this schema for the test file (made in beforeAll, dropped in afterAll);
 * `knex()` is its handle once made.
 */
export function freshSyncDb(prefix: string): { knex: () => Knex } {
  let db: TestDatabase | undefined;
  let orm: MikroORM | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(prefix);
    orm = await syncOrm(db.url);
  });
  afterAll(async () => {
    await orm?.close(true);
    await db?.drop();
  });
  return { knex: () => knexOf(orm!) };
}
