// Who is calling: the API key from the headers, looked up by its hash (with a short cache so a
// busy edge does not read the key table on every request), then the route's role check.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { KeyStore } from './db/key-store';
import { hashApiKey, keyFromHeaders, roleAllows, type Role } from './domain/api-keys';
import { EdgeError } from './domain/errors';
import type { AuthInfo } from './context';

interface Cached {
  info: AuthInfo | null; // null = unknown or revoked
  until: number;
}

export class Authenticator {
  private cache = new Map<string, Cached>();
  private used = new Set<string>();
  private touchTimer: NodeJS.Timeout;

  constructor(
    private readonly keys: KeyStore,
    private readonly cacheMs: number,
    onTouchError: (err: unknown) => void,
  ) {
    // last_used_at is written at most every 30 s per key, in one statement
    this.touchTimer = setInterval(() => {
      const names = [...this.used];
      this.used.clear();
      this.keys.touch(names, new Date()).catch(onTouchError);
    }, 30_000);
    this.touchTimer.unref();
  }

  /** Forget cached lookups (after a key is revoked or made through this process). */
  invalidate(): void {
    this.cache.clear();
  }

  async lookup(key: string): Promise<AuthInfo | null> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.info;
    const row = await this.keys.findByKey(key);
    const info = row && !row.revokedAt ? { name: row.name, role: row.role } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { info, until: now + this.cacheMs });
    if (info) this.used.add(info.name);
    return info;
  }

  /** onRequest hook: 401 without a valid key, 403 when the key's role is too low. */
  hook() {
    return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
      const need: Role | undefined = req.routeOptions.config.role;
      if (!need) return;
      const key = keyFromHeaders(req.headers);
      if (!key) throw new EdgeError(401, 'UNAUTHENTICATED', 'An API key is required: send it as "Authorization: Bearer <key>" or "X-API-Key: <key>". Ask an admin for one.');
      const info = await this.lookup(key);
      if (!info) throw new EdgeError(401, 'UNAUTHENTICATED', 'The API key is unknown or has been revoked. Ask an admin for a valid key.');
      req.auth = info;
      if (!roleAllows(info.role, need)) {
        throw new EdgeError(403, 'FORBIDDEN', `This needs the ${need} role; the key "${info.name}" has the ${info.role} role. Ask an admin for a key with the ${need} role.`);
      }
    };
  }

  async close(): Promise<void> {
    clearInterval(this.touchTimer);
    const names = [...this.used];
    this.used.clear();
    await this.keys.touch(names, new Date()).catch(() => undefined);
  }
}
