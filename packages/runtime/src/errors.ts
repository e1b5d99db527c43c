// Shared mapping of domain failures to ConnectError (gRPC status codes). Messages pass
// through redact() so a secret can never reach a client in an error.
import { Code, ConnectError } from '@connectrpc/connect';
import { redact } from './secrets';

/** Response metadata key naming the offending request field of an INVALID_ARGUMENT. */
export const FIELD_HEADER = 'x-invalid-field';

/**
 * Response metadata key set by the haier-gateway when an error is Haier's own unavailability
 * (5xx, timeouts, throttling or a connection fault, after the gateway's retries): its value is
 * the upstream (`haier`). Callers tell "Haier is down" from "the gateway is down" by it.
 */
export const UPSTREAM_FAULT_HEADER = 'x-upstream-fault';

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
/** A budget or quota is exhausted; the caller should back off. */
export function resourceExhausted(message: string): ConnectError {
  return err(Code.ResourceExhausted, message);
}
export function deadlineExceeded(message: string): ConnectError {
  return err(Code.DeadlineExceeded, message);
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

export { Code, ConnectError };
