// Schema "edge": API keys (hashed) and the audit log of REST calls.
import { EntitySchema } from '@mikro-orm/core';
import type { Role } from '../domain/api-keys';

export interface ApiKeyRow {
  id: number;
  name: string;
  role: Role;
  keyHash: string;
  prefix: string;
  createdAt: Date;
  revokedAt?: Date | null;
  lastUsedAt?: Date | null;
}

export const ApiKey = new EntitySchema<ApiKeyRow>({
  name: 'ApiKey',
  tableName: 'edge.api_keys',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true, mapToPk: false },
    name: { type: 'text', unique: true },
    role: { type: 'text' },
    keyHash: { type: 'text', fieldName: 'key_hash', unique: true },
    prefix: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'created_at', onCreate: () => new Date() },
    revokedAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'revoked_at', nullable: true },
    lastUsedAt: { type: 'Date', columnType: 'timestamptz', fieldName: 'last_used_at', nullable: true },
  },
});

export interface AuditRow {
  id: string;
  at: Date;
  keyName?: string | null;
  method: string;
  path: string;
  params: Record<string, unknown>;
  status: number;
  durationMs: number;
  ip: string;
}

export const AuditEntry = new EntitySchema<AuditRow>({
  name: 'AuditEntry',
  tableName: 'edge.audit_log',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    at: { type: 'Date', columnType: 'timestamptz' },
    keyName: { type: 'text', fieldName: 'key_name', nullable: true },
    method: { type: 'text' },
    path: { type: 'text' },
    params: { type: 'json', columnType: 'jsonb' },
    status: { type: 'integer' },
    durationMs: { type: 'double', fieldName: 'duration_ms' },
    ip: { type: 'text' },
  },
});

export const ENTITIES = [ApiKey, AuditEntry];
