// Ajv coerces "Infinity" and "1e400" to Infinity for integer/number fields and then skips
// minimum/maximum (its limit checks are guarded by isFinite), so a validated request can still
// carry a non-finite number. This finds one (pure); the edge answers 400 naming the field.

/** The dotted path of the first non-finite number in `value` (depth-limited), or undefined. */
export function nonFiniteField(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path || '(value)';
  if (value === null || typeof value !== 'object' || depth > 6) return undefined;
  const entries: Array<[string, unknown]> = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value as Record<string, unknown>);
  for (const [k, v] of entries) {
    const found = nonFiniteField(v, path ? `${path}.${k}` : k, depth + 1);
    if (found) return found;
  }
  return undefined;
}
