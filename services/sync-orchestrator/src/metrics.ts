// The orchestrator's Prometheus metrics. Counted where things happen: runs as they end (by type,
// mode, trigger and outcome, with their duration), batches as they finish or fail, product
// outcomes per batch, events as NATS acknowledges them (by subject). Read at each scrape: the
// publisher's lag (entries written to a log and not yet acknowledged, and for how long the
// oldest of them has been waiting), NATS (re)connections, the newest successful run of each
// type and mode (from sync.runs, so it survives restarts and is the same on every replica), and
// the database pool.
import { Counter, counterFrom, gaugeFrom, Histogram, type Registry } from '@haier-sync/runtime';
import { ormPoolMetrics } from '@haier-sync/runtime/orm';
import type { MikroORM } from '@mikro-orm/postgresql';
import type { Knex } from './db';
import type { Publisher } from './events';
import type { RunRow } from './runs/model';

/** What the run engine tells the metrics. */
export interface RunObserver {
  /** A run reached its final status (SUCCESS, PARTIAL, FAILED). */
  runEnded(row: Pick<RunRow, 'sync_type' | 'mode' | 'trigger' | 'status' | 'started_at' | 'created_at' | 'completed_at'>): void;
  /** A batch attempt: done (its items counted), failed (tried again later) or deferred (a dependency was away). */
  batch(outcome: 'done' | 'failed' | 'deferred', items?: { created: number; updated: number; unchanged: number; failed: number }): void;
}

/** What the publisher tells the metrics: one event NATS acknowledged as new. */
export type PublishObserver = (subject: string) => void;

const RUN_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

const ms = (d: Date | string | null | undefined): number | undefined => (d == null ? undefined : new Date(d).getTime());

/**
 * How long the oldest unacknowledged entry of a log has existed, from the head seqs seen at each
 * scrape: the first time the head was seen past the cursor is when the oldest waiting entry was
 * known to exist (to within one scrape interval).
 */
export class LagClock {
  private seen: Array<{ head: bigint; at: number }> = [];

  secondsBehind(head: bigint, cursor: bigint, now = Date.now()): number {
    const last = this.seen[this.seen.length - 1];
    if (!last || head > last.head) this.seen.push({ head, at: now });
    // observations at or below the cursor are published: keep the newest of them as the floor
    while (this.seen.length > 1 && this.seen[1]!.head <= cursor) this.seen.shift();
    if (head <= cursor) return 0;
    const first = this.seen.find((s) => s.head > cursor) ?? this.seen[this.seen.length - 1]!;
    return Math.max(0, (now - first.at) / 1000);
  }
}

export interface SyncMetrics extends RunObserver {
  published: PublishObserver;
  /** Reads the publisher's lag and connections at each scrape. */
  watchPublisher(publisher: Publisher): void;
}

export function syncMetrics(registry: Registry, deps: { orm: MikroORM; knex: Knex }): SyncMetrics {
  ormPoolMetrics(registry, deps.orm);
  const runs = new Counter({
    name: 'sync_runs_total',
    help: 'Runs that ended, by sync type, mode, trigger and outcome (SUCCESS, PARTIAL, FAILED)',
    labelNames: ['type', 'mode', 'trigger', 'outcome'] as const,
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: 'sync_run_duration_seconds',
    help: 'Duration of the runs that ended (start to final status), by sync type and mode',
    labelNames: ['type', 'mode'] as const,
    buckets: RUN_BUCKETS,
    registers: [registry],
  });
  const batches = new Counter({ name: 'sync_batches_total', help: 'Batch attempts, by outcome (done, failed = tried again later, deferred = a dependency was away)', labelNames: ['outcome'] as const, registers: [registry] });
  const products = new Counter({ name: 'sync_products_total', help: 'Products of the batches done, by outcome (created, updated, unchanged, failed)', labelNames: ['outcome'] as const, registers: [registry] });
  const events = new Counter({ name: 'sync_events_published_total', help: 'Events NATS acknowledged as new (duplicates left out), by subject', labelNames: ['subject'] as const, registers: [registry] });

  gaugeFrom(
    registry,
    'sync_last_success_timestamp_seconds',
    'When the newest successful run (not a dry run) of each sync type and mode ended, as Unix seconds (from sync.runs)',
    async () => {
      const res = (await deps.knex.raw(
        `select sync_type, mode, extract(epoch from max(completed_at))::float8 as at from sync.runs
          where status = 'SUCCESS' and coalesce((options->>'dryRun')::boolean, false) = false group by sync_type, mode`,
      )) as { rows: Array<{ sync_type: string; mode: string; at: number }> };
      return res.rows.map((r) => ({ labels: { type: r.sync_type, mode: r.mode }, value: Number(r.at) }));
    },
    ['type', 'mode'] as const,
  );

  return {
    runEnded(row) {
      const labels = { type: row.sync_type, mode: row.mode, trigger: row.trigger };
      runs.inc({ ...labels, outcome: row.status });
      const start = ms(row.started_at) ?? ms(row.created_at);
      const end = ms(row.completed_at) ?? Date.now();
      if (start !== undefined) runDuration.observe({ type: row.sync_type, mode: row.mode }, Math.max(0, (end - start) / 1000));
    },
    batch(outcome, items) {
      batches.inc({ outcome });
      if (!items) return;
      for (const o of ['created', 'updated', 'unchanged', 'failed'] as const) if (items[o]) products.inc({ outcome: o }, items[o]);
    },
    published(subject) {
      events.inc({ subject });
    },
    watchPublisher(publisher) {
      const clocks = new Map<string, LagClock>();
      const leading = () => (publisher.leading() ? publisher.stats().relays : []);
      gaugeFrom(registry, 'sync_publisher_leader', '1 when this process holds the publisher lock and relays events', () => (publisher.leading() ? 1 : 0));
      gaugeFrom(
        registry,
        'sync_publisher_lag_events',
        'Log entries written and not yet acknowledged by NATS (head seq minus cursor), by relay (catalog, runs); on the leading publisher only',
        () => leading().map((r) => ({ labels: { relay: r.name }, value: r.lag })),
        ['relay'] as const,
      );
      gaugeFrom(
        registry,
        'sync_publisher_lag_seconds',
        'How long the oldest unacknowledged log entry has been waiting, by relay (to within a scrape interval); on the leading publisher only',
        () =>
          leading().map((r) => {
            let c = clocks.get(r.name);
            if (!c) clocks.set(r.name, (c = new LagClock()));
            return { labels: { relay: r.name }, value: c.secondsBehind(BigInt(r.headSeq), BigInt(r.cursor)) };
          }),
        ['relay'] as const,
      );
      counterFrom(registry, 'sync_nats_reconnects_total', 'Times the publisher connection to NATS came back after it was lost', () => Math.max(0, publisher.stats().connections - 1));
    },
  };
}
