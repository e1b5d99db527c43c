// The two logs the publisher relays: the catalog's change log (through CatalogService.ReadChanges)
// and this service's own run_events outbox (table sync.run_events, written by the runs engine).
import { fromBinary } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { events, type catalog } from '@haier-sync/contracts';
import type { NatsConnection } from 'nats';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { OutgoingMessage } from './traced-publish';
import { changeToMessages, type LowStockRule } from './messages';
import { bucketStream, isNotFound } from './streams';
import { CONTENT_TYPES, productsBucket, runSubject } from './subjects';

export interface RelayItem {
  seq: bigint;
  messages: OutgoingMessage[];
  /** W3C trace context of the work that wrote the log row (null when untraced). */
  traceparent?: string | null;
}

export interface RelaySource {
  /** Cursor name in sync.publisher_cursor. */
  name: string;
  read(afterSeq: bigint, limit: number): Promise<SourcePage>;
  /** Called each time the relay (re)starts from its stored cursor, with the live connection. */
  reset?(nc: NatsConnection): Promise<void>;
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
  /** How long the relay may wait for a missing seq before moving past it (default: its gapWaitMs). */
  holeWaitMs?: (missing: bigint) => number;
}

/**
 * The change seq of the newest value in the products bucket (0 when empty or not made yet). One
 * writer puts the values in change-log order, so every change up to it is in the bucket already.
 * Any other failure throws (the relay retries): taking 0 then would let a replay rewrite values.
 */
export async function bucketHead(nc: NatsConnection, prefix: string): Promise<bigint> {
  const jsm = await nc.jetstreamManager();
  const stream = bucketStream(productsBucket(prefix));
  const info = await jsm.streams.info(stream).catch((err: unknown) => {
    if (isNotFound(err)) return undefined;
    throw err;
  });
  if (!info || info.state.messages === 0) return 0n;
  const last = await jsm.streams.getMessage(stream, { seq: info.state.last_seq });
  return fromBinary(events.ProductChangedSchema, last.data).seq;
}

export function catalogChangeSource(client: Client<typeof catalog.CatalogService>, prefix: string, rule: LowStockRule): RelaySource {
  // changes at or below this seq are in the bucket already: a replay after a crash (from a cursor
  // stored a little behind) resends them to the stream, where dedupe drops them, but never
  // rewrites the bucket, so a value's revision moves only with a new product version
  let inBucket = 0n;
  return {
    name: 'catalog',
    async reset(nc) {
      inBucket = await bucketHead(nc, prefix);
    },
    async read(afterSeq, limit) {
      const res = await client.readChanges({ afterSeq, limit });
      // the relay needs ascending seqs; never trust the order of an answer blindly
      const ordered = res.changes.every((c, i) => i === 0 || res.changes[i - 1]!.seq < c.seq);
      const changes = ordered ? res.changes : [...res.changes].sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0));
      // a full page out of order may have left out seqs that exist: gaps in it prove nothing
      const untrusted = !ordered && res.changes.length >= limit;
      return {
        headSeq: res.headSeq,
        items: changes.map((c) => ({ seq: c.seq, messages: changeToMessages(c, prefix, rule, c.seq > inBucket), traceparent: c.traceparent || null })),
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
  traceparent: string | null;
}

/** A hole in a bigserial log and the snapshot it was first seen in. */
interface WatchedHole {
  seq: bigint;
  /** pg_snapshot_xmax when first seen: every transaction that could still fill the hole has an xid below it. */
  xmax: bigint;
  since: number;
}

/** The first seq missing from a page read after `afterSeq`, if any. */
export function firstMissing(afterSeq: bigint, seqs: bigint[]): bigint | undefined {
  let expected = afterSeq + 1n;
  for (const s of seqs) {
    if (s !== expected) return expected;
    expected = s + 1n;
  }
  return undefined;
}

/**
 * The run_events outbox. Its writers are concurrent transactions, so seq 12 can be visible while
 * seq 11 is still uncommitted, and a conflicting insert burns a seq for good. A hole is moved past
 * only once every transaction that was running when it was first seen has ended (the snapshot's
 * xmin passed the xmax seen then): nothing in flight is skipped, however slow its commit.
 */
export function runEventsSource(orm: MikroORM, prefix: string, opts: { minHoleWaitMs?: number; maxHoleWaitMs?: number } = {}): RelaySource {
  let hole: WatchedHole | undefined;
  const minWait = opts.minHoleWaitMs ?? 1_000;
  const maxWait = opts.maxHoleWaitMs ?? 600_000;
  return {
    name: 'runs',
    async read(afterSeq, limit) {
      const conn = orm.em.getConnection();
      // The snapshot is taken BEFORE the rows are read: when it shows that every transaction that
      // could fill a hole had ended, their rows are visible to the read that follows, so a hole
      // still missing there is burnt for good. (Taken after the read, a writer committing in between
      // made its own row look like a burnt seq: the event was skipped.)
      const snap = await conn.execute<{ xmin: string; xmax: string }[]>(
        'select pg_snapshot_xmin(pg_current_snapshot())::text as xmin, pg_snapshot_xmax(pg_current_snapshot())::text as xmax',
      );
      const rows = await conn.execute<RunEventRow[]>(
        'select r.seq::text as seq, r.subject, r.msg_id, r.payload, r.traceparent from sync.run_events r where r.seq > ? order by r.seq limit ?',
        [afterSeq.toString(), limit],
      );
      const head = await conn.execute<{ head: string | null }[]>('select max(seq)::text as head from sync.run_events');
      const seqs = rows.map((r) => BigInt(r.seq));
      const missing = firstMissing(afterSeq, seqs);
      let settled = false;
      if (missing !== undefined) {
        const xmin = BigInt(snap[0]!.xmin);
        const xmax = BigInt(snap[0]!.xmax);
        // and at least minHoleWaitMs: a writer between nextval() and its first write has no xid yet
        if (hole?.seq === missing) settled = xmin >= hole.xmax && Date.now() - hole.since >= minWait;
        else hole = { seq: missing, xmax, since: Date.now() };
      } else {
        hole = undefined;
      }
      const settledSeq = settled ? missing : undefined;
      return {
        headSeq: BigInt(head[0]?.head ?? '0'),
        // a settled hole is passed at once; an unsettled one waits (up to maxWait, a guard against a stuck transaction)
        holeWaitMs: (m: bigint) => (m === settledSeq ? 0 : maxWait),
        items: rows.map((r) => ({
          seq: BigInt(r.seq),
          traceparent: r.traceparent,
          messages: [{ subject: runSubject(prefix, r.subject), data: new Uint8Array(r.payload), msgId: r.msg_id, contentType: CONTENT_TYPES.runEvent }],
        })),
      };
    },
  };
}
