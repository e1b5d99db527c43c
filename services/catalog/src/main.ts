// Wiring only: config, logger, migrations, the gRPC server, graceful shutdown.
import { join } from 'node:path';
import { catalog } from '@haier-sync/contracts';
import { createLogger, createMetricsRegistry, grpcListenFromEnv, loadServerAuth, onShutdown, serveMetrics, startGrpcServer } from '@haier-sync/runtime';
import { buildCatalog } from './catalog';
import { loadCatalogConfig } from './config';

async function main(): Promise<void> {
  const config = loadCatalogConfig();
  // who may call which RPC: rpc-policy.json next to src/ and dist/
  const auth = loadServerAuth(join(__dirname, '..', 'rpc-policy.json'), [catalog.CatalogService]);
  const listen = grpcListenFromEnv('CATALOG');
  const logger = createLogger('catalog');
  const metrics = createMetricsRegistry('catalog');
  const cat = await buildCatalog({
    metrics,
    databaseUrl: config.DATABASE_URL,
    logger,
    defaultCounty: config.CATALOG_DEFAULT_COUNTY,
    lowStockBelow: config.SYNC_LOW_STOCK_THRESHOLD,
  });
  const server = await startGrpcServer({ service: 'catalog', port: config.CATALOG_PORT, ...listen, auth, routes: cat.routes, readiness: cat.readiness, errors: cat.errors, connectionLost: cat.connectionLost, logger, metrics });
  const metricsServer = await serveMetrics(metrics, config.CATALOG_METRICS_PORT, logger);
  logger.info({ port: server.port }, 'catalog serving');
  // hooks run in reverse order: stop serving first, then close the database
  onShutdown('catalog database', () => cat.close());
  onShutdown('catalog gRPC server', () => server.close());
  if (metricsServer) onShutdown('metrics server', () => metricsServer.close());
}

main().catch((err: unknown) => {
  // eslint-disable-next-line no-console
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
