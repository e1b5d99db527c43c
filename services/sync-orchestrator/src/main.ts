// sync-orchestrator entry point: wiring only. Start with
//   node --require @haier-sync/runtime/telemetry dist/main.js
import { closeGrpcClients, ConfigError, createLogger, onShutdown, redact, setShutdownLogger } from '@haier-sync/runtime';
import { startOrchestrator } from './app';

async function main(): Promise<void> {
  const logger = createLogger('sync-orchestrator');
  setShutdownLogger(logger);
  let app;
  try {
    app = await startOrchestrator({ env: process.env, logger });
  } catch (err) {
    if (err instanceof ConfigError) {
      logger.fatal(err.message);
      process.exit(2);
    }
    throw err;
  }
  const orchestrator = app;
  onShutdown('grpc clients', () => closeGrpcClients());
  onShutdown('sync-orchestrator', () => orchestrator.close(), { timeoutMs: 30_000 });
}

main().catch((err: unknown) => {
  // eslint-disable-next-line no-console
  console.error(`sync-orchestrator failed to start: ${redact(err instanceof Error ? err.message : String(err))}`);
  process.exit(1);
});
