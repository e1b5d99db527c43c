// Service authentication of the gateway as deployed (the built service against the simulator):
// every RPC of HaierGatewayService, taken from the generated contract so a new RPC is covered
// without touching this file, refuses a call without a token (UNAUTHENTICATED) and a trusted
// caller its rpc-policy.json does not list (PERMISSION_DENIED), and answers the callers it lists.
// Nobody reaches Haier with the shop's account (GetPrices, GetBalance) without being one of them.
import { gateway } from '@haier-sync/contracts';
import { DEFAULT_CREDENTIALS, gatewayAccountEnv, startSimulator, type SimHandle } from '@haier-sync/haier-sim';
import { CALLERS, closeGrpcClients } from '@haier-sync/runtime';
import { callRpc, policyOf, rpcAuthorizationProblems, startGatewayProcess, type GatewayProcess } from '@haier-sync/runtime/testing';

let sim: SimHandle;
let proc: GatewayProcess;

beforeAll(async () => {
  sim = await startSimulator({ quiet: true, size: 20, rateLimit: 0 });
  proc = await startGatewayProcess(sim.url, { env: { ...gatewayAccountEnv(DEFAULT_CREDENTIALS), HAIER_RATE_LIMIT: '1000' } });
}, 90_000);

afterAll(async () => {
  closeGrpcClients();
  await proc?.stop();
  await sim?.close();
});

const methods = gateway.HaierGatewayService.methods.map((m) => m.name);

it('has a rule for every RPC of HaierGatewayService', () => {
  expect(Object.keys(policyOf(gateway.HaierGatewayService)).sort()).toEqual([...methods].sort());
});

it.each(methods)('%s: no token → UNAUTHENTICATED, a caller not in the policy → PERMISSION_DENIED, its callers → answered', async (method) => {
  const { problems, calls } = await rpcAuthorizationProblems(gateway.HaierGatewayService, proc.url, method);
  expect(problems).toEqual([]);
  expect(calls).toBe(5);
});

it('a refused call never reaches Haier: no upstream request for GetBalance without a token or as the CLI', async () => {
  const before = sim.control.stats().total;
  expect((await callRpc(gateway.HaierGatewayService, proc.url, 'GetBalance', null)).code).toBe('Unauthenticated');
  expect((await callRpc(gateway.HaierGatewayService, proc.url, 'GetBalance', CALLERS.cli)).code).toBe('PermissionDenied');
  expect(sim.control.stats().total).toBe(before);
});
