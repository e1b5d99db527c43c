// Loaded FIRST, before the app, so instrumentations patch pg/undici before they are
// required:  node --require @haier-sync/runtime/telemetry dist/main.js
// Starts tracing as a side effect and flushes it when the process ends.
import { onShutdown } from './shutdown';
import { shutdownTelemetry, startTelemetry } from './telemetry-sdk';

startTelemetry();
// Registered first, so it runs last: spans of the other shutdown steps are exported too.
onShutdown('telemetry', shutdownTelemetry);
process.once('beforeExit', () => {
  void shutdownTelemetry();
});
