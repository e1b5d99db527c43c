// http-edge entry point: wiring only. Start with
//   node --require @haier-sync/runtime/telemetry dist/main.js
import { ConfigError, createLogger, onShutdown, redact, setShutdownLogger, closeGrpcClients } from '@haier-sync/runtime';
import { startEdge } from './app';

async function main(): Promise<void> {
  const logger = createLogger('http-edge');
  setShutdownLogger(logger);
  try {
    const edge = await startEdge({ env: process.env, logger });
    onShutdown('service clients', () => closeGrpcClients());
    onShutdown('http server and database', () => edge.close());
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
}

main().catch((err: unknown) => {
  // eslint-disable-next-line no-console
  console.error(`http-edge failed to start: ${redact(err instanceof Error ? err.message : String(err))}`);
  process.exit(1);
});
