// haier-gateway entry point: wiring only. Start with
//   node --require @haier-sync/runtime/telemetry dist/main.js
import { join } from 'node:path';
import { gateway } from '@haier-sync/contracts';
import { createLogger, createMetricsRegistry, grpcListenFromEnv, loadServerAuth, onShutdown, redact, serveMetrics, setShutdownLogger, startGrpcServer, ConfigError, type ServerAuth } from '@haier-sync/runtime';
import { loadGatewayConfig } from './config';
import { buildGateway } from './gateway';

async function main(): Promise<void> {
  const logger = createLogger('haier-gateway');
  setShutdownLogger(logger);
  let config;
  let auth: ServerAuth;
  let listen;
  try {
    config = loadGatewayConfig();
    // who may call which RPC: rpc-policy.json next to src/ and dist/
    auth = loadServerAuth(join(__dirname, '..', 'rpc-policy.json'), [gateway.HaierGatewayService]);
    listen = grpcListenFromEnv('GATEWAY');
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  const metrics = createMetricsRegistry('haier-gateway');
  const gw = buildGateway(config, logger, { metrics });
  const server = await startGrpcServer({
    service: 'haier-gateway',
    port: config.GATEWAY_PORT,
    ...listen,
    auth,
    routes: (router) => gw.routes(router),
    readiness: () => gw.readiness(),
    errors: gw.errors,
    logger,
    metrics,
  });
  const metricsServer = await serveMetrics(metrics, config.GATEWAY_METRICS_PORT, logger);
  if (metricsServer) onShutdown('metrics server', () => metricsServer.close());
  onShutdown('grpc server', () => server.close());
  onShutdown('upstream client', () => gw.close());
  logger.info(
    { port: server.port, upstream: config.HAIER_BASE_URL, rateLimit: config.HAIER_RATE_LIMIT, maxConcurrency: config.HAIER_MAX_CONCURRENCY },
    'haier-gateway listening',
  );
}

main().catch((err: unknown) => {
  // eslint-disable-next-line no-console
  console.error(`haier-gateway failed to start: ${redact(err instanceof Error ? err.message : String(err))}`);
  process.exit(1);
});
