// Opaque keyset cursor for ListProducts: base64url of the last row's (sort, direction, key, code).
import { BatchRejection } from './product-input';

export interface Cursor {
  sort: string;
  desc: boolean;
  key: string | null;
  code: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.sort, c.desc, c.key, c.code]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string, sort: string, desc: boolean): Cursor {
  const bad = (why: string) => new BatchRejection(`cursor is not valid (${why}); pass the next_cursor of the previous page unchanged, with the same sort and order`);
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
  return { sort: v[0], desc: v[1], key: v[2], code: v[3] };
}
