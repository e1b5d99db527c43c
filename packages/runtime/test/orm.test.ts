// The one migration step: migrate() called by three processes' worth of ORMs at the same moment
// (replicas starting together, an initContainer, `haier-sync migrate`) applies each migration
// once; the others wait on the schema's advisory lock. The first migration is slow on purpose, so
// without the lock all three would run it together and two would fail.
import { Migration } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { initOrm, migrate, schemaLockKey, withSchemaLock, type SchemaDefinition } from '../src/orm';
import { createTestDatabase, type TestDatabase } from '../src/testing';

class SlowFirst extends Migration {
  override async up(): Promise<void> {
    this.addSql('select pg_sleep(0.5)');
    this.addSql('create table locktest.thing (id int primary key)');
  }
}
class Second extends Migration {
  override async up(): Promise<void> {
    this.addSql('insert into locktest.thing values (1)');
  }
}

const DEF: SchemaDefinition = {
  schema: 'locktest',
  entities: [],
  migrations: [
    { name: '0001-slow-first', class: SlowFirst },
    { name: '0002-second', class: Second },
  ],
};

describe('initOrm + migrate', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('hs_orm');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('three at once: each migration applied exactly once, in order, and none fails', async () => {
    const orms = await Promise.all([1, 2, 3].map(() => initOrm(DEF, { databaseUrl: db.url, poolMax: 2 })));
    try {
      const results = await Promise.all(orms.map((o) => migrate(o, DEF)));
      expect(results.flat().sort()).toEqual(['0001-slow-first', '0002-second']);
      expect(results.filter((r) => r.length > 0)).toHaveLength(1); // one did it all, the others found nothing to do
      const rows = await orms[0]!.em.getConnection().execute<Array<{ name: string }>>('select name from locktest.mikro_orm_migrations order by id');
      expect(rows.map((r) => r.name)).toEqual(['0001-slow-first', '0002-second']);
      expect(await migrate(orms[1]!, DEF)).toEqual([]);
    } finally {
      await Promise.all(orms.map((o) => o.close(true)));
    }
  }, 30_000);

  it('withSchemaLock holds the lock only while its function runs', async () => {
    const probe = new Client({ connectionString: db.url });
    await probe.connect();
    const tryLock = async () => {
      const r = await probe.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtext($1)) as ok', [schemaLockKey('other')]);
      if (r.rows[0]!.ok) await probe.query('select pg_advisory_unlock(hashtext($1))', [schemaLockKey('other')]);
      return r.rows[0]!.ok;
    };
    try {
      const inside = await withSchemaLock(db.url, 'other', tryLock);
      expect(inside).toBe(false); // held by withSchemaLock's own session
      expect(await tryLock()).toBe(true); // released afterwards
    } finally {
      await probe.end();
    }
  });
});
