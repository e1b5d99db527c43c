// The catalog's migration entry point as deployed: `node dist/migrate.js` (the k8s initContainer,
// `haier-sync migrate catalog`) started three times at once on an empty database, as replicas'
// init containers are: all exit 0 and each migration is applied once (the lock that makes this
// hold when they really collide is tested in packages/runtime/test/orm.test.ts); and the exit
// code and message when Postgres is unreachable. Needs `pnpm build` first.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@haier-sync/runtime/testing';
import { CATALOG_SCHEMA } from '../src/orm';

const CATALOG = join(__dirname, '..');
const run = promisify(execFile);

interface Outcome {
  code: number;
  lines: Array<{ msg?: string; applied?: string[] }>;
}

async function migrateOnce(databaseUrl: string): Promise<Outcome> {
  const parse = (out: string) =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg?: string; applied?: string[] });
  try {
    const { stdout } = await run(process.execPath, ['dist/migrate.js'], { cwd: CATALOG, env: { ...process.env, DATABASE_URL: databaseUrl } });
    return { code: 0, lines: parse(stdout) };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, lines: parse(`${e.stdout ?? ''}\n${e.stderr ?? ''}`) };
  }
}

describe('haier-sync migrate (catalog)', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('hs_migrate');
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('three at once on an empty database: each migration applied once, all exit 0', async () => {
    const outcomes = await Promise.all([migrateOnce(db.url), migrateOnce(db.url), migrateOnce(db.url)]);
    expect(outcomes.map((o) => o.code)).toEqual([0, 0, 0]);
    const applied = outcomes.flatMap((o) => o.lines.flatMap((l) => l.applied ?? []));
    expect(applied).toEqual(CATALOG_SCHEMA.migrations.map((m) => m.name));
    expect(applied).toHaveLength(4);
    expect(outcomes.flatMap((o) => o.lines.map((l) => l.msg)).filter((m) => m?.includes('is up to date'))).toHaveLength(2);
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const r = await pg.query<{ name: string }>('select name from catalog.mikro_orm_migrations order by id');
      expect(r.rows.map((x) => x.name)).toEqual(applied);
    } finally {
      await pg.end();
    }
  }, 60_000);

  it('says what to do when Postgres cannot be reached, and exits 1', async () => {
    const o = await migrateOnce('postgres://postgres@127.0.0.1:1/nowhere');
    expect(o.code).toBe(1);
    expect(o.lines.map((l) => l.msg)).toContainEqual(expect.stringMatching(/^schema catalog could not be migrated: .*ECONNREFUSED.*; check DATABASE_URL and that Postgres is up, then run it again/));
  }, 30_000);
});
