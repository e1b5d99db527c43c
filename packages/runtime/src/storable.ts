// What Postgres text and jsonb cannot hold: a NUL character, or an unpaired UTF-16 surrogate
// (jsonb refuses "\ud800"; text refuses 0x00). One rule for every service: the edge answers 400
// for such a parameter, the gRPC services INVALID_ARGUMENT (validationInterceptor), so no such
// value reaches a statement, which would fail (a 5xx) with the statement in its error.

const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** True when Postgres text/jsonb cannot hold `s` (a NUL or an unpaired surrogate). */
export function unstorable(s: string): boolean {
  return UNSTORABLE.test(s);
}

/** `s` with what Postgres text cannot hold replaced by U+FFFD (for what is stored anyway, e.g. an audit row). */
export function storable(s: string): string {
  return s.replace(UNSTORABLE_ALL, '\uFFFD');
}

const snake = (localName: string) => localName.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

type Segment = string | number;

/**
 * The path segments, innermost first, of the first unstorable string or object key under
 * `value`, or undefined. No path is built on the way down: a clean message (every request but
 * a hostile one) costs one regex test per string and nothing else.
 */
function firstUnstorable(value: unknown, depth: number): Segment[] | undefined {
  if (typeof value === 'string') return unstorable(value) ? [] : undefined;
  if (value === null || typeof value !== 'object' || depth > 64 || value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v === null || (typeof v !== 'string' && typeof v !== 'object')) continue;
      const found = firstUnstorable(v, depth + 1);
      if (found) return (found.push(i), found);
    }
    return undefined;
  }
  const isMessage = typeof (value as { $typeName?: unknown }).$typeName === 'string';
  const record = value as Record<string, unknown>;
  for (const k of Object.keys(record)) {
    if (k.charCodeAt(0) === 36 /* $ */) continue;
    if (!isMessage && unstorable(k)) return [];
    const v = record[k];
    if (v === null || (typeof v !== 'string' && typeof v !== 'object')) continue;
    const found = firstUnstorable(v, depth + 1);
    if (found) return (found.push(isMessage ? snake(k) : k), found);
  }
  return undefined;
}

/**
 * The path (`scope.category`, `settings.note`, `product_codes[3]`) of the first unstorable string
 * or object key in a protobuf-es message (fields by their proto names; Struct and map keys as
 * they are), or undefined.
 */
export function unstorableField(value: unknown, path = ''): string | undefined {
  const segments = firstUnstorable(value, 0);
  if (!segments) return undefined;
  let out = path;
  for (let i = segments.length - 1; i >= 0; i--) {
    const s = segments[i]!;
    out = typeof s === 'number' ? `${out}[${s}]` : out ? `${out}.${s}` : s;
  }
  return out || '(value)';
}
