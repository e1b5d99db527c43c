// The one access token every upstream call shares: fetched on demand, cached, refreshed
// ahead of expiry by a single in-flight refresh that concurrent callers all await. A 401
// forces one refresh, deduplicated: if the token already changed since the failing call
// started, the new one is reused instead of fetching yet another.

export interface FetchedToken {
  value: string;
  expiresInSeconds: number;
}

export interface Token {
  readonly value: string;
  readonly expiresAt: number; // epoch ms
  readonly refreshAt: number; // epoch ms
  readonly generation: number;
}

export interface TokenManagerOptions {
  fetchToken: () => Promise<FetchedToken>;
  /** Refresh this many seconds before expiry (Haier advises 600). */
  refreshMarginSeconds: number;
  now?: () => number;
  onRefreshError?: (err: unknown) => void;
}

/**
 * When to refresh: `margin` before expiry, but never before half the lifetime has passed, so
 * a short-lived token (shorter than the margin) does not cause a refresh on every call.
 */
export function refreshTime(issuedAt: number, expiresInSeconds: number, marginSeconds: number): number {
  const lifetimeMs = expiresInSeconds * 1000;
  return issuedAt + Math.max(lifetimeMs - marginSeconds * 1000, lifetimeMs / 2);
}

export class TokenManager {
  private current: Token | undefined;
  private inflight: Promise<Token> | undefined;
  private generation = 0;
  private readonly now: () => number;

  constructor(private readonly opts: TokenManagerOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** The cached token (undefined before the first fetch). */
  peek(): Token | undefined {
    return this.current;
  }

  /** A token fit to use now; refreshes (once, shared) when due. */
  async get(): Promise<Token> {
    const t = this.current;
    const now = this.now();
    if (t && now < t.refreshAt) return t;
    if (t && now < t.expiresAt) {
      // Due for refresh but still valid: refresh in the shared flight; if the refresh fails,
      // keep using the old token until it actually expires.
      try {
        return await this.refresh();
      } catch (err) {
        this.opts.onRefreshError?.(err);
        return t;
      }
    }
    return this.refresh();
  }

  /** After a 401 with `stale`: a new token, reusing one fetched since `stale` was handed out. */
  async renewAfterUnauthorized(stale: Token | undefined): Promise<Token> {
    if (this.inflight) return this.inflight;
    if (this.current && stale && this.current.generation !== stale.generation) return this.current;
    return this.refresh();
  }

  /** Fetches a fresh token now (CheckAuth); joins a refresh already in flight. */
  forceRefresh(): Promise<Token> {
    return this.refresh();
  }

  private refresh(): Promise<Token> {
    if (!this.inflight) {
      this.inflight = (async () => {
        try {
          const issuedAt = this.now();
          const f = await this.opts.fetchToken();
          const token: Token = {
            value: f.value,
            expiresAt: issuedAt + f.expiresInSeconds * 1000,
            refreshAt: refreshTime(issuedAt, f.expiresInSeconds, this.opts.refreshMarginSeconds),
            generation: ++this.generation,
          };
          this.current = token;
          return token;
        } finally {
          this.inflight = undefined;
        }
      })();
    }
    return this.inflight;
  }
}

function textOf(v: unknown): string | undefined {
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  return undefined;
}

/**
 * The token in a token answer: `access_token`, `token`, `data.access_token` or `data.token`;
 * `expires_in` (seconds, at the same level or the top) defaults to 3600.
 */
export function extractToken(body: unknown): FetchedToken | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const top = body as Record<string, unknown>;
  const data = typeof top['data'] === 'object' && top['data'] !== null ? (top['data'] as Record<string, unknown>) : {};
  const value = textOf(top['access_token']) ?? textOf(top['token']) ?? textOf(data['access_token']) ?? textOf(data['token']);
  if (!value) return undefined;
  const rawExpiry = data['expires_in'] ?? top['expires_in'];
  const text = rawExpiry === undefined || rawExpiry === null ? '' : String(rawExpiry).trim();
  const seconds = /^\d+$/.test(text) ? Number(text) : 3600;
  return { value, expiresInSeconds: seconds > 0 ? seconds : 3600 };
}
