// One relay: read a log after the cursor, publish each entry in order, await each ack, and store
// the cursor only after the acks. Any failure (NATS down, catalog down, DB down) backs off and
// starts again from the stored cursor; JetStream's dedupe window absorbs what gets resent.
import { sleep, untraced, type Logger } from '@haier-sync/runtime';
import type { JetStreamClient, PubAck } from 'nats';
import type { CursorStore } from './cursor-store';
import type { ManagedNats } from './nats-connection';
import type { RelayItem, RelaySource, SourcePage } from './sources';
import { contiguousCount, type GapState } from './gap';
import { publishPage, traceSegments, type PagePublish, type TraceSegment } from './traced-publish';
import { backoffDelay } from './backoff';

export interface RelayOptions {
  pageSize: number;
  idlePollMs: number;
  publishTimeoutMs: number;
  /** Messages published before waiting for their acks (1 = one at a time). */
  publishWindow?: number;
  /** Store the cursor at least every this many acked entries within a page. */
  persistEvery: number;
  gapWaitMs: number;
  /** Each message NATS acknowledged as new (not a duplicate), by subject: for the metrics. */
  onPublished?: (subject: string) => void;
  /** Called once per NATS connection before publishing (stream set-up). */
  prepare: () => Promise<void>;
}

export interface RelayStats {
  name: string;
  /** Events acknowledged by their stream (not counting duplicates or bucket values). */
  published: number;
  /** Values written to the products bucket. */
  bucketWrites: number;
  duplicates: number;
  cursor: string;
  headSeq: string;
  lag: number;
  lastError?: string;
  lastErrorAt?: string;
}

export class Relay {
  private published = 0;
  private bucketWrites = 0;
  private duplicates = 0;
  private cursor = 0n;
  private stored = 0n;
  private headSeq = 0n;
  private lastError?: string;
  private lastErrorAt?: Date;
  private readonly gap: GapState = {};
  private untrustedWarnings = 0;
  private readAhead?: { after: bigint; page: Promise<SourcePage> };

  constructor(
    private readonly source: RelaySource,
    private readonly store: CursorStore,
    private readonly nats: ManagedNats,
    private readonly log: Logger,
    private readonly opts: RelayOptions,
  ) {}

  stats(): RelayStats {
    const lag = this.headSeq > this.cursor ? this.headSeq - this.cursor : 0n;
    return {
      name: this.source.name,
      published: this.published,
      bucketWrites: this.bucketWrites,
      duplicates: this.duplicates,
      cursor: this.cursor.toString(),
      headSeq: this.headSeq.toString(),
      lag: Number(lag),
      ...(this.lastError !== undefined ? { lastError: this.lastError, lastErrorAt: this.lastErrorAt?.toISOString() } : {}),
    };
  }

  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    let loaded = false;
    while (!signal.aborted) {
      try {
        const nc = await untilAborted(this.nats.ready(), signal);
        if (!nc || signal.aborted) break;
        await this.opts.prepare();
        if (!loaded) {
          this.cursor = this.stored = await this.store.load(this.source.name);
          this.readAhead = undefined;
          await this.source.reset?.(nc);
          loaded = true;
        }
        const js = nc.jetstream();
        const moved = await this.pass(js, signal);
        failures = 0;
        if (!moved) await sleep(this.opts.idlePollMs, signal);
      } catch (err) {
        failures++;
        this.lastError = err instanceof Error ? err.message : String(err);
        this.lastErrorAt = new Date();
        if (failures === 1 || failures % 20 === 0) {
          this.log.warn({ relay: this.source.name, cursor: this.cursor.toString(), err: this.lastError, failures }, 'event relay failed; retrying from the stored cursor (nothing is lost)');
        }
        await this.persist().catch(() => undefined);
        // resend from what NATS acknowledged and we stored; dedupe absorbs any repeat
        loaded = false;
        await sleep(backoffDelay(failures, 200, 5_000), signal);
      }
    }
    await this.persist().catch((err) => this.log.warn({ relay: this.source.name, err: String(err) }, 'could not store the publisher cursor at stop; the next start resends a few events (deduplicated)'));
  }

  /** One page. Answers whether anything was published. */
  private async pass(js: JetStreamClient, signal: AbortSignal): Promise<boolean> {
    // a page read ahead while the previous one was being published, if it starts where we stand
    const ahead = this.readAhead;
    this.readAhead = undefined;
    // reads are untraced: 5 polls a second would each be a trace (the publish spans below carry the runs' traces)
    const page = ahead && ahead.after === this.cursor ? await ahead.page : await untraced(() => this.source.read(this.cursor, this.opts.pageSize));
    const { items, headSeq, untrustedGaps, holeWaitMs } = page;
    if (untrustedGaps !== undefined && this.untrustedWarnings++ % 100 === 0) {
      this.log.error({ relay: this.source.name, cursor: this.cursor.toString() }, untrustedGaps);
    }
    this.headSeq = headSeq > this.headSeq ? headSeq : this.headSeq;
    const wait = untrustedGaps !== undefined ? Number.POSITIVE_INFINITY : (holeWaitMs ?? this.opts.gapWaitMs);
    const n = contiguousCount(this.cursor, items.map((i) => i.seq), this.gap, Date.now(), wait);
    if (n === 0) {
      if (items.length > 0) await sleep(Math.min(50, this.opts.idlePollMs), signal);
      return false;
    }
    // a full page taken whole: read the next one while this one is published (the catalog's
    // ReadChanges costs as much as publishing a page)
    if (n === items.length && items.length >= this.opts.pageSize) {
      const after = items[n - 1]!.seq;
      const next = untraced(() => this.source.read(after, this.opts.pageSize));
      next.catch(() => undefined); // a failed read-ahead is read again in the next pass
      this.readAhead = { after, page: next };
    }
    // one PRODUCER span per piece of the page that one trace wrote (a run's page is one piece; its
    // context in every message's headers), not one per message: see traced-publish.ts
    const saves = { since: 0 };
    for (const seg of traceSegments(items.slice(0, n).map((it) => it.traceparent))) {
      if (signal.aborted) break;
      let messages = 0;
      for (let k = seg.start; k < seg.end; k++) messages += items[k]!.messages.length;
      const traces = items.slice(seg.start, seg.end).map((it) => it.traceparent);
      await publishPage(this.source.name, messages, (publish) => this.publishEntries(js, items, seg, publish, saves, signal), traces);
    }
    await this.persist();
    return true;
  }

  /**
   * Publishes entries [seg.start, seg.end) of a page. Publishes go out pipelined (up to
   * publishWindow unacknowledged), in log order on one connection, so the stream keeps that order;
   * the cursor moves only over an unbroken run of acknowledged entries, and a failure resends from
   * there (dedupe absorbs what was stored).
   */
  private async publishEntries(js: JetStreamClient, items: readonly RelayItem[], seg: TraceSegment, publish: PagePublish, saves: { since: number }, signal: AbortSignal): Promise<void> {
    const window = Math.max(1, this.opts.publishWindow ?? 1);
    let i = seg.start;
    while (i < seg.end && !signal.aborted) {
      const batch: Array<{ item: RelayItem; acks: Array<Promise<{ ack: PubAck; bucket: boolean; subject: string }>> }> = [];
      let inFlight = 0;
      for (; i < seg.end && (inFlight === 0 || inFlight + items[i]!.messages.length <= window); i++) {
        const item = items[i]!;
        const expected = (i === 0 ? this.cursor : items[i - 1]!.seq) + 1n;
        if (item.seq > expected) {
          this.log.warn(
            { relay: this.source.name, from: expected.toString(), to: (item.seq - 1n).toString() },
            'a sequence gap in the log stayed empty (a rolled-back or conflicting write); moving past it',
          );
        }
        const acks = item.messages.map((m) => publish(js, m, this.opts.publishTimeoutMs).then((ack) => ({ ack, bucket: m.subject.startsWith('$KV.'), subject: m.subject })));
        for (const a of acks) a.catch(() => undefined); // settled below, in order
        batch.push({ item, acks });
        inFlight += item.messages.length;
      }
      for (const { item, acks } of batch) {
        for (const a of acks) {
          const { ack, bucket, subject } = await a; // the first failure stops here: the cursor stays before this entry
          if (ack.duplicate) this.duplicates++;
          else if (bucket) this.bucketWrites++;
          else {
            this.published++;
            this.opts.onPublished?.(subject);
          }
        }
        this.cursor = item.seq;
        if (++saves.since >= this.opts.persistEvery) {
          await this.persist();
          saves.since = 0;
        }
      }
    }
  }

  private async persist(): Promise<void> {
    if (this.cursor === this.stored) return;
    const c = this.cursor;
    await this.store.save(this.source.name, c);
    this.stored = c;
  }
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
