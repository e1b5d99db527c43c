// The two logs the publisher relays: the catalog's change log (through CatalogService.ReadChanges)
// and this service's own run_events outbox (table sync.run_events, written by the runs engine).
import type { Client } from '@connectrpc/connect';
import type { catalog } from '@haier-sync/contracts';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { OutgoingMessage } from './traced-publish';
import { changeToMessages, type LowStockRule } from './messages';
import { CONTENT_TYPES, runSubject } from './subjects';

export interface RelayItem {
  seq: bigint;
  messages: OutgoingMessage[];
}

export interface RelaySource {
  /** Cursor name in sync.publisher_cursor. */
  name: string;
  read(afterSeq: bigint, limit: number): Promise<SourcePage>;
}

export interface SourcePage {
  /** Ascending by seq. */
  items: RelayItem[];
  headSeq: bigint;
  /**
   * Set when the answer cannot prove that a missing seq is a real hole (the log answered out of
   * order and filled the page, so rows may be missing from it): the relay then never skips a gap.
   */
  untrustedGaps?: string;
}

export function catalogChangeSource(client: Client<typeof catalog.CatalogService>, prefix: string, rule: LowStockRule): RelaySource {
  return {
    name: 'catalog',
    async read(afterSeq, limit) {
      const res = await client.readChanges({ afterSeq, limit });
      // the relay needs ascending seqs; never trust the order of an answer blindly
      const ordered = res.changes.every((c, i) => i === 0 || res.changes[i - 1]!.seq < c.seq);
      const changes = ordered ? res.changes : [...res.changes].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
      // a full page out of order may have left out seqs that exist: gaps in it prove nothing
      const untrusted = !ordered && res.changes.length >= limit;
      return {
        headSeq: res.headSeq,
        items: changes.map((c) => ({ seq: c.seq, messages: changeToMessages(c, prefix, rule) })),
        ...(untrusted
          ? {
              untrustedGaps: `catalog ReadChanges answered the changes after seq ${afterSeq} out of order (a full page of ${limit}); events wait at the first missing seq instead of skipping it. The catalog must answer ascending seq (ORDER BY the bigint seq, not its text)`,
            }
          : {}),
      };
    },
  };
}

interface RunEventRow {
  seq: string;
  subject: string;
  msg_id: string;
  payload: Buffer;
}

export function runEventsSource(orm: MikroORM, prefix: string): RelaySource {
  return {
    name: 'runs',
    async read(afterSeq, limit) {
      const conn = orm.em.getConnection();
      const rows = await conn.execute<RunEventRow[]>(
        'select r.seq::text as seq, r.subject, r.msg_id, r.payload from sync.run_events r where r.seq > ? order by r.seq limit ?',
        [afterSeq.toString(), limit],
      );
      const head = await conn.execute<{ head: string | null }[]>('select max(seq)::text as head from sync.run_events');
      return {
        headSeq: BigInt(head[0]?.head ?? '0'),
        items: rows.map((r) => ({
          seq: BigInt(r.seq),
          messages: [{ subject: runSubject(prefix, r.subject), data: new Uint8Array(r.payload), msgId: r.msg_id, contentType: CONTENT_TYPES.runEvent }],
        })),
      };
    },
  };
}
