// What the audit log may keep of a request's parameters: secret-looking fields removed,
// key-looking values masked, everything bounded in size (pure).
import { isSecretName, redact } from '@haier-sync/runtime';
import { storable } from './input-check';

export const REMOVED = '[REMOVED]';
const KEY_VALUE = /hs_[0-9A-Za-z]{16,}/g;
const MAX_STRING = 200;
const MAX_ITEMS = 50;
const MAX_DEPTH = 4;

/** True when a field of this name must not be stored or shown (the runtime's one rule). */
export const isSecretField = isSecretName;

// a NUL or a lone surrogate in a request (refused with 400, but audited) would make the whole
// audit batch fail to insert: storable() replaces them
export { storable };

function cleanString(s: string): string {
  const masked = redact(s).replace(KEY_VALUE, REMOVED);
  // made storable after cutting, which may split a surrogate pair
  return storable(masked.length > MAX_STRING ? `${masked.slice(0, MAX_STRING)}…(${masked.length} chars)` : masked);
}

function clean(v: unknown, depth: number): unknown {
  if (v === null || v === undefined) return v ?? null;
  if (typeof v === 'string') return cleanString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return v.toString();
  if (depth >= MAX_DEPTH) return '…';
  if (Array.isArray(v)) {
    const items = v.slice(0, MAX_ITEMS).map((x) => clean(x, depth + 1));
    if (v.length > MAX_ITEMS) items.push(`…(${v.length} items)`);
    return items;
  }
  if (typeof v === 'object') {
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (n++ >= MAX_ITEMS) {
        out['…'] = 'more fields omitted';
        break;
      }
      out[storable(cleanString(k).slice(0, 64))] = isSecretField(k) ? REMOVED : clean(x, depth + 1);
    }
    return out;
  }
  return String(v);
}

/** The request's query, route params and body, fit for the audit log. */
export function sanitizeParams(parts: { query?: unknown; params?: unknown; body?: unknown }): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(parts)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0) continue;
    out[name] = clean(v, 0);
  }
  return out;
}
