// The one place that knows which values are secret. Anything that leaves the process
// as text (log lines, error messages, span events, API answers) can pass through
// `redact()`, which masks every registered secret value.

export const REDACTED = '[REDACTED]';

/** Environment variable names whose values are treated as secrets. */
export const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|KEY|CREDENTIAL/i;

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

/** True when the environment variable name marks a secret (its value must never be shown). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

/** Registers the values of every environment variable whose name marks a secret. */
export function registerSecretsFromEnv(env: NodeJS.ProcessEnv = process.env): void {
  for (const [name, value] of Object.entries(env)) {
    if (isSecretName(name)) registerSecret(value);
  }
}

/** Number of registered secret strings (for diagnostics and tests; never the values). */
export function registeredSecretCount(): number {
  return secrets.size;
}
