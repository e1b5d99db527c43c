// Haier's answer envelope: `{success: true, data: …}`, a bare list, or `{success: false, code,
// message/description}` — a business error even under HTTP 200 (the original passed those through
// as data; we do not).
import { scalarText } from './haier-numbers';

export type Unwrapped = { ok: true; data: unknown } | { ok: false; code: string; message: string };

function isFalse(v: unknown): boolean {
  return v === false || scalarText(v) === 'false';
}

/** The business error carried by an envelope object, if it says success: false. */
export function businessError(body: Record<string, unknown>): { code: string; message: string } | undefined {
  if (!isFalse(body['success'])) return undefined;
  const code = scalarText(body['code']) ?? '';
  const message = [body['message'], body['description'], body['msg']].map(scalarText).find((m) => m !== undefined && m !== '') ?? '';
  return { code, message };
}

/**
 * Unwraps a parsed body: a list is the data; an object with success:false is a business error;
 * an object with `data` yields that; any other object is itself the data (e.g. logistics' three lists).
 */
export function unwrapEnvelope(body: unknown): Unwrapped {
  if (Array.isArray(body)) return { ok: true, data: body };
  if (typeof body === 'object' && body !== null) {
    const rec = body as Record<string, unknown>;
    const err = businessError(rec);
    if (err) return { ok: false, ...err };
    if ('data' in rec) return { ok: true, data: rec['data'] };
    return { ok: true, data: rec };
  }
  return { ok: true, data: body };
}
