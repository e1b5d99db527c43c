// The publisher's cursors in sync.publisher_cursor: the last seq of a log that NATS has acked.
import type { MikroORM } from '@mikro-orm/postgresql';

export interface CursorStore {
  load(name: string): Promise<bigint>;
  save(name: string, seq: bigint): Promise<void>;
}

export function ormCursorStore(orm: MikroORM): CursorStore {
  const conn = () => orm.em.getConnection();
  return {
    async load(name) {
      const rows = await conn().execute<{ seq: string }[]>('select seq::text as seq from sync.publisher_cursor where name = ?', [name]);
      return BigInt(rows[0]?.seq ?? '0');
    },
    async save(name, seq) {
      await conn().execute(
        `insert into sync.publisher_cursor (name, seq, updated_at) values (?, ?, now())
         on conflict (name) do update set seq = greatest(sync.publisher_cursor.seq, excluded.seq), updated_at = now()`,
        [name, seq.toString()],
      );
    },
  };
}
