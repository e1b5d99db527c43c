// What the JSON schemas cannot say about a request, checked in one walk over its query, route
// params and body before any handler runs (pure; the edge answers 400 naming the field):
// - a non-finite number: ajv coerces "Infinity" and "1e400" to Infinity for integer/number
//   fields and then skips minimum/maximum (its limit checks are guarded by isFinite);
// - a string (value or object key) Postgres text/jsonb cannot hold: NUL, or an unpaired UTF-16
//   surrogate (e.g. "\ud800" in JSON) — sent on, it made the catalog's or the orchestrator's
//   INSERT/SELECT fail (a 5xx, and the failing statement in their logs);
// - JSON nested deeper than MAX_JSON_DEPTH (the gRPC services' protobuf decoder refuses a
//   Struct that deep, and no legitimate request comes close).
import { storable, unstorable } from '@haier-sync/runtime';

/** Deepest nesting of objects/arrays a request may carry (a settings document is 2–3 deep). */
export const MAX_JSON_DEPTH = 32;

/** The runtime's one rule of what Postgres cannot store (the gRPC services check it too). */
export { storable, unstorable };

export interface InputProblem {
  /** Named as the validation errors name fields: `scope.category`, `settings.a.b`, `product_codes[3]`. */
  field: string;
  problem: string;
}

const join = (path: string, key: string, index: boolean) => (index ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/**
 * The first problem in `value` (query, params or body), or undefined. `skip`: top-level fields
 * a route checks itself, item by item (a comma-separated code list: the rulebook refuses a NUL
 * in a code and names the item, `product_codes[3]`).
 */
export function inputProblem(value: unknown, path = '', depth = 0, skip?: ReadonlySet<string>): InputProblem | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : { field: path || '(value)', problem: 'must be a finite number within the documented range' };
  if (typeof value === 'string') {
    return unstorable(value) ? { field: path || '(value)', problem: 'contains a NUL character or an unpaired UTF-16 surrogate, which cannot be stored: remove it' } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (depth >= MAX_JSON_DEPTH) return { field: path || '(body)', problem: `is nested more than ${MAX_JSON_DEPTH} levels deep: send a flatter document` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = inputProblem(value[i], join(path, String(i), true), depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (depth === 0 && skip?.has(k)) continue;
    if (unstorable(k)) return { field: path || '(body)', problem: 'has a key with a NUL character or an unpaired UTF-16 surrogate, which cannot be stored: rename it' };
    const found = inputProblem(v, join(path, k, false), depth + 1);
    if (found) return found;
  }
  return undefined;
}
