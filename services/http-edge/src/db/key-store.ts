// API keys in schema edge: create (the key is returned once, only its hash is stored), list,
// revoke, look up by key, and the bootstrap admin key.
import type { MikroORM } from '@mikro-orm/postgresql';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { ApiKey, type ApiKeyRow } from './entities';
import { displayPrefix, generateApiKey, hashApiKey, isWellFormedKey, type Role } from '../domain/api-keys';

export interface KeyInfo {
  name: string;
  role: Role;
  prefix: string;
  created_at: string;
  revoked_at: string | null;
  last_used_at: string | null;
}

export class KeyStoreError extends Error {
  constructor(
    message: string,
    readonly code: 'ALREADY_EXISTS' | 'NOT_FOUND' | 'INVALID_KEY',
  ) {
    super(message);
  }
}

export function keyInfo(r: ApiKeyRow): KeyInfo {
  return {
    name: r.name,
    role: r.role,
    prefix: r.prefix,
    created_at: r.createdAt.toISOString(),
    revoked_at: r.revokedAt ? r.revokedAt.toISOString() : null,
    last_used_at: r.lastUsedAt ? r.lastUsedAt.toISOString() : null,
  };
}

export class KeyStore {
  constructor(private readonly orm: MikroORM) {}

  /** Makes a key; `key` is the only time the plain key exists outside its holder. */
  async create(name: string, role: Role, plainKey?: string): Promise<{ key: string; info: KeyInfo }> {
    const key = plainKey ?? generateApiKey();
    if (!isWellFormedKey(key)) {
      throw new KeyStoreError('The key must look like hs_ followed by 32 to 128 letters and digits; generate one with `haier-sync keys create`.', 'INVALID_KEY');
    }
    const em = this.orm.em.fork();
    const row = em.create(ApiKey, { name, role, keyHash: hashApiKey(key), prefix: displayPrefix(key), createdAt: new Date() } as ApiKeyRow);
    try {
      await em.persistAndFlush(row);
    } catch (e) {
      if (e instanceof UniqueConstraintViolationException) {
        throw new KeyStoreError(`A key named "${name}" already exists (or the key itself is already registered); choose another name.`, 'ALREADY_EXISTS');
      }
      throw e;
    }
    return { key, info: keyInfo(row) };
  }

  async list(): Promise<KeyInfo[]> {
    const rows = await this.orm.em.fork().find(ApiKey, {}, { orderBy: { createdAt: 'asc', id: 'asc' } });
    return rows.map(keyInfo);
  }

  /** Revokes by name; a revoked key answers 401 from then on. */
  async revoke(name: string): Promise<KeyInfo> {
    const em = this.orm.em.fork();
    const row = await em.findOne(ApiKey, { name });
    if (!row) throw new KeyStoreError(`No key named "${name}"; see the names with \`haier-sync keys list\`.`, 'NOT_FOUND');
    if (!row.revokedAt) {
      row.revokedAt = new Date();
      await em.flush();
    }
    return keyInfo(row);
  }

  /** The key's row (revoked ones included), or null. */
  async findByKey(key: string): Promise<ApiKeyRow | null> {
    return this.orm.em.fork().findOne(ApiKey, { keyHash: hashApiKey(key) });
  }

  /** Which of `names` are keys that exist and are not revoked (one query). */
  async activeNames(names: string[]): Promise<Set<string>> {
    if (names.length === 0) return new Set();
    const rows = await this.orm.em.fork().find(ApiKey, { name: { $in: names }, revokedAt: null }, { fields: ['name'] });
    return new Set(rows.map((r) => r.name));
  }

  async touch(names: string[], at: Date): Promise<void> {
    if (names.length === 0) return;
    await this.orm.em.fork().nativeUpdate(ApiKey, { name: { $in: names } }, { lastUsedAt: at });
  }

  async hasActiveAdmin(): Promise<boolean> {
    return (await this.orm.em.fork().count(ApiKey, { role: 'admin', revokedAt: null })) > 0;
  }

  /**
   * When no usable admin key exists: registers `bootstrapKey` (EDGE_BOOTSTRAP_ADMIN_KEY) or a new
   * random one. Returns the key only when it was generated here (the caller shows it once).
   */
  async ensureAdmin(bootstrapKey?: string): Promise<{ created: boolean; generatedKey?: string; name?: string; note?: string }> {
    if (await this.hasActiveAdmin()) return { created: false };
    if (bootstrapKey && (await this.findByKey(bootstrapKey))) {
      return { created: false, note: 'EDGE_BOOTSTRAP_ADMIN_KEY is registered but revoked and no other admin key exists; create one with `haier-sync keys create --role admin`.' };
    }
    const taken = new Set((await this.list()).map((k) => k.name));
    let name = 'bootstrap-admin';
    for (let i = 2; taken.has(name); i++) name = `bootstrap-admin-${i}`;
    const made = await this.create(name, 'admin', bootstrapKey);
    return { created: true, generatedKey: bootstrapKey ? undefined : made.key, name };
  }
}
