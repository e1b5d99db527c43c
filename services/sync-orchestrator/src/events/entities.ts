// The publisher's cursors (table sync.publisher_cursor, created by migration 0002): one row per
// relayed log ("catalog" for the catalog change log, "runs" for the run_events outbox).
import { EntitySchema } from '@mikro-orm/core';

export interface PublisherCursorEntity {
  name: string;
  seq: string;
  updatedAt: Date;
}

export const PublisherCursor = new EntitySchema<PublisherCursorEntity>({
  name: 'PublisherCursor',
  tableName: 'publisher_cursor',
  schema: 'sync',
  properties: {
    name: { type: 'text', primary: true },
    seq: { type: 'bigint', default: 0 },
    updatedAt: { type: 'Date', fieldName: 'updated_at', defaultRaw: 'now()' },
  },
});

export const eventEntities = [PublisherCursor];
