// Opaque keyset cursor for ListProducts: base64url of the last row's (sort, direction, key, code).
// A cursor comes back from a client: everything in it is checked here, against what the catalog
// itself writes for that sort (the key as Postgres prints a numeric, bigint or timestamptz), so a
// tampered or foreign cursor is INVALID_ARGUMENT, never a failing cast (or a NUL) in SQL.
import { BatchRejection } from './product-input';

export interface Cursor {
  sort: string;
  desc: boolean;
  key: string | null;
  code: string;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const NUMERIC = /^-?(Infinity|[0-9]{1,24}(\.[0-9]{1,12})?)$/;
const BIGINT = /^-?[0-9]{1,19}$/;
// timestamptz::text: "2026-12-02 14:30:00.123456+00" (the offset of the session's time zone)
const TIMESTAMPTZ = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?[+-]\d{2}(:\d{2}){0,2}$/;
const MAX_TEXT = 1000;

function validTimestamp(text: string): boolean {
  const m = TIMESTAMPTZ.exec(text);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const day = new Date(Date.UTC(y, mo - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo - 1 && day.getUTCDate() === d && h < 24 && mi < 60 && s < 60;
}

/** Why `key` cannot be a sort key of `sort` (as the catalog writes it), or undefined. */
function keyProblem(sort: string, key: string | null): string | undefined {
  if (key === null) return sort === 'code' || sort === 'name' ? undefined : 'the sort key is missing';
  if (key.includes('\u0000') || key.length > MAX_TEXT) return 'the sort key holds what no product has';
  switch (sort) {
    case 'display_price':
      return NUMERIC.test(key) ? undefined : 'the sort key is not a price';
    case 'stock':
      return BIGINT.test(key) && BigInt(key) >= INT64_MIN && BigInt(key) <= INT64_MAX ? undefined : 'the sort key is not a stock count';
    case 'updated_at':
      return key === 'infinity' || key === '-infinity' || validTimestamp(key) ? undefined : 'the sort key is not a time';
    default:
      return undefined;
  }
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.desc, c.key, c.code]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string, sort: string, desc: boolean): Cursor {
  const bad = (why: string) => new BatchRejection(`cursor is not valid (${why}); pass the next_cursor of the previous page unchanged, with the same sort and order`, 'cursor');
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad('cannot be decoded');
  }
  if (!Array.isArray(v) || v.length !== 4 || typeof v[0] !== 'string' || typeof v[1] !== 'boolean' || (v[2] !== null && typeof v[2] !== 'string') || typeof v[3] !== 'string') {
    throw bad('unexpected content');
  }
  if (v[0] !== sort || v[1] !== desc) throw bad('it belongs to a different sort or order');
  const problem = keyProblem(sort, v[2] as string | null) ?? (v[3].includes('\u0000') || v[3].length > 200 ? 'the product code holds what no product has' : undefined);
  if (problem) throw bad(problem);
  return { sort: v[0], desc: v[1], key: v[2], code: v[3] };
}
