// Haier configs (table sync.haier_configs, created by migration 0002), without decorators.
import { EntitySchema } from '@mikro-orm/core';

export interface HaierConfigEntity {
  id: string;
  name: string;
  environment: string;
  settings: Record<string, unknown>;
  active: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export const HaierConfigRow = new EntitySchema<HaierConfigEntity>({
  name: 'HaierConfigRow',
  tableName: 'haier_configs',
  schema: 'sync',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    name: { type: 'text', unique: true },
    environment: { type: 'text' },
    settings: { type: 'json' },
    active: { type: 'boolean', default: false },
    createdAt: { type: 'Date', fieldName: 'created_at', defaultRaw: 'now()' },
    updatedAt: { type: 'Date', fieldName: 'updated_at', defaultRaw: 'now()' },
  },
});

export const configEntities = [HaierConfigRow];
