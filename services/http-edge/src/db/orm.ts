// The edge's Postgres schema ("edge") as the runtime's initOrm and migrate take it: its entities
// and its committed migrations.
import type { SchemaDefinition } from '@haier-sync/runtime/orm';
import { ENTITIES } from './entities';
import { Migration20250601000000_edge } from '../migrations/Migration20250601000000_edge';

export const EDGE_SCHEMA: SchemaDefinition = {
  schema: 'edge',
  entities: ENTITIES,
  migrations: [{ name: 'Migration20250601000000_edge', class: Migration20250601000000_edge }],
};
