// API keys: format, hashing and roles (pure).
import { createHash, randomBytes } from 'node:crypto';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** 40 base62 characters ≈ 238 bits of entropy. */
const KEY_CHARS = 40;
export const KEY_PATTERN = /^hs_[0-9A-Za-z]{32,128}$/;

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}

/** A new key `hs_<40 random base62 chars>` (rejection sampling keeps the characters uniform). */
export function generateApiKey(): string {
  let out = '';
  while (out.length < KEY_CHARS) {
    for (const b of randomBytes(64)) {
      if (b < 248 && out.length < KEY_CHARS) out += BASE62[b % 62];
    }
  }
  return `hs_${out}`;
}

/**
 * sha256 of the key, hex. Keys are ~238 bits of uniform randomness, so nobody can guess one
 * from its hash by trying candidates: a fast hash is right here (a slow password hash such as
 * scrypt only helps against low-entropy secrets, and would cost milliseconds per request).
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** What is shown in listings instead of the key: `hs_AbCd…`. */
export function displayPrefix(key: string): string {
  return `${key.slice(0, 7)}…`;
}

export function isWellFormedKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

/** viewer < operator < admin: a role may do what every lower role may do. */
export function roleAllows(have: Role, need: Role): boolean {
  return RANK[have] >= RANK[need];
}

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>` (undefined when neither is sent). */
export function keyFromHeaders(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  const a = Array.isArray(auth) ? auth[0] : auth;
  if (a) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(a);
    if (m) return m[1];
    return a.trim() || undefined;
  }
  const x = headers['x-api-key'];
  const v = Array.isArray(x) ? x[0] : x;
  return v?.trim() || undefined;
}
