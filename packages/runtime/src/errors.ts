// Domain failures as ConnectErrors (gRPC status codes), in one place: constructors for the
// codes, and the one server interceptor (`errorInterceptor`, installed by startGrpcServer)
// that turns whatever a handler throws into the status its caller sees: a service names its
// own domain errors in an ErrorMapper; anything else is logged and answered INTERNAL without
// internals. Messages pass through redact() so a secret can never reach a client in an error.
import type { DescMethod } from '@bufbuild/protobuf';
import { Code, ConnectError, type Interceptor, type StreamRequest, type UnaryRequest } from '@connectrpc/connect';
import type { Logger } from './logger';
import { rpcName } from './rpc-tracing';
import { redact } from './secrets';

/** Response metadata key naming the offending request field of an INVALID_ARGUMENT. */
export const FIELD_HEADER = 'x-invalid-field';

/**
 * Response metadata key set by the haier-gateway when an error is Haier's own unavailability
 * (5xx, timeouts, throttling or a connection fault, after the gateway's retries): its value is
 * the upstream (`haier`). Callers tell "Haier is down" from "the gateway is down" by it.
 */
export const UPSTREAM_FAULT_HEADER = 'x-upstream-fault';

/**
 * Request metadata key naming the lane of the Haier call budget a request to the haier-gateway
 * spends from: `interactive` (live lookups, per-product actions, a config's test), `scheduled`
 * (incremental and scheduled runs; the default), `bulk` (FULL runs). README, "The call budget".
 */
export const HAIER_LANE_HEADER = 'x-haier-lane';
/**
 * Response metadata key on the haier-gateway's RESOURCE_EXHAUSTED answers that are about the call
 * budget rather than Haier: `lane-full` = the request's lane could not start its calls within the
 * bound (HAIER_INTERACTIVE_MAX_WAIT_MS); `retry-after` says when to try again.
 */
export const HAIER_BUDGET_HEADER = 'x-haier-budget';
/**
 * Response metadata key on a `lane-full` answer: the lane's limits as JSON, `{"lane", "cap_per_second",
 * "in_use", "cost"}` (its cap, the calls it holds or has admitted, this request's calls), so the
 * caller can show them.
 */
export const HAIER_LANE_LIMITS_HEADER = 'x-haier-lane-limits';
/** The limits a `lane-full` answer carries (HAIER_LANE_LIMITS_HEADER). */
export interface HaierLaneLimits {
  lane: HaierLane;
  cap_per_second: number;
  in_use: number;
  cost: number;
}
export type HaierLane = 'interactive' | 'scheduled' | 'bulk';

function err(code: Code, message: string, metadata?: Record<string, string>): ConnectError {
  return new ConnectError(redact(message), code, metadata);
}

/** The request is wrong; `field` names the offending field (also sent as `x-invalid-field` metadata). */
export function invalidArgument(message: string, field?: string): ConnectError {
  return err(Code.InvalidArgument, field ? `${field}: ${message}` : message, field ? { [FIELD_HEADER]: field } : undefined);
}
export function notFound(message: string): ConnectError {
  return err(Code.NotFound, message);
}
export function alreadyExists(message: string): ConnectError {
  return err(Code.AlreadyExists, message);
}
/** The system is not in a state that allows the call (e.g. a run is already active). */
export function failedPrecondition(message: string): ConnectError {
  return err(Code.FailedPrecondition, message);
}
export function permissionDenied(message: string): ConnectError {
  return err(Code.PermissionDenied, message);
}
export function unauthenticated(message: string): ConnectError {
  return err(Code.Unauthenticated, message);
}
/** A dependency (upstream, database, broker) is unreachable; the caller may retry. */
export function unavailable(message: string): ConnectError {
  return err(Code.Unavailable, message);
}
export function internal(message: string): ConnectError {
  return err(Code.Internal, message);
}

/** Any thrown value as a ConnectError with a redacted message (unknown errors become INTERNAL). */
export function toConnectError(e: unknown): ConnectError {
  if (e instanceof ConnectError) {
    const m = redact(e.rawMessage);
    return m === e.rawMessage ? e : new ConnectError(m, e.code, e.metadata, undefined, e.cause);
  }
  const ce = ConnectError.from(e, Code.Internal);
  return new ConnectError(redact(ce.rawMessage), ce.code, ce.metadata, undefined, e);
}

/**
 * What a log line may say about a failure: its type, code and message (redacted, bounded) and
 * the stack frames. A database error's message is replaced by its SQLSTATE: drivers put the
 * failing statement (and with it request values, e.g. a config's settings) in the message, and
 * no SQL text or parameter value belongs in a log line. Every service logs unexpected errors
 * through this (answerFor below; the edge's 5xx).
 */
export function loggableError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: redact(String(err)).slice(0, 500) };
  const e = err as Error & { code?: unknown; sqlState?: unknown; query?: unknown; sql?: unknown };
  const sqlState = typeof e.sqlState === 'string' ? e.sqlState : undefined;
  const fromDatabase = sqlState !== undefined || e.query !== undefined || e.sql !== undefined || /^(Driver|Database|Query|Syntax|Constraint|\w*Violation)\w*Exception$/.test(e.name);
  const message = fromDatabase
    ? `a database statement failed${sqlState ? ` (SQLSTATE ${sqlState})` : ''}; the statement and its values are not logged`
    : redact(err instanceof ConnectError ? err.rawMessage : err.message).slice(0, 500);
  const frames = (err.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 15).join('\n');
  const out: Record<string, unknown> = { type: err.name, message, stack: frames };
  if (err instanceof ConnectError) out.code = Code[err.code];
  else if (typeof e.code === 'string' || typeof e.code === 'number') out.code = e.code;
  return out;
}

/** A service's domain errors as ConnectErrors: answers the ones it knows, undefined for the rest. */
export type ErrorMapper = (err: unknown, method: DescMethod) => ConnectError | undefined;

export interface ErrorInterceptorOptions {
  /** The service's name, for the INTERNAL answer and the log ("catalog", "haier-gateway"). */
  service: string;
  logger: Logger;
  /** The service's own errors (checked after ConnectErrors, which pass through redacted). */
  map?: ErrorMapper;
  /**
   * The answer (UNAVAILABLE) when a connection to a dependency is refused or lost (ECONNREFUSED,
   * Postgres' admin shutdown, …), e.g. "the catalog database is unreachable; check DATABASE_URL …".
   * Unset: such errors are unexpected (INTERNAL).
   */
  connectionLost?: string;
}

/** Node's, HTTP/2's and Postgres' codes for a connection refused, reset, unresolvable or closed by the server. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EPIPE',
  'ERR_HTTP2_GOAWAY_SESSION', 'ERR_HTTP2_SESSION_ERROR',
  '57P01', '57P02', '57P03', '08000', '08003', '08006', '3D000',
]);

/** The code of a lost or refused connection in `e` or its causes, if that is what it is. */
export function connectionCode(e: unknown): string | undefined {
  for (let c: unknown = e, depth = 0; c && depth < 8; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECTION_CODES.has(code)) return code;
  }
  return undefined;
}

/** An interceptor replacing what a call throws by `map(err, req)`: unary calls and streams, also mid-stream. */
export function mapErrors(map: (err: unknown, req: UnaryRequest | StreamRequest) => unknown): Interceptor {
  return (next) => async (req) => {
    let res;
    try {
      res = await next(req);
    } catch (err) {
      throw map(err, req);
    }
    if (!res.stream) return res;
    const src = res.message;
    async function* mapped() {
      try {
        yield* src;
      } catch (err) {
        throw map(err, req);
      }
    }
    return { ...res, message: mapped() };
  };
}

/** Whatever a handler threw, as the ConnectError its caller sees (logging the unexpected). */
export function answerFor(err: unknown, method: DescMethod, opts: ErrorInterceptorOptions): ConnectError {
  if (err instanceof ConnectError) return toConnectError(err);
  const mapped = opts.map?.(err, method);
  if (mapped) return toConnectError(mapped);
  // a call the client cancelled (or whose deadline passed) is not the service's fault
  if (ConnectError.from(err).code === Code.Canceled) return toConnectError(err);
  const rpc = rpcName({ service: method.parent, method });
  if (opts.connectionLost && connectionCode(err) !== undefined) {
    opts.logger.error({ err: loggableError(err), rpc }, `${rpc}: a dependency is unreachable`);
    return unavailable(opts.connectionLost);
  }
  opts.logger.error({ err: loggableError(err), rpc }, `${rpc} failed unexpectedly`);
  return internal(`${opts.service} ${method.name} failed unexpectedly; see the ${opts.service} service log`);
}

/** The server interceptor applying answerFor to every call (startGrpcServer installs it). */
export function errorInterceptor(opts: ErrorInterceptorOptions): Interceptor {
  return mapErrors((err, req) => answerFor(err, req.method, opts));
}

export { Code, ConnectError };
