// The shared runtime every service uses. Telemetry's side-effect entry point is
// '@haier-sync/runtime/telemetry'; test helpers are in '@haier-sync/runtime/testing'; the ORM
// set-up and the migration step in '@haier-sync/runtime/orm'.
export { ConfigError, loadConfig, env } from './config';
export { registerSecret, redact, isSecretName, maskSecretSettings, registerSecretsFromEnv, REDACTED, SETTINGS_MASK } from './secrets';
export { unstorable, storable, unstorableField } from './storable';
export { createLogger, maskSecretKeys, type Logger, type LoggerOptions } from './logger';
export { startGrpcServer, grpcListenFromEnv, type GrpcServer, type GrpcServerOptions, type GrpcServerTls } from './grpc-server';
export { createGrpcClient, closeGrpcClients, grpcClientTlsFromEnv, type GrpcClientOptions, type GrpcClientTls } from './grpc-client';
export {
  CALLERS,
  PRIVATE_KEY_FILE_VAR,
  TRUSTED_KEYS_DIR_VAR,
  authInterceptor,
  ensureServiceKeys,
  loadRpcPolicy,
  loadServerAuth,
  loadServiceCredentials,
  loadTrustedCallers,
  rpcPolicy,
  serviceCredentials,
  signingInterceptor,
  trustedCallers,
  type RpcPolicy,
  type ServerAuth,
  type ServiceCredentials,
  type ServiceKeyFiles,
  type TrustedCallers,
} from './service-auth';
export { LIVENESS_SERVICE } from './health';
export { sleep } from './sleep';
export { activeTraceparent, contextOfTraceparent, distinctLinks, spanContextOf, traceparentOf, untraced } from './trace-context';
export { createMetricsRegistry, rpcMetricsInterceptor, startMetricsServer, serveMetrics, counterFrom, gaugeFrom, Counter, Gauge, Histogram, Registry, type MetricsServer } from './metrics';
export { enumName, enumNames, enumValue } from './enums';
export { onShutdown, setShutdownLogger, type ShutdownOptions } from './shutdown';
export {
  invalidArgument,
  notFound,
  alreadyExists,
  failedPrecondition,
  permissionDenied,
  unauthenticated,
  unavailable,
  internal,
  toConnectError,
  loggableError,
  FIELD_HEADER,
  UPSTREAM_FAULT_HEADER,
  HAIER_LANE_HEADER,
  HAIER_BUDGET_HEADER,
  HAIER_LANE_LIMITS_HEADER,
  type HaierLane,
  type HaierLaneLimits,
  type ErrorMapper,
} from './errors';
