// The shared runtime every service uses. Telemetry's side-effect entry point is
// '@haier-sync/runtime/telemetry'; test helpers are in '@haier-sync/runtime/testing'.
export { ConfigError, loadConfig, env } from './config';
export { registerSecret, redact, isSecretName, registerSecretsFromEnv, REDACTED } from './secrets';
export { createLogger, maskSecretKeys, secretRedactPaths, SECRET_KEYS, type Logger, type LoggerOptions } from './logger';
export { startTelemetry, shutdownTelemetry, serviceNameFrom, type TelemetryOptions } from './telemetry-sdk';
export { tracingInterceptor, rpcName, headerGetter, headerSetter } from './rpc-tracing';
export { loggingInterceptor, grpcCodeName } from './rpc-logging';
export { startGrpcServer, type GrpcServer, type GrpcServerOptions } from './grpc-server';
export { createGrpcClient, closeGrpcClients, type GrpcClientOptions } from './grpc-client';
export { LIVENESS_SERVICE } from './health';
export { sleep } from './sleep';
export { enumName, enumNames, enumValue } from './enums';
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
  errorInterceptor,
  FIELD_HEADER,
  type ErrorMapper,
} from './errors';
