// pino JSON logs: one line per event with service, level label, ISO UTC time and the
// trace/span id of the active OpenTelemetry span. Secrets are masked twice: by key
// (pino `redact` paths) and by value (every registered secret, in the final line).
import { trace } from '@opentelemetry/api';
import pino from 'pino';
import { REDACTED, redact } from './secrets';

export type Logger = pino.Logger;

/** Keys whose values are always masked, whatever their content. */
export const SECRET_KEYS = [
  'password',
  'passWord',
  'Password',
  'sellerPassword',
  'customerPassword',
  'client_secret',
  'clientSecret',
  'secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'authorization',
  'Authorization',
  'apiKey',
  'api_key',
  'x-api-key',
  'cookie',
];

function pathFor(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
}

/** pino redact paths for SECRET_KEYS at depth 0 to 4. */
export function secretRedactPaths(keys: readonly string[] = SECRET_KEYS, depth = 4): string[] {
  const paths: string[] = [];
  for (const key of keys) {
    const p = pathFor(key);
    for (let d = 0; d <= depth; d++) {
      const prefix = '*.'.repeat(d);
      paths.push(p.startsWith('[') ? (d === 0 ? p : `${prefix.slice(0, -1)}${p}`) : `${prefix}${p}`);
    }
  }
  return paths;
}

export interface LoggerOptions {
  /** Default: LOG_LEVEL from the environment, else "info". */
  level?: string;
  /** Where lines go (default stdout). Tests pass a capturing stream. */
  destination?: pino.DestinationStream;
}

function traceMixin(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const sc = span.spanContext();
  if (!sc || !sc.traceId || /^0+$/.test(sc.traceId)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${(sc.traceFlags ?? 0).toString(16)}`.slice(-2) };
}

/** A JSON logger for one service. */
export function createLogger(service: string, opts: LoggerOptions = {}): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    formatters: { level: (label) => ({ level: label }) },
    mixin: traceMixin,
    redact: { paths: secretRedactPaths(), censor: REDACTED },
    hooks: {
      // The last look at every serialized line: masks registered secret values that hide in
      // messages, error messages and stacks, or any field whose key we did not foresee.
      streamWrite: (line: string) => redact(line),
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
