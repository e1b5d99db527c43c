// Upstream faults and how they reach the gateway's callers: each becomes a ConnectError whose
// code fits and whose message says, in an operator's words, what happened and what to do.
// Messages never carry a secret (they are built from status codes, paths and Haier's own
// description, which is passed through the runtime's redact()).
import { Code, ConnectError } from '@connectrpc/connect';

export type UpstreamFault =
  | { kind: 'http'; status: number; retryAfterMs?: number; detail?: string }
  | { kind: 'timeout'; timeoutMs: number }
  | { kind: 'network'; code: string; origin: string }
  | { kind: 'business'; code: string; message: string }
  | { kind: 'bad-body'; detail: string }
  | { kind: 'token-rejected'; status: number; detail?: string }
  | { kind: 'token-missing' };

/** A failed upstream call (after whatever retries applied). */
export class UpstreamError extends Error {
  /** Retries made before giving up (0 when the fault is not retried). */
  retries = 0;
  constructor(
    readonly fault: UpstreamFault,
    /** A short name of the endpoint, e.g. "prices" or "token". */
    readonly endpoint: string,
  ) {
    super(`${endpoint}: ${fault.kind}${'status' in fault ? ` ${fault.status}` : ''}`);
    this.name = 'UpstreamError';
  }
}

/** The caller of an upstream call went away (its RPC was cancelled): the call was not made, or was cut off. */
export class CallAbandoned extends Error {
  constructor(readonly endpoint: string) {
    super(`the caller cancelled the request, so the call to Haier (${endpoint}) was not made or was cut off`);
    this.name = 'CallAbandoned';
  }
}

/**
 * Whether a failure (as the code a caller sees) is about the item asked for: Haier rejected that
 * request (HTTP 400, a business error) or its record cannot be read. Anything else (Haier or
 * the gateway unavailable, throttled, the account refused) is not the item's fault.
 */
export function isAboutTheItem(code: Code): boolean {
  return code === Code.InvalidArgument || code === Code.FailedPrecondition || code === Code.DataLoss;
}

/** Faults worth another attempt with back-off: throttling, server faults, timeouts, connection faults. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof UpstreamError)) return false;
  const f = err.fault;
  if (f.kind === 'http') return f.status === 429 || f.status === 500 || f.status === 502 || f.status === 503 || f.status === 504;
  if (f.kind === 'token-rejected') return f.status === 429 || f.status >= 500;
  return f.kind === 'timeout' || f.kind === 'network';
}

export interface ErrorContext {
  /** The environment variable holding this endpoint's password, for business-error hints. */
  passwordVar?: string;
  maxRetries: number;
  /** What holds the client credentials, for token hints (default the gateway's own variables). */
  credentials?: { client: string; tokenUrl: string };
}

function afterRetries(n: number): string {
  return n > 0 ? ` after ${n} ${n === 1 ? 'retry' : 'retries'}` : '';
}

function withDetail(detail: string | undefined): string {
  return detail ? `: ${detail}` : '';
}

const PASSWORDISH = /password|passwd|密码|口令/i;

/** The ConnectError a caller sees for an upstream fault. */
export function toConnectError(err: UpstreamError, ctx: ErrorContext): ConnectError {
  const f = err.fault;
  const tries = afterRetries(err.retries);
  switch (f.kind) {
    case 'token-rejected':
      if (f.status === 401 || f.status === 400 || f.status === 403)
        return new ConnectError(
          `Haier rejected the client credentials (HTTP ${f.status} from the token endpoint${tries}): check ${ctx.credentials?.client ?? 'HAIER_CLIENT_ID and HAIER_CLIENT_SECRET'} (and ${ctx.credentials?.tokenUrl ?? 'HAIER_TOKEN_URL'})`,
          Code.Unauthenticated,
        );
      return new ConnectError(`Haier's token endpoint failed (HTTP ${f.status}${tries}): try again later`, Code.Unavailable);
    case 'token-missing':
      return new ConnectError(
        `Haier answered the token request without a token (no access_token, token, data.access_token or data.token): check ${ctx.credentials?.tokenUrl ?? 'HAIER_TOKEN_URL'}`,
        Code.Unavailable,
      );
    case 'http':
      switch (f.status) {
        case 400:
          return new ConnectError(`Haier rejected the request as invalid (HTTP 400 from ${err.endpoint}${withDetail(f.detail)}): check the codes and parameters sent`, Code.InvalidArgument);
        case 401:
          return new ConnectError(
            `Haier rejected the access token (HTTP 401 from ${err.endpoint} even after fetching a fresh token): check that the client HAIER_CLIENT_ID may call this API`,
            Code.Unauthenticated,
          );
        case 403:
          return new ConnectError(`Haier refused the call (HTTP 403 from ${err.endpoint}): the account lacks permission or this server's IP is not allow-listed`, Code.PermissionDenied);
        case 404:
          return new ConnectError(`Haier has no such endpoint (HTTP 404 for ${err.endpoint}): check HAIER_BASE_URL`, Code.FailedPrecondition);
        case 429:
          return new ConnectError(`Haier throttled the call (HTTP 429 from ${err.endpoint}${tries}): lower HAIER_RATE_LIMIT or try again later`, Code.ResourceExhausted);
        default:
          if (f.status >= 500)
            return new ConnectError(`Haier is unavailable (HTTP ${f.status} from ${err.endpoint}${tries}): try again later`, Code.Unavailable);
          return new ConnectError(`Haier answered HTTP ${f.status} from ${err.endpoint}${withDetail(f.detail)}: check HAIER_BASE_URL and the request`, Code.Unknown);
      }
    case 'timeout':
      return new ConnectError(
        `Haier did not answer within ${f.timeoutMs} ms (${err.endpoint}${tries}): try again later, or raise HAIER_TIMEOUT_MS if Haier is slow`,
        Code.DeadlineExceeded,
      );
    case 'network':
      return new ConnectError(`Could not reach Haier at ${f.origin} (${f.code} on ${err.endpoint}${tries}): check HAIER_BASE_URL and the network`, Code.Unavailable);
    case 'business': {
      const hint = PASSWORDISH.test(f.message) && ctx.passwordVar ? `check ${ctx.passwordVar}` : 'check the account settings (HAIER_CUSTOMER_CODE, HAIER_SEND_TO_CODE, passwords) and the request';
      return new ConnectError(`Haier refused the call (${err.endpoint}, business error${f.code ? ` ${f.code}` : ''}: ${f.message || 'no description'}): ${hint}`, Code.FailedPrecondition);
    }
    case 'bad-body':
      return new ConnectError(`Haier answered ${err.endpoint} with a body the gateway cannot read (${f.detail}): try again later; if it persists, report it to Haier`, Code.Unavailable);
  }
}
