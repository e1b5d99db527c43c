// OAuth2 client-credentials tokens: JWT-looking strings the simulator remembers until they expire or are revoked.
import { createHmac, randomBytes } from 'node:crypto';

interface Issued {
  clientId: string;
  expiresAt: number;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

export class TokenStore {
  private readonly key = randomBytes(32);
  private readonly issued = new Map<string, Issued>();

  issue(clientId: string, ttlSeconds: number, now = Date.now()): string {
    if (this.issued.size > 10_000) this.sweep(now);
    const iat = Math.floor(now / 1000);
    const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iss: 'haier-sim', sub: clientId, iat, exp: iat + ttlSeconds, jti: randomBytes(8).toString('hex') })}`;
    const token = `${body}.${createHmac('sha256', this.key).update(body).digest('base64url')}`;
    this.issued.set(token, { clientId, expiresAt: now + ttlSeconds * 1000 });
    return token;
  }

  /** The client a token belongs to, or why it is refused. */
  check(authorization: string | undefined, now = Date.now()): { clientId: string } | { refused: string } {
    if (!authorization) return { refused: 'no Authorization header: send the access token from /oauth2/auth' };
    const token = authorization.replace(/^bearer\s+/i, '').trim();
    const found = this.issued.get(token);
    if (!found) return { refused: 'the access token is unknown or was revoked: fetch a new one' };
    if (found.expiresAt <= now) return { refused: 'the access token has expired: fetch a new one' };
    return { clientId: found.clientId };
  }

  revokeAll(): void {
    this.issued.clear();
  }

  private sweep(now: number): void {
    for (const [t, i] of this.issued) if (i.expiresAt <= now) this.issued.delete(t);
  }
}
