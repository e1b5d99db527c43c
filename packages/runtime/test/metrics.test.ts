import { gateway } from '@haier-sync/contracts';
import { closeGrpcClients, counterFrom, createGrpcClient, createLogger, createMetricsRegistry, gaugeFrom, notFound, rpcMetricsInterceptor, startGrpcServer, startMetricsServer, type GrpcServer, type MetricsServer } from '../src/index';
import { captureLogs } from '../src/testing';

describe('metrics: RPC RED and the /metrics listener', () => {
  let server: GrpcServer;
  let metrics: MetricsServer;
  const registry = createMetricsRegistry('test-svc');
  const clientRegistry = createMetricsRegistry('test-client');
  const logs = captureLogs();
  let fail = false;

  beforeAll(async () => {
    server = await startGrpcServer({
      service: 'test-svc',
      port: 0,
      host: '127.0.0.1',
      logger: createLogger('test-svc', { level: 'warn', destination: logs.stream }),
      metrics: registry,
      routes: (router) =>
        router.service(gateway.HaierGatewayService, {
          getUsage: () => {
            if (fail) throw notFound('no usage for this test');
            return { totalCalls: 1n };
          },
        }),
    });
    metrics = await startMetricsServer(registry, 0, '127.0.0.1');
  });
  afterAll(async () => {
    closeGrpcClients();
    await metrics.close();
    await server.close(1000);
  });

  it('counts server RPCs by method and code, times them, and serves them with Node defaults on GET /metrics', async () => {
    const client = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url, interceptors: [rpcMetricsInterceptor(clientRegistry, 'client')] });
    await client.getUsage({});
    await client.getUsage({});
    fail = true;
    await expect(client.getUsage({})).rejects.toThrow();
    fail = false;

    const res = await fetch(`http://127.0.0.1:${metrics.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const method = 'haiersync.gateway.v1.HaierGatewayService/GetUsage';
    expect(text).toContain(`rpc_server_requests_total{method="${method}",code="OK",service="test-svc"} 2`);
    expect(text).toContain(`rpc_server_requests_total{method="${method}",code="NOT_FOUND",service="test-svc"} 1`);
    expect(text).toContain(`rpc_server_duration_seconds_count{service="test-svc",method="${method}"} 3`);
    expect(text).toMatch(/process_cpu_user_seconds_total\{service="test-svc"\} \d/);

    const clientText = await clientRegistry.metrics();
    expect(clientText).toContain(`rpc_client_requests_total{method="${method}",code="OK",service="test-client"} 2`);
    expect(clientText).toContain(`rpc_client_requests_total{method="${method}",code="NOT_FOUND",service="test-client"} 1`);
  });

  it('answers 404 with a message for anything but GET /metrics', async () => {
    const res = await fetch(`http://127.0.0.1:${metrics.port}/other`);
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('GET /metrics');
  });
});

describe('metrics read at scrape time', () => {
  it('counterFrom follows a running total kept elsewhere (a total that drops starts the count again); gaugeFrom answers one value or one per label set', async () => {
    const registry = createMetricsRegistry('scrape-svc');
    let total = 0;
    counterFrom(registry, 'things_total', 'things', () => total);
    let rows: Array<{ labels: { state: string }; value: number }> = [{ labels: { state: 'a' }, value: 3 }];
    gaugeFrom(registry, 'things_by_state', 'things by state', async () => rows, ['state'] as const);
    gaugeFrom(registry, 'things_waiting', 'waiting', () => total * 2);
    total = 5;
    let text = await registry.metrics();
    expect(text).toContain('things_total{service="scrape-svc"} 5');
    expect(text).toContain('things_by_state{state="a",service="scrape-svc"} 3');
    expect(text).toContain('things_waiting{service="scrape-svc"} 10');
    total = 7;
    rows = [{ labels: { state: 'b' }, value: 1 }];
    text = await registry.metrics();
    expect(text).toContain('things_total{service="scrape-svc"} 7');
    expect(text).not.toContain('state="a"'); // a label set no longer read is gone
    expect(text).toContain('things_by_state{state="b",service="scrape-svc"} 1');
    total = 2; // its source restarted: 2 more than before, as a counter reset would count
    expect(await registry.metrics()).toContain('things_total{service="scrape-svc"} 9');
  });
});
