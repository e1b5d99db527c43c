// The one MikroORM set-up and the one migration step for every service that owns a Postgres
// schema (catalog, sync, edge). A service describes its schema once (SchemaDefinition: name,
// entities, committed migrations); `initOrm` opens it the same way everywhere (UTC, no global
// context, migrations table inside the schema) and `migrate` applies what is pending under the
// schema's advisory lock, so replicas, an initContainer and `haier-sync migrate` starting
// together take turns instead of racing. Import from '@haier-sync/runtime/orm' (the gateway,
// which has no database, never loads MikroORM).
import type { MigrationObject } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { ConfigError } from './config';
import { createLogger } from './logger';
import { redact } from './secrets';
import { gaugeFrom, type Registry } from './metrics';

export interface SchemaDefinition {
  /** The service's Postgres schema ("catalog", "sync", "edge"): its tables and its migrations table live there. */
  schema: string;
  entities: NonNullable<Options['entities']>;
  /** The committed migrations, oldest first. */
  migrations: MigrationObject[];
}

export interface OrmOptions {
  databaseUrl: string;
  /** Connections at most (default 10). */
  poolMax?: number;
  /** Log every statement (default off). */
  debug?: boolean;
}

/** The process's one MikroORM for a schema: Postgres, its entities, its migrations; timestamps in UTC. */
export function initOrm(def: SchemaDefinition, opts: OrmOptions): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: opts.databaseUrl,
    entities: def.entities,
    discovery: { warnWhenNoEntities: false },
    extensions: [Migrator],
    migrations: {
      tableName: `${def.schema}.mikro_orm_migrations`,
      migrationsList: def.migrations,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    pool: { min: 0, max: opts.poolMax ?? 10 },
    debug: opts.debug ?? false,
    allowGlobalContext: false,
    timezone: '+00:00',
  });
}

/** The advisory lock a schema's migrations (and the edge's first admin key) are made under. */
export function schemaLockKey(schema: string): string {
  return `haier-sync:migrate:${schema}`;
}

/**
 * Runs `fn` holding the schema's lock: a session-level Postgres advisory lock on a connection of
 * its own (not the ORM's pool, so any pool size works), released when `fn` ends, and by Postgres
 * if the process dies.
 */
export async function withSchemaLock<T>(databaseUrl: string, schema: string, fn: () => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    await c.query('select pg_advisory_lock(hashtext($1))', [schemaLockKey(schema)]);
    return await fn();
  } finally {
    await c.end(); // ending the session releases the lock
  }
}

/** Applies the schema's pending migrations (creating the schema when missing) under its lock; answers the names applied. */
export function migrate(orm: MikroORM, def: SchemaDefinition): Promise<string[]> {
  return withSchemaLock(orm.config.getClientUrl(), def.schema, async () => {
    // the migrations table lives in the schema, which must exist before the migrator looks for it
    await orm.em.getConnection().execute(`create schema if not exists "${def.schema}"`);
    const done = await orm.getMigrator().up();
    return done.map((m) => m.name);
  });
}

/**
 * The body of each service's `migrate` entry point (`node dist/migrate.js`: the k8s
 * initContainer, `haier-sync migrate`): migrates the schema, says what it did, sets the exit code
 * (0 done, 1 failed, 2 bad configuration).
 */
export async function migrateMain(service: string, def: SchemaDefinition, databaseUrl: () => string): Promise<void> {
  const logger = createLogger(`${service}-migrate`);
  let orm: MikroORM | undefined;
  try {
    orm = await initOrm(def, { databaseUrl: databaseUrl(), poolMax: 2 });
    const applied = await migrate(orm, def);
    logger.info(
      { schema: def.schema, applied },
      applied.length ? `schema ${def.schema}: applied ${applied.join(', ')}` : `schema ${def.schema} is up to date (${def.migrations.length} migrations)`,
    );
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      process.exitCode = 2;
    } else {
      logger.fatal(
        { err },
        `schema ${def.schema} could not be migrated: ${redact(err instanceof Error ? err.message : String(err))}; check DATABASE_URL and that Postgres is up, then run it again (applied migrations stay applied)`,
      );
      process.exitCode = 1;
    }
  } finally {
    await orm?.close(true);
  }
}

/**
 * The connection pool of an ORM as gauges read at each scrape: `db_pool_connections{state}`
 * (in_use, idle), `db_pool_acquires_waiting` (callers waiting for a connection) and
 * `db_pool_connections_max`. A pool that waits often is too small (see poolMax).
 */
export function ormPoolMetrics(registry: Registry, orm: MikroORM): void {
  interface TarnPool {
    numUsed(): number;
    numFree(): number;
    numPendingAcquires(): number;
    max: number;
  }
  const pool = (): TarnPool | undefined => (orm.em.getConnection().getKnex().client as { pool?: TarnPool }).pool;
  gaugeFrom(registry, 'db_pool_connections', 'Database connections of this process, by state (in_use, idle)', () => {
    const p = pool();
    return p ? [{ labels: { state: 'in_use' }, value: p.numUsed() }, { labels: { state: 'idle' }, value: p.numFree() }] : [];
  }, ['state'] as const);
  gaugeFrom(registry, 'db_pool_acquires_waiting', 'Callers waiting for a database connection', () => pool()?.numPendingAcquires() ?? 0);
  gaugeFrom(registry, 'db_pool_connections_max', 'Most database connections this process opens', () => pool()?.max ?? 0);
}
