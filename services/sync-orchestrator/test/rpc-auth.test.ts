// Service authentication of the orchestrator as deployed (the built service, its engine off):
// every RPC of SyncService, taken from the generated contract so a new RPC is covered without
// touching this file, refuses a call without a token (UNAUTHENTICATED) and a trusted caller its
// rpc-policy.json does not list (PERMISSION_DENIED), and answers the callers it lists.
// RecordOperation is the edge's alone; a refused call leaves no run behind.
import { sync } from '@haier-sync/contracts';
import { CALLERS, closeGrpcClients } from '@haier-sync/runtime';
import { callRpc, createTestDatabase, policyOf, rpcAuthorizationProblems, startOrchestratorProcess, TEST_NATS_URL, uniqueId, type OrchestratorProcess, type TestDatabase } from '@haier-sync/runtime/testing';
import { Client as PgClient } from 'pg';

let db: TestDatabase;
let proc: OrchestratorProcess;

beforeAll(async () => {
  db = await createTestDatabase('hs_sync_auth');
  proc = await startOrchestratorProcess({
    env: {
      DATABASE_URL: db.url,
      NATS_URL: TEST_NATS_URL,
      NATS_SUBJECT_PREFIX: uniqueId('auth').toLowerCase(),
      // nothing listens there: calls that need them fail UNAVAILABLE, after authorisation
      GATEWAY_URL: 'http://127.0.0.1:9',
      CATALOG_URL: 'http://127.0.0.1:9',
      SYNC_SCHEDULER_ENABLED: 'false',
      SYNC_FIRST_DEPLOY: 'false',
      SYNC_WORKERS_ENABLED: 'false',
      SYNC_PUBLISHER_ENABLED: 'false',
    },
  });
}, 90_000);

afterAll(async () => {
  closeGrpcClients();
  await proc?.stop();
  await db?.drop();
});

const methods = sync.SyncService.methods.map((m) => m.name);

it('has a rule for every RPC of SyncService; RecordOperation is the edge\'s alone', () => {
  expect(Object.keys(policyOf(sync.SyncService)).sort()).toEqual([...methods].sort());
  expect(policyOf(sync.SyncService).RecordOperation).toEqual([CALLERS.edge]);
});

it('a refused StartRun or RecordOperation leaves no run behind', async () => {
  const pg = new PgClient({ connectionString: db.url });
  await pg.connect();
  try {
    const count = async (): Promise<number> => Number((await pg.query('SELECT count(*)::int AS n FROM sync.runs')).rows[0].n);
    const before = await count();
    for (const as of [null, CALLERS.orchestrator]) {
      expect((await callRpc(sync.SyncService, proc.url, 'StartRun', as)).code).toMatch(/^(Unauthenticated|PermissionDenied)$/);
      expect((await callRpc(sync.SyncService, proc.url, 'RecordOperation', as)).code).toMatch(/^(Unauthenticated|PermissionDenied)$/);
    }
    expect((await callRpc(sync.SyncService, proc.url, 'RecordOperation', CALLERS.cli)).code).toBe('PermissionDenied');
    expect(await count()).toBe(before);
  } finally {
    await pg.end();
  }
});

it.each(methods)('%s: no token → UNAUTHENTICATED, a caller not in the policy → PERMISSION_DENIED, its callers → answered', async (method) => {
  const { problems, calls } = await rpcAuthorizationProblems(sync.SyncService, proc.url, method);
  expect(problems).toEqual([]);
  expect(calls).toBe(5);
});
