// The shared runtime every service uses. Telemetry's side-effect entry point is
// '@haier-sync/runtime/telemetry'; test helpers are in '@haier-sync/runtime/testing'.
export { ConfigError, loadConfig, env } from './config';
export { registerSecret, redact, isSecretName, registerSecretsFromEnv, REDACTED } from './secrets';
export { createLogger, maskSecretKeys, secretRedactPaths, SECRET_KEYS, type Logger, type LoggerOptions } from './logger';
export { startTelemetry, shutdownTelemetry, serviceNameFrom, type TelemetryOptions } from './telemetry-sdk';
export { tracingInterceptor, rpcName, headerGetter, headerSetter } from './rpc-tracing';
export { loggingInterceptor, grpcCodeName } from './rpc-logging';
export { validationInterceptor } from './validation';
export { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './grpc-server';
export { createGrpcClient, closeGrpcClients, type GrpcClientOptions } from './grpc-client';
export { onShutdown, runShutdown, setShutdownLogger, type ShutdownOptions } from './shutdown';
export {
  invalidArgument,
  notFound,
  alreadyExists,
  failedPrecondition,
  permissionDenied,
  unauthenticated,
  unavailable,
  resourceExhausted,
  deadlineExceeded,
  internal,
  toConnectError,
  FIELD_HEADER,
  UPSTREAM_FAULT_HEADER,
} from './errors';
