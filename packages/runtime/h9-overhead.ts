import { gateway } from '@haier-sync/contracts';
import { closeGrpcClients, createGrpcClient, createLogger, rpcPolicy, startGrpcServer, trustedCallers, serviceCredentials } from './src/index';
import { generateKeyPairSync } from 'node:crypto';
async function main() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const policy = rpcPolicy({ 'haiersync.gateway.v1.HaierGatewayService': Object.fromEntries(gateway.HaierGatewayService.methods.map((m) => [m.name, ['x']])) }, [gateway.HaierGatewayService]);
  const logger = createLogger('bench', { level: 'silent' });
  const routes = (r: any) => r.service(gateway.HaierGatewayService, { getUsage: () => ({ totalCalls: 1n }) });
  const plain = await startGrpcServer({ service: 'p', port: 0, host: '127.0.0.1', logger, routes });
  const authed = await startGrpcServer({ service: 'a', port: 0, host: '127.0.0.1', logger, routes, auth: { trusted: trustedCallers({ x: publicKey }), policy } });
  const c1 = createGrpcClient(gateway.HaierGatewayService, { baseUrl: plain.url });
  const c2 = createGrpcClient(gateway.HaierGatewayService, { baseUrl: authed.url, credentials: serviceCredentials('x', privateKey) });
  const N = 3000;
  for (const round of [1, 2, 3]) {
    for (const [name, c] of [['no auth', c1], ['auth', c2]] as const) {
      for (let i = 0; i < 200; i++) await c.getUsage({});
      const t = process.hrtime.bigint();
      for (let i = 0; i < N; i++) await c.getUsage({});
      console.log(`round ${round} ${name}: ${(Number(process.hrtime.bigint() - t) / N / 1000).toFixed(0)} µs per sequential call`);
    }
  }
  closeGrpcClients();
  await plain.close(100);
  await authed.close(100);
}
main();
