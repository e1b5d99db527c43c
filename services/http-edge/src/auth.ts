// Who is calling: the API key from the headers, looked up by its hash (with a short cache so a
// busy edge does not read the key table on every request), then the route's role check.
// - Failed authentications (an unknown, malformed or revoked key) are counted per client address
//   (@fastify/rate-limit's store); past EDGE_AUTH_FAILURES_PER_MINUTE the address gets 429 with
//   Retry-After for keys it has not authenticated with before, without a database lookup. A key
//   that authenticated recently is never counted nor refused by this limit: a flood of random
//   keys from one address does not lock out a valid key used from there.
// - Open streams (SSE) watch their key: revoked, the stream ends within EDGE_AUTH_CACHE_MS (at
//   once when revoked through this edge's API).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KeyStore } from './db/key-store';
import { hashApiKey, isWellFormedKey, keyFromHeaders, roleAllows, type Role } from './domain/api-keys';
import { EdgeError } from './domain/errors';
import type { AuthInfo } from './context';

interface Cached {
  info: AuthInfo | null; // null = unknown or revoked
  until: number;
}

/** @fastify/rate-limit's createRateLimit() result (counting per client address). */
export type FailureLimiter = (
  req: FastifyRequest,
  opts?: { increment?: boolean },
) => Promise<{ isAllowed: true; key: string } | { isAllowed: false; key: string; remaining: number; ttlInSeconds: number; max: number }>;

/** How often open streams re-check their keys at least (EDGE_AUTH_CACHE_MS below this polls at this pace). */
const MIN_STREAM_CHECK_MS = 250;
const MAX_REMEMBERED = 10_000;

const keyHashes = new WeakMap<FastifyRequest, string | null>();

/** The hash of the request's API key (undefined without one), worked out once per request: auth and the rate limit both key on it. */
export function keyHashOf(req: FastifyRequest): string | undefined {
  let hash = keyHashes.get(req);
  if (hash === undefined) {
    const key = keyFromHeaders(req.headers);
    hash = key ? hashApiKey(key) : null;
    keyHashes.set(req, hash);
  }
  return hash ?? undefined;
}

export class Authenticator {
  private cache = new Map<string, Cached>();
  private used = new Set<string>();
  /** Hashes of keys that authenticated (not counted by the failure limit). */
  private good = new Set<string>();
  private failures: FailureLimiter | undefined;
  private touchTimer: NodeJS.Timeout;
  private watchers = new Map<string, Set<() => void>>();
  private watchTimer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private recheck = false;

  constructor(
    private readonly keys: KeyStore,
    private readonly cacheMs: number,
    private readonly onError: (err: unknown, what: string) => void,
  ) {
    // last_used_at is written at most every 30 s per key, in one statement
    this.touchTimer = setInterval(() => {
      const names = [...this.used];
      this.used.clear();
      this.keys.touch(names, new Date()).catch((err: unknown) => onError(err, 'touch'));
    }, 30_000);
    this.touchTimer.unref();
  }

  /** Counts failed authentications per client address (set once the rate-limit plugin is registered). */
  useFailureLimiter(limiter: FailureLimiter): void {
    this.failures = limiter;
  }

  /** Forget cached lookups (after a key is revoked or made through this process); open streams re-check at once. */
  invalidate(): void {
    this.cache.clear();
    void this.checkStreams();
  }

  private async lookup(key: string, hash: string): Promise<AuthInfo | null> {
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.info;
    const row = isWellFormedKey(key) ? await this.keys.findByKey(key) : null;
    const info = row && !row.revokedAt ? { name: row.name, role: row.role } : null;
    if (this.cache.size > MAX_REMEMBERED) this.cache.clear();
    this.cache.set(hash, { info, until: now + this.cacheMs });
    if (info) this.used.add(info.name);
    return info;
  }

  /**
   * The caller behind the request's key: null without a key; 401 for a key that is unknown or
   * revoked; 429 when its address has failed too often (a key that authenticated before still passes).
   */
  async authenticate(req: FastifyRequest): Promise<AuthInfo | null> {
    const key = keyFromHeaders(req.headers);
    const hash = keyHashOf(req);
    if (!key || !hash) return null;
    const known = this.good.has(hash);
    if (!known && this.failures) {
      const seen = await this.failures(req, { increment: false });
      if (!seen.isAllowed && seen.remaining === 0) {
        throw new EdgeError(
          429,
          'TOO_MANY_FAILED_AUTHENTICATIONS',
          `Too many requests with unknown or revoked API keys from this address (at most ${seen.max} per minute). Retry after ${seen.ttlInSeconds} s with a valid key.`,
          undefined,
          { retryAfter: Math.max(1, seen.ttlInSeconds) },
        );
      }
    }
    const info = await this.lookup(key, hash);
    if (!info) {
      this.good.delete(hash);
      if (this.failures) await this.failures(req);
      throw new EdgeError(401, 'UNAUTHENTICATED', 'The API key is unknown or has been revoked. Ask an admin for a valid key.');
    }
    if (!known) {
      if (this.good.size > MAX_REMEMBERED) this.good.clear();
      this.good.add(hash);
    }
    return info;
  }

  /** onRequest hook: 401 without a valid key, 403 when the key's role is too low. */
  hook() {
    return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
      const need: Role | undefined = req.routeOptions.config.role;
      if (!need) return;
      const info = await this.authenticate(req);
      if (!info) throw new EdgeError(401, 'UNAUTHENTICATED', 'An API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>". Ask an admin for one.');
      req.auth = info;
      if (!roleAllows(info.role, need)) {
        throw new EdgeError(403, 'FORBIDDEN', `This needs the ${need} role; the key "${info.name}" has the ${info.role} role. Ask an admin for a key with the ${need} role.`);
      }
    };
  }

  /**
   * Calls `onRevoked` (once) when the key named `name` is revoked; checked every
   * max(EDGE_AUTH_CACHE_MS, 250 ms) while something watches, and at once after invalidate().
   * Returns the function that stops watching.
   */
  watch(name: string, onRevoked: () => void): () => void {
    let set = this.watchers.get(name);
    if (!set) this.watchers.set(name, (set = new Set()));
    set.add(onRevoked);
    if (!this.watchTimer) {
      this.watchTimer = setInterval(() => void this.checkStreams(), Math.max(this.cacheMs, MIN_STREAM_CHECK_MS));
      this.watchTimer.unref();
    }
    return () => {
      const s = this.watchers.get(name);
      s?.delete(onRevoked);
      if (s && s.size === 0) this.watchers.delete(name);
      if (this.watchers.size === 0 && this.watchTimer) {
        clearInterval(this.watchTimer);
        this.watchTimer = undefined;
      }
    };
  }

  private checkStreams(): Promise<void> {
    if (this.checking) {
      // a check already under way may have read before the revocation: one more after it
      this.recheck = true;
      return this.checking;
    }
    if (this.watchers.size === 0) return Promise.resolve();
    const names = [...this.watchers.keys()];
    this.checking = this.keys
      .activeNames(names)
      .then((active) => {
        for (const name of names) {
          if (active.has(name)) continue;
          const fns = this.watchers.get(name);
          this.watchers.delete(name);
          for (const fn of fns ?? []) fn();
        }
      })
      .catch((err: unknown) => this.onError(err, 'streams'))
      .finally(() => {
        this.checking = undefined;
        if (this.recheck) {
          this.recheck = false;
          void this.checkStreams();
        }
      });
    return this.checking;
  }

  async close(): Promise<void> {
    clearInterval(this.touchTimer);
    if (this.watchTimer) clearInterval(this.watchTimer);
    this.watchers.clear();
    const names = [...this.used];
    this.used.clear();
    await this.keys.touch(names, new Date()).catch(() => undefined);
  }
}
