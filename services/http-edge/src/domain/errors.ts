// Every failure becomes `{success:false, error:{code, message, field?}}` with a fitting status
// (pure mapping; the Fastify error handler applies it).
import { Code, ConnectError } from '@connectrpc/connect';
import { rules } from '@haier-sync/contracts';
import { FIELD_HEADER, HAIER_BUDGET_HEADER, HAIER_LANE_LIMITS_HEADER, loggableError, redact, type HaierLaneLimits } from '@haier-sync/runtime';

/** The budget a 429 of the Haier call budget ran into (the answer's `error.budget`). */
export interface BudgetRefusal {
  /** key: the API key's per-minute budget (call-budget.ts); lane: the gateway's interactive lane. */
  scope: 'key' | 'lane';
  /** The lane, or the key's role. */
  lane: string;
  limit: number;
  window_s: number;
  in_use: number;
  cost: number;
  retry_after_s: number;
}

export interface ErrorBody {
  success: false;
  error: { code: string; message: string; field?: string; run_id?: string; budget?: BudgetRefusal };
}

export class EdgeError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly extra: { retryAfter?: number; runId?: string; budget?: BudgetRefusal } = {},
  ) {
    super(message);
  }
}

export interface MappedError {
  status: number;
  body: ErrorBody;
  retryAfter?: number;
}

export function body(code: string, message: string, field?: string, runId?: string, budget?: BudgetRefusal): ErrorBody {
  const error: ErrorBody['error'] = { code, message: redact(message) };
  if (field) error.field = field;
  if (runId) error.run_id = runId;
  if (budget) error.budget = budget;
  return { success: false, error };
}

/** The lane's limits a gateway `lane-full` answer carries (HAIER_LANE_LIMITS_HEADER), as the 429's `error.budget`. */
function laneRefusal(e: ConnectError, retryAfter: number): BudgetRefusal | undefined {
  try {
    const l = JSON.parse(e.metadata.get(HAIER_LANE_LIMITS_HEADER) ?? '') as Partial<HaierLaneLimits>;
    if (typeof l.lane !== 'string' || typeof l.cap_per_second !== 'number') return undefined;
    return { scope: 'lane', lane: l.lane, limit: l.cap_per_second, window_s: 1, in_use: Number(l.in_use) || 0, cost: Number(l.cost) || 0, retry_after_s: retryAfter };
  } catch {
    return undefined;
  }
}

export const badRequest = (field: string, message: string) => new EdgeError(400, 'INVALID_ARGUMENT', `${field}: ${message}`, field);

/** Which service answered; only used to word the message. */
export type Upstream = 'gateway' | 'catalog' | 'sync';
const LABEL: Record<Upstream, string> = {
  gateway: 'The Haier gateway service',
  catalog: 'The catalog service',
  sync: 'The sync orchestrator',
};

function retryAfterFrom(e: ConnectError): number {
  const v = e.metadata.get('retry-after');
  const n = v ? Number.parseInt(v, 10) : NaN;
  return Number.isFinite(n) && n > 0 && n < 3600 ? n : 1;
}

export function mapConnectError(e: ConnectError, from: Upstream): MappedError {
  const raw = e.rawMessage;
  switch (e.code) {
    case Code.InvalidArgument: {
      const field = e.metadata.get(FIELD_HEADER) ?? undefined;
      return { status: 400, body: body('INVALID_ARGUMENT', raw, field) };
    }
    case Code.NotFound:
      return { status: 404, body: body('NOT_FOUND', raw) };
    case Code.AlreadyExists:
      return { status: 409, body: body('ALREADY_EXISTS', raw) };
    case Code.FailedPrecondition:
      return { status: 409, body: body('FAILED_PRECONDITION', raw) };
    case Code.Unauthenticated:
      // our services do not authenticate each other: this is Haier rejecting OUR credentials
      return { status: 502, body: body('UPSTREAM_UNAUTHENTICATED', `Haier rejected the configured credentials: ${raw}. Check the client id/secret of the active Haier config.`) };
    case Code.PermissionDenied:
      return { status: 502, body: body('UPSTREAM_FORBIDDEN', `Haier refused the call: ${raw}. Check the account's permissions and IP allow-list with Haier.`) };
    case Code.Unavailable:
      return { status: 503, body: body('UNAVAILABLE', `${LABEL[from]} is unavailable: ${raw}. Try again shortly; if it persists, check that it is running.`) };
    case Code.DeadlineExceeded:
      return { status: 504, body: body('TIMEOUT', `${LABEL[from]} did not answer in time: ${raw}. Try again later.`) };
    case Code.ResourceExhausted: {
      const retryAfter = retryAfterFrom(e);
      // the interactive lane of the gateway's call budget is full: this caller asked too much now
      if (e.metadata.get(HAIER_BUDGET_HEADER) === 'lane-full')
        return { status: 429, body: body('LANE_FULL', `Live lookups are using their whole share of the Haier call budget: ${raw}. Retry after ${retryAfter} s, or ask for fewer product codes.`, undefined, undefined, laneRefusal(e, retryAfter)), retryAfter };
      return { status: 503, body: body('RATE_LIMITED_UPSTREAM', `The Haier call budget is exhausted: ${raw}. Retry after ${retryAfter} s.`), retryAfter };
    }
    case Code.Canceled:
      return { status: 499, body: body('CANCELLED', raw) };
    default:
      return { status: 502, body: body('UPSTREAM_ERROR', `${LABEL[from]} failed: ${raw}. Try again; if it persists, see that service's log.`) };
  }
}

interface ValidationItem {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
  /** With ajv's `verbose` option: the schema that failed and the value. */
  parentSchema?: { pattern?: string; description?: string };
  data?: unknown;
}

/** The field a JSON-schema validation error is about (`limit`, `scope.product_codes[3]`, ...), named as the gRPC services name it. */
export function fieldOf(v: ValidationItem): string {
  let p = (v.instancePath ?? '')
    .split('/')
    .slice(1)
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
  const extra = (v.params?.missingProperty ?? v.params?.additionalProperty) as string | undefined;
  if (extra) p = p ? `${p}.${extra}` : extra;
  return p || '(body)';
}

export function mapValidationError(validation: ValidationItem[], context?: string): MappedError {
  const first = validation[0] ?? {};
  const field = fieldOf(first);
  let why = first.message ?? 'is not valid';
  const value = typeof first.data === 'string' ? `${rules.shown(first.data)} ` : '';
  // a schema derived from the rulebook: the rulebook's own words, as the gRPC services say them
  const rule = rules.textRuleOf(first.parentSchema);
  if (rule && typeof first.data === 'string') why = rules.checkText(rule, first.data) ?? why;
  // another pattern: what the schema says a good value is, never the regular expression
  else if (first.keyword === 'pattern' && first.parentSchema?.description) why = `${value}is not valid: ${first.parentSchema.description}`;
  const allowed = first.params?.allowedValues;
  if (first.keyword === 'enum' && Array.isArray(allowed)) {
    const names = allowed.map(String).filter((a, i, all) => all.findIndex((b) => b.toLowerCase() === a.toLowerCase()) === i);
    why = `${value}is not one of ${names.join(', ')}${names.length < allowed.length ? ' (any case)' : ''}`;
  }
  if (first.keyword === 'required') why = 'is required';
  if (first.keyword === 'additionalProperties') why = 'is not a known parameter';
  const where = context === 'querystring' ? 'query parameter' : context === 'params' ? 'path parameter' : context === 'headers' ? 'header' : 'field';
  return { status: 400, body: body('INVALID_ARGUMENT', `${where} ${field} ${why}`, field) };
}

const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_CONTENT_LENGTH',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
};

const FASTIFY_MESSAGES: Record<string, string> = {
  PAYLOAD_TOO_LARGE: 'The request body is larger than the 64 KiB limit; send less data per request.',
  UNSUPPORTED_MEDIA_TYPE: 'Send the body as application/json.',
  INVALID_JSON: 'The request body is not valid JSON (or is empty while Content-Type says JSON).',
};

/** Any thrown value → status and body. Client faults stay 4xx; only our own bugs are 500. */
export function mapError(err: unknown, from: Upstream = 'gateway'): MappedError {
  if (err instanceof EdgeError) {
    const m: MappedError = { status: err.statusCode, body: body(err.code, err.message, err.field, err.extra.runId, err.extra.budget) };
    if (err.extra.retryAfter) m.retryAfter = err.extra.retryAfter;
    return m;
  }
  if (err instanceof ConnectError) return mapConnectError(err, from);
  const e = err as { validation?: ValidationItem[]; validationContext?: string; statusCode?: number; code?: string; message?: string };
  if (e && Array.isArray(e.validation)) return mapValidationError(e.validation, e.validationContext);
  if (e && typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = (e.code && FASTIFY_CODES[e.code]) ?? (e.statusCode === 404 ? 'NOT_FOUND' : 'BAD_REQUEST');
    const message = FASTIFY_MESSAGES[code] ?? (e.message || 'The request could not be understood.');
    return { status: e.statusCode, body: body(code, message) };
  }
  if (e instanceof SyntaxError) return { status: 400, body: body('INVALID_JSON', FASTIFY_MESSAGES.INVALID_JSON as string) };
  return { status: 500, body: body('INTERNAL', 'The edge failed unexpectedly; the error is in its log. Please report it.') };
}


/** What a 5xx log line may say about a failure (the runtime's one rule: never SQL text or request values). */
export { loggableError };
