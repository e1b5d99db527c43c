// The one place that knows which values are secret. Anything that leaves the process
// as text (log lines, error messages, span events, API answers) can pass through
// `redact()`, which masks every registered secret value.

export const REDACTED = '[REDACTED]';

/** Words that make a name (env variable, JSON key, header, field) hold a secret. */
export const SECRET_NAME = /pass(word|wd)?|pwd|secret|token|private[-_]?key|api[-_]?key|access[-_]?key|credential|authorization|cookie/i;
/** A name that ends in the word "key" (ADMIN_KEY, x-api-key, signingKey) holds a secret too. */
const KEY_WORD = /(^|[-_.])keys?$/i;
const CAMEL_KEY = /[a-z0-9]Keys?$/;
const AUTH_WORD = /(^|[-_.])auth$/i;
/** Suffixes that make such a name harmless: a reference to a variable, an address, a duration, ... */
const SAFE_SUFFIX =
  /([-_](env|url|uri|endpoint|path|ttl|type|seconds|secs|ms|header|expiry|lifetime))$|(Env|Url|Uri|Endpoint|Path|Ttl|Type|Seconds|Ms|Header|Expiry|Lifetime)$/i;
const REFERENCE_SUFFIX = /([-_]env|Env)$/;
const VARIABLE_NAME = /^[A-Z_][A-Z0-9_]*$/;

const secrets = new Set<string>();
// Longest first, so a secret that contains another is masked whole.
let ordered: string[] = [];

function jsonEscaped(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

/**
 * Registers a secret value: from now on `redact()` (and so every log line) masks it.
 * Empty values are ignored. The JSON-escaped form is registered too, so a secret holding
 * quotes or backslashes is also masked inside a serialized JSON log line.
 */
export function registerSecret(value: string | undefined | null): void {
  if (value === undefined || value === null) return;
  if (value.trim() === '') return;
  const before = secrets.size;
  secrets.add(value);
  const escaped = jsonEscaped(value);
  if (escaped !== value) secrets.add(escaped);
  if (secrets.size !== before) ordered = [...secrets].sort((a, b) => b.length - a.length);
}

/** Masks every registered secret value in `text` with "[REDACTED]". */
export function redact(text: string): string {
  if (ordered.length === 0 || !text) return text;
  let out = text;
  for (const s of ordered) {
    if (out.includes(s)) out = out.split(s).join(REDACTED);
  }
  return out;
}

const verdicts = new Map<string, boolean>();

/**
 * The one secret-name rule: true when a value under this name (environment variable, JSON or
 * settings key, request field, header) must never be shown — used by the logs, the edge's
 * audit, the configs' validation and masking, and the gateway. Names that only point at a
 * secret (`password_env`, `token_url`, `token_ttl_seconds`) are not secret.
 */
export function isSecretName(name: string): boolean {
  const known = verdicts.get(name);
  if (known !== undefined) return known;
  const secret =
    (SECRET_NAME.test(name) || KEY_WORD.test(name) || CAMEL_KEY.test(name) || AUTH_WORD.test(name)) && !SAFE_SUFFIX.test(name);
  if (verdicts.size < 10_000) verdicts.set(name, secret);
  return secret;
}

function urlWithCredentials(v: string): boolean {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) return false;
  try {
    const u = new URL(v);
    return u.username !== '' || u.password !== '' || /token|secret|key|pass/i.test(u.search);
  } catch {
    return false;
  }
}

/**
 * A copy of a settings document fit to answer (REST and gRPC alike): every non-empty value
 * under a secret name is masked, so is a `*_env` value that is not a variable name and any URL
 * that carries credentials; references (`password_env: "HAIER_PASSWORD"`) stay.
 */
export function maskSecretSettings<T>(value: T, mask = SETTINGS_MASK, depth = 0): T {
  const walk = (v: unknown, key: string, d: number): unknown => {
    if (v === null || v === undefined) return v ?? null;
    if (Array.isArray(v)) return d > 8 ? [] : v.map((x) => walk(x, key, d + 1));
    if (typeof v === 'object') {
      if (d > 8) return {};
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = walk(x, k, d + 1);
      return out;
    }
    if (v === '' || v === false) return v;
    if (typeof v === 'string' && urlWithCredentials(v)) return mask;
    if (key !== '' && REFERENCE_SUFFIX.test(key)) return typeof v === 'string' && VARIABLE_NAME.test(v) ? v : mask;
    return key !== '' && isSecretName(key) ? mask : v;
  };
  return walk(value, '', depth) as T;
}

/** What a masked settings value reads as. */
export const SETTINGS_MASK = '********';

/** Registers the values of every environment variable whose name marks a secret. */
export function registerSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (isSecretName(name)) registerSecret(value);
  }
}
