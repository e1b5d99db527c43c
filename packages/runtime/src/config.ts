// Environment configuration, validated once at start with zod. A bad or missing variable
// stops the process with one message that names every variable, says what was wrong and
// what to do, and never shows the value of a secret.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { isSecretName, registerSecret } from './secrets';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    /** Names of the variables that were wrong. */
    readonly variables: string[],
  ) {
    super(message);
  }
}

const HINT = 'Set it in the environment (see README, Configuration).';
const HINT_MANY = 'Set them in the environment (see README, Configuration).';

function shown(name: string, value: string | undefined): string {
  if (value === undefined) return 'but it is not set';
  if (isSecretName(name)) return 'got (value hidden)';
  const v = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return `got ${JSON.stringify(v)}`;
}

/**
 * Validates `env` (default `process.env`) against a zod object whose keys are variable
 * names, applies defaults, and returns the typed result. Values of variables whose name
 * looks secret (SECRET, PASSWORD, TOKEN, KEY) are registered with `registerSecret()` so
 * they are masked in every log line. Throws `ConfigError` naming every bad variable.
 */
export function loadConfig<S extends z.ZodObject<any>>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  for (const name of Object.keys(schema.shape)) {
    if (isSecretName(name)) registerSecret(env[name]);
  }
  const input: Record<string, string | undefined> = {};
  for (const name of Object.keys(schema.shape)) input[name] = env[name] === '' ? undefined : env[name];
  const result = schema.safeParse(input);
  if (result.success) return result.data as z.infer<S>;

  const byVar = new Map<string, string[]>();
  for (const issue of result.error.issues) {
    const name = String(issue.path[0] ?? '(configuration)');
    const list = byVar.get(name) ?? [];
    let msg = issue.message;
    // zod's own wording for a missing value ("Invalid input: expected string, received undefined")
    // says less to an operator than "is required"; our env helpers already say it themselves.
    if (input[name] === undefined && issue.code !== 'custom') msg = 'is required';
    if (!list.includes(msg)) list.push(msg);
    byVar.set(name, list);
  }
  const parts = [...byVar.entries()].map(([name, msgs]) => `${name}: ${msgs.join(', ')}, ${shown(name, input[name])}`);
  const message = `Invalid configuration: ${parts.join('; ')}. ${parts.length > 1 ? HINT_MANY : HINT}`;
  throw new ConfigError(message, [...byVar.keys()]);
}

// ---------------------------------------------------------------------------------------
// Small zod helpers for environment strings. Each accepts the raw string (or undefined),
// applies the default when unset, and produces a clear "expected ..." message.

type Raw = string | undefined;

function parsed<T>(expected: string, parse: (raw: string) => T | undefined, dflt?: T): z.ZodType<T, Raw> {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      if (raw === undefined || raw.trim() === '') {
        if (dflt !== undefined) return dflt;
        ctx.addIssue({ code: 'custom', message: `is required (${expected})` });
        return z.NEVER;
      }
      const v = parse(raw.trim());
      if (v === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${expected}` });
        return z.NEVER;
      }
      return v;
    }) as unknown as z.ZodType<T, Raw>;
}

function optionalParsed<T>(expected: string, parse: (raw: string) => T | undefined): z.ZodType<T | undefined, Raw> {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      if (raw === undefined || raw.trim() === '') return undefined;
      const v = parse(raw.trim());
      if (v === undefined) {
        ctx.addIssue({ code: 'custom', message: `expected ${expected}` });
        return z.NEVER;
      }
      return v;
    }) as unknown as z.ZodType<T | undefined, Raw>;
}

const intRe = /^[+-]?\d+$/;
function toInt(raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (!intRe.test(raw)) return undefined;
  const n = Number(raw);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
function toDurationMs(raw: string): number | undefined {
  const m = /^(\d+)\s*(ms|s|m|h|d)?$/i.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]) * DURATION_UNITS[(m[2] ?? 's').toLowerCase()]!;
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

export const env = {
  /** A TCP port 0-65535 (0 = any free port). `name` is only used in messages when the key is unknown. */
  port(name: string, dflt: number): z.ZodType<number, Raw> {
    return parsed(`a TCP port number 0-65535${name ? ` for ${name}` : ''}`, (r) => toInt(r, 0, 65535), dflt);
  },
  /** A TCP port 1-65535 that may be unset or empty (then what it would open stays off), e.g. `<SERVICE>_METRICS_PORT`. */
  optionalPort(name: string): z.ZodType<number | undefined, Raw> {
    return optionalParsed(`a TCP port number 1-65535${name ? ` for ${name}` : ''} (or leave it unset to turn it off)`, (r) => toInt(r, 1, 65535));
  },
  /** An integer >= 1. */
  positiveInt(dflt?: number): z.ZodType<number, Raw> {
    return parsed('a positive integer', (r) => toInt(r, 1), dflt);
  },
  /** An integer >= 0. */
  nonNegativeInt(dflt?: number): z.ZodType<number, Raw> {
    return parsed('a non-negative integer', (r) => toInt(r, 0), dflt);
  },
  /** An absolute URL (http, https, postgres, nats, ...); returned as the string given. */
  url(dflt?: string): z.ZodType<string, Raw> {
    return parsed(
      'an absolute URL such as http://host:port',
      (r) => {
        try {
          new URL(r);
          return r;
        } catch {
          return undefined;
        }
      },
      dflt,
    );
  },
  /** A positive duration as milliseconds: `90s`, `5m`, `1h`, `500ms`; a bare number is seconds. */
  durationMs(dflt?: number): z.ZodType<number, Raw> {
    return parsed('a duration such as 90s, 5m, 1h or 7d (a bare number is seconds)', toDurationMs, dflt);
  },
  /** true/false, 1/0, yes/no, on/off (any case). */
  bool(dflt?: boolean): z.ZodType<boolean, Raw> {
    return parsed('true or false', (r) => (TRUE.has(r.toLowerCase()) ? true : FALSE.has(r.toLowerCase()) ? false : undefined), dflt);
  },
  /** Comma-separated list; blanks dropped. */
  csv(dflt?: string[]): z.ZodType<string[], Raw> {
    return parsed('a comma-separated list', (r) => r.split(',').map((s) => s.trim()).filter(Boolean), dflt);
  },
  /** A non-empty string. */
  string(dflt?: string): z.ZodType<string, Raw> {
    return parsed('a non-empty value', (r) => r, dflt);
  },
  /** A string that may be unset. */
  optionalString(): z.ZodType<string | undefined, Raw> {
    return optionalParsed('a value', (r) => r);
  },
  /** One of the given words (exact match). */
  oneOf<const T extends string>(values: readonly T[], dflt?: T): z.ZodType<T, Raw> {
    return parsed(`one of ${values.join(', ')}`, (r) => (values as readonly string[]).includes(r) ? (r as T) : undefined, dflt);
  },
  /** A log level understood by pino. */
  logLevel(dflt = 'info'): z.ZodType<string, Raw> {
    return env.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], dflt as 'info');
  },
};

/** The file a variable names (certificates, keys), or a ConfigError naming the variable, the file, why and `what` it must be. */
export function readFileOf(name: string, file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`Invalid configuration: ${name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); point it at ${what} this process may read.`, [name]);
  }
}
