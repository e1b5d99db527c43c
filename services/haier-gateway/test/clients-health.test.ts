// Any gRPC client can call the gateway: a plain @grpc/grpc-js client loading proto/ with
// @grpc/proto-loader, Connect clients (gRPC and Connect protocols), and buf curl. Health is
// SERVING only while Haier issues a token for the configured credentials.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { createClient } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { gateway, health } from '@haier-sync/contracts';
import { startSimulator } from '@haier-sync/haier-sim';
import { closeGrpcClients, createGrpcClient, LIVENESS_SERVICE } from '@haier-sync/runtime';
import { freePort } from '@haier-sync/runtime/testing';
import { grpcJsClient } from '@haier-sync/runtime/testing-grpc-js';
import { rpcFailure, startGateway, startStack, type GatewayUnderTest, type Stack } from './harness';

const REPO = join(__dirname, '..', '..', '..');
const PROTO = join(REPO, 'proto');
const run = promisify(execFile);
const { HealthCheckResponse_ServingStatus: Status } = health;

describe('clients and health', () => {
  let s: Stack;
  let bad: GatewayUnderTest;
  let codes: string[];
  beforeAll(async () => {
    s = await startStack({ sim: { size: 200, rateLimit: 0 }, env: { HAIER_RATE_LIMIT: '1000' } });
    bad = await startGateway(s.sim.url, { HAIER_CLIENT_SECRET: 'not-the-secret' });
    codes = s.sim.control.products(0, 25).map((p) => p.productCode);
  });
  afterAll(async () => {
    closeGrpcClients();
    await bad.close();
    await s.close();
  });

  it('a @grpc/grpc-js client (proto-loader on proto/) calls GetPrices, GetProducts and GetUsage', async () => {
    const client = grpcJsClient('haiersync/gateway/v1/gateway.proto', 'haiersync.gateway.v1.HaierGatewayService', s.server.port);
    try {
      const prices = await client.call<{ prices: Array<{ productCode: string; supplyPrice?: string }> }>('GetPrices', { productCodes: codes });
      expect(prices.prices.map((p) => p.productCode)).toEqual(codes);
      const truth = s.sim.control.product(codes[0]!)!;
      expect(prices.prices[0]!.supplyPrice).toBe(truth.supplyPrice);
      const products = await client.call<{ products: Array<{ productCode: string; isSales: boolean }> }>('GetProducts', { productCodes: codes.slice(0, 3) });
      expect(products.products.map((p) => p.productCode)).toEqual(codes.slice(0, 3));
      const usage = await client.call<{ totalCalls: string; rateLimitPerSecond: number }>('GetUsage', {});
      expect(Number(usage.totalCalls)).toBeGreaterThanOrEqual(3);
      expect(usage.rateLimitPerSecond).toBe(1000);
      // errors arrive as gRPC status codes
      const err = await client.call('GetPrices', { productCodes: [] }).catch((e: grpc.ServiceError) => e);
      expect((err as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });

  it('a @grpc/grpc-js health client sees SERVING with good credentials and NOT_SERVING with bad ones', async () => {
    const good = grpcJsClient('grpc/health/v1/health.proto', 'grpc.health.v1.Health', s.server.port);
    const wrong = grpcJsClient('grpc/health/v1/health.proto', 'grpc.health.v1.Health', bad.server.port);
    try {
      expect(await good.call('Check', { service: '' })).toEqual({ status: 'SERVING' });
      expect(await good.call('Check', { service: 'haiersync.gateway.v1.HaierGatewayService' })).toEqual({ status: 'SERVING' });
      expect(await wrong.call('Check', { service: '' })).toEqual({ status: 'NOT_SERVING' });
    } finally {
      good.close();
      wrong.close();
    }
  });

  it('Connect clients (gRPC and Connect protocols) call the gateway; health follows the token', async () => {
    const r = await s.client.getPrices({ productCodes: codes.slice(0, 2) });
    expect(r.prices.map((p) => p.productCode)).toEqual(codes.slice(0, 2));

    const overConnect = createClient(gateway.HaierGatewayService, createConnectTransport({ baseUrl: s.server.url, httpVersion: '2' }));
    const p = await overConnect.getProducts({ productCodes: [codes[3]!] });
    expect(p.products[0]?.productCode).toBe(codes[3]);

    const h = createGrpcClient(health.Health, { baseUrl: s.server.url });
    expect((await h.check({})).status).toBe(Status.SERVING);
    const hb = createGrpcClient(health.Health, { baseUrl: bad.server.url });
    expect((await hb.check({})).status).toBe(Status.NOT_SERVING);
    // and the reason is there for the operator, in the log and from CheckAuth
    expect(bad.logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'not ready: no Haier access token could be obtained', reason: expect.any(String) }));
    const auth = await bad.client.checkAuth({});
    expect(auth.ok).toBe(false);
    expect(auth.message).toMatch(/Haier rejected the client credentials \(HTTP 401 from the token endpoint\): check HAIER_CLIENT_ID and HAIER_CLIENT_SECRET/);
    // business calls on the misconfigured gateway fail with the same diagnosis
    const err = await rpcFailure(bad.client.getPrices({ productCodes: [codes[0]!] }));
    expect(err.rawMessage).toMatch(/check HAIER_CLIENT_ID and HAIER_CLIENT_SECRET/);
  });

  it('health turns NOT_SERVING when the token has expired and Haier cannot issue another (liveness stays SERVING), SERVING when it can again', async () => {
    const port = await freePort();
    let sim2 = await startSimulator({ quiet: true, port, size: 10, tokenTtlSeconds: 1 });
    const g = await startGateway(sim2.url, { HAIER_TIMEOUT_MS: '500', HAIER_MAX_RETRIES: '0' });
    const h = createGrpcClient(health.Health, { baseUrl: g.server.url });
    try {
      expect((await h.check({})).status).toBe(Status.SERVING);
      await sim2.close();
      await new Promise((r) => setTimeout(r, 1100)); // the 1-second token has expired
      expect((await h.check({})).status).toBe(Status.NOT_SERVING);
      // liveness asks no dependency: Haier being down must not get the gateway restarted
      expect((await h.check({ service: LIVENESS_SERVICE })).status).toBe(Status.SERVING);
      sim2 = await startSimulator({ quiet: true, port, size: 10 });
      expect((await h.check({})).status).toBe(Status.SERVING);
    } finally {
      await g.close();
      await sim2.close();
    }
  });

  it('buf curl calls the gateway with the schema from proto/', async () => {
    const { stdout } = await run(
      join(REPO, 'node_modules/.bin/buf'),
      [
        'curl',
        '--schema',
        PROTO,
        '--protocol',
        'grpc',
        '--http2-prior-knowledge',
        '-d',
        JSON.stringify({ productCodes: codes.slice(0, 2) }),
        `${s.server.url}/haiersync.gateway.v1.HaierGatewayService/GetPrices`,
      ],
      { timeout: 30_000 },
    );
    const out = JSON.parse(stdout) as { prices: Array<{ productCode: string }> };
    expect(out.prices.map((p) => p.productCode)).toEqual(codes.slice(0, 2));
  });
});
