// The runs table as a MikroORM entity (no decorators). The engine's hot paths use SQL through
// knex (claims with FOR UPDATE SKIP LOCKED); this schema keeps the table known to the ORM.
import { EntitySchema } from '@mikro-orm/core';

export interface RunEntity {
  id: string;
  syncType: string;
  mode: string;
  status: string;
  trigger: string;
  kind: string;
  scope: Record<string, unknown>;
  options: Record<string, unknown>;
  startedBy: string;
  message: string;
  createdAt: Date;
  startedAt?: Date;
  completedAt?: Date;
}

export const RunRowEntity = new EntitySchema<RunEntity>({
  name: 'RunRow',
  tableName: 'runs',
  schema: 'sync',
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    syncType: { type: 'text', fieldName: 'sync_type' },
    mode: { type: 'text' },
    status: { type: 'text' },
    trigger: { type: 'text' },
    kind: { type: 'text' },
    scope: { type: 'json' },
    options: { type: 'json' },
    startedBy: { type: 'text', fieldName: 'started_by' },
    message: { type: 'text' },
    createdAt: { type: 'Date', fieldName: 'created_at', defaultRaw: 'now()' },
    startedAt: { type: 'Date', fieldName: 'started_at', nullable: true },
    completedAt: { type: 'Date', fieldName: 'completed_at', nullable: true },
  },
});

export const runEntities = [RunRowEntity];
