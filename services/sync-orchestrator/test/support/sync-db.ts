// This service's schema ("sync") on a test database, built from the committed migrations.
import type { MikroORM } from '@mikro-orm/postgresql';
import { initOrm, runMigrations } from '../../src/db';

export async function syncOrm(databaseUrl: string): Promise<MikroORM> {
  const orm = await initOrm(databaseUrl, { poolMax: 4 });
  await runMigrations(orm);
  return orm;
}
