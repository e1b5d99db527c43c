// Service authentication of the catalog as deployed (the built service, over TLS with a
// self-signed certificate made by openssl): every RPC of CatalogService, taken from the generated
// contract so a new RPC is covered without touching this file, refuses a call without a token
// (UNAUTHENTICATED) and a trusted caller its rpc-policy.json does not list (PERMISSION_DENIED),
// and answers the callers it lists. Health stays open; reflection needs a trusted caller.
import { create } from '@bufbuild/protobuf';
import { catalog, health, reflection } from '@haier-sync/contracts';
import { CALLERS, closeGrpcClients, createGrpcClient } from '@haier-sync/runtime';
import { probe } from '@haier-sync/runtime/health-probe';
import { callRpc, createTestDatabase, INTRUDER, policyOf, rpcAuthorizationProblems, selfSignedTls, startCatalogProcess, testAuth, testClient, type CatalogProcess, type TestDatabase, type TestTls } from '@haier-sync/runtime/testing';

let db: TestDatabase;
let tls: TestTls;
let proc: CatalogProcess;

beforeAll(async () => {
  db = await createTestDatabase('hs_cat_auth');
  tls = selfSignedTls();
  proc = await startCatalogProcess(db.url, { env: tls.serverEnv('CATALOG'), tls: { ca: tls.ca } });
}, 90_000);

afterAll(async () => {
  closeGrpcClients();
  await proc?.stop();
  await db?.drop();
});

const methods = catalog.CatalogService.methods.map((m) => m.name);

it('serves TLS: its address is https and a call with a token is answered over it', async () => {
  expect(proc.url).toMatch(/^https:/);
  const stats = await testClient(catalog.CatalogService, proc.url, { as: CALLERS.cli, tls: { ca: tls.ca } }).stats({});
  expect(stats.products).toBe(0n);
  // a client that does not trust the certificate gets no answer
  const untrusted = await callRpc(catalog.CatalogService, proc.url.replace('127.0.0.1', 'localhost'), 'Stats', CALLERS.cli);
  expect(untrusted.code).not.toBe('OK');
});

it('has a rule for every RPC of CatalogService, and UpsertProducts is the orchestrator\'s alone', () => {
  expect(Object.keys(policyOf(catalog.CatalogService)).sort()).toEqual([...methods].sort());
  expect(policyOf(catalog.CatalogService).UpsertProducts).toEqual([CALLERS.orchestrator]);
});

it.each(methods)('%s: no token → UNAUTHENTICATED, a caller not in the policy → PERMISSION_DENIED, its callers → answered', async (method) => {
  const { problems, calls } = await rpcAuthorizationProblems(catalog.CatalogService, proc.url, method, { tls: { ca: tls.ca } });
  expect(problems).toEqual([]);
  expect(calls).toBe(5); // no token, http-edge, sync-orchestrator, cli, intruder
});

it('the edge may not upsert products: PERMISSION_DENIED names the caller, the RPC and who may', async () => {
  const r = await callRpc(catalog.CatalogService, proc.url, 'UpsertProducts', CALLERS.edge, { tls: { ca: tls.ca } });
  expect(r).toEqual({ code: 'PermissionDenied', message: expect.stringContaining('caller "http-edge" may not call haiersync.catalog.v1.CatalogService/UpsertProducts: only sync-orchestrator may') });
});

it('health answers without a token; reflection needs a trusted caller', async () => {
  const h = createGrpcClient(health.Health, { baseUrl: proc.url, tls: { ca: tls.ca } });
  expect((await h.check({ service: '' })).status).toBe(health.HealthCheckResponse_ServingStatus.SERVING);
  // the container probe over TLS (HEALTH_PROBE_CA_FILE)
  expect(await probe(proc.port, { ca: tls.ca })).toEqual({ ok: true, status: 'SERVING' });
  async function* listServices() {
    yield create(reflection.ServerReflectionRequestSchema, { messageRequest: { case: 'listServices', value: '' } });
  }
  const first = async (as: string | null): Promise<string> => {
    const c = testClient(reflection.ServerReflection, proc.url, { as, tls: { ca: tls.ca } });
    try {
      for await (const res of c.serverReflectionInfo(listServices())) return res.messageResponse.case ?? 'none';
      return 'none';
    } catch (err) {
      return String((err as { code?: number }).code);
    }
  };
  expect(await first(null)).toBe('16'); // UNAUTHENTICATED
  expect(await first(INTRUDER)).toBe('listServicesResponse'); // any trusted caller
  // one header for buf curl's reflection and its call: a token for the catalog service will do
  const c = createGrpcClient(reflection.ServerReflection, { baseUrl: proc.url, tls: { ca: tls.ca }, interceptors: [(next) => async (req) => (req.header.set('authorization', await testAuth().bearer(CALLERS.cli, catalog.CatalogService.typeName)), next(req))] });
  let got = 'none';
  for await (const res of c.serverReflectionInfo(listServices())) {
    got = res.messageResponse.case ?? 'none';
    break;
  }
  expect(got).toBe('listServicesResponse');
});
