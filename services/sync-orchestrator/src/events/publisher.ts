// The event publisher: relays the catalog change log to stream CATALOG and the run_events
// outbox to stream SYNC, each in order with its own cursor. Decoupled from runs: when NATS or
// the catalog is down it keeps retrying and catches up later.
import type { Client } from '@connectrpc/connect';
import type { catalog } from '@haier-sync/contracts';
import type { Logger } from '@haier-sync/runtime';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ormCursorStore, type CursorStore } from './cursor-store';
import { createManagedNats, type ManagedNats } from './nats-connection';
import { acquireLeadership, leadershipTerm } from './leadership';
import { Relay, type RelayStats } from './relay';
import { catalogChangeSource, runEventsSource, type RelaySource } from './sources';
import { ensureStreams, type StreamLimits } from './streams';
import { normalisePrefix } from './subjects';

export interface PublisherOptions {
  catalog: Client<typeof catalog.CatalogService>;
  orm: MikroORM;
  natsUrl: string;
  subjectPrefix?: string;
  logger: Logger;
  /** SYNC_LOW_STOCK_THRESHOLD (default 5). */
  lowStockThreshold?: number;
  /** The county of the headline stock (first of SYNC_COUNTIES). */
  defaultCounty?: string;
  /** Stream limits (NATS_DUPLICATE_WINDOW_S, NATS_MAX_AGE_H, NATS_MAX_BYTES). */
  duplicateWindowS?: number;
  maxAgeH?: number;
  maxBytes?: number;
  /** Poll interval when idle, default 200 ms. */
  idlePollMs?: number;
  /** Changes read per ReadChanges call, default 500. */
  pageSize?: number;
  publishTimeoutMs?: number;
  /** Messages in flight before their acks are awaited, default 64 (order is kept: one connection). */
  publishWindow?: number;
  persistEvery?: number;
  gapWaitMs?: number;
  /** Relay only these logs (default both). */
  relays?: Array<'catalog' | 'runs'>;
  /** Injected for tests; default the sync.publisher_cursor table. */
  cursorStore?: CursorStore;
  /**
   * One publisher per database at a time (a Postgres advisory lock), default on; replicas stand
   * by and take over. Off only where a test runs a relay alone on purpose.
   */
  leaderElection?: boolean;
  /** Database of the lock (default: the ORM's clientUrl). */
  databaseUrl?: string;
  /** How often a standing-by publisher tries the lock (default 1000 ms). */
  leaderPollMs?: number;
  /** Each event NATS acknowledged as new, by subject (the metrics). */
  onPublished?: (subject: string) => void;
  /** Use an existing managed connection instead of opening one (not closed by stop()). */
  nats?: ManagedNats;
}

export interface PublisherStats {
  published: number;
  duplicates: number;
  /** Entries written to the logs and not yet acknowledged by NATS (head_seq − cursor, summed). */
  lag: number;
  lastError?: string;
  relays: RelayStats[];
  /** NATS connections made so far (the first, then one per reconnect). */
  connections: number;
}

export interface Publisher {
  stop(): Promise<void>;
  /** Whether this process holds the publisher lock and relays now. */
  leading(): boolean;
  stats(): PublisherStats;
}

export function startPublisher(opts: PublisherOptions): Publisher {
  const log = opts.logger.child({ component: 'publisher' });
  const prefix = normalisePrefix(opts.subjectPrefix);
  const nats = opts.nats ?? createManagedNats({ url: opts.natsUrl, logger: log, name: 'sync-orchestrator-publisher' });
  const limits: StreamLimits = {
    prefix,
    duplicateWindowS: opts.duplicateWindowS ?? 600,
    maxAgeH: opts.maxAgeH ?? 168,
    maxBytes: opts.maxBytes ?? -1,
  };

  // streams are (re)ensured once per NATS connection: a restarted server without its store gets them back
  let ensuredGen = -1;
  let ensuring: Promise<void> | undefined;
  const prepare = async (): Promise<void> => {
    const gen = nats.generation();
    if (gen === ensuredGen) return;
    ensuring ??= (async () => {
      // not ready(): that waits for a reconnect, which stop() could not interrupt
      const nc = nats.current();
      if (!nc) throw new Error('NATS is not connected; the event streams are set up once it is back');
      const res = await ensureStreams(nc, limits);
      ensuredGen = gen;
      log.info({ streams: res }, 'NATS streams ready');
    })().finally(() => (ensuring = undefined));
    await ensuring;
  };

  const store = opts.cursorStore ?? ormCursorStore(opts.orm);
  const relayOpts = {
    pageSize: opts.pageSize ?? 500,
    idlePollMs: opts.idlePollMs ?? 200,
    publishTimeoutMs: opts.publishTimeoutMs ?? 5_000,
    publishWindow: opts.publishWindow ?? 64,
    persistEvery: opts.persistEvery ?? 100,
    gapWaitMs: opts.gapWaitMs ?? 2_000,
    onPublished: opts.onPublished,
    prepare,
  };
  const wanted = opts.relays ?? ['catalog', 'runs'];
  const sources: RelaySource[] = [];
  if (wanted.includes('catalog')) {
    sources.push(catalogChangeSource(opts.catalog, prefix, { threshold: opts.lowStockThreshold ?? 5, defaultCounty: opts.defaultCounty }));
  }
  if (wanted.includes('runs')) sources.push(runEventsSource(opts.orm, prefix));
  let relays: Relay[] = [];
  const abort = new AbortController();
  const dbUrl = opts.databaseUrl ?? (opts.orm.config.get('clientUrl') as string | undefined);
  let leading = false;

  const running = (async (): Promise<void> => {
    if (opts.leaderElection === false || !dbUrl) {
      relays = sources.map((s) => new Relay(s, store, nats, log, relayOpts));
      leading = true;
      await Promise.allSettled(relays.map((r) => r.run(abort.signal)));
      return;
    }
    // one publisher per database at a time; a term ends when the lock is lost or on stop()
    while (!abort.signal.aborted) {
      const lead = await acquireLeadership({ databaseUrl: dbUrl, logger: log, pollMs: opts.leaderPollMs }, abort.signal);
      if (!lead) break;
      // stop() may have come while the lock was being taken: the term is then over before it starts
      const term = leadershipTerm(abort.signal, lead.lost);
      // fresh relays per term: each starts from the stored cursor
      relays = sources.map((s) => new Relay(s, store, nats, log, relayOpts));
      leading = true;
      await Promise.allSettled(relays.map((r) => r.run(term.signal)));
      leading = false;
      term.dispose();
      await lead.release();
    }
  })();
  log.info({ prefix, relays: sources.map((s) => s.name) }, 'event publisher started');

  return {
    async stop() {
      abort.abort();
      await running.catch(() => undefined);
      if (!opts.nats) await nats.close();
      log.info('event publisher stopped');
    },
    leading: () => leading,
    stats() {
      const rs = relays.map((r) => r.stats());
      const lastError = rs.find((r) => r.lastError)?.lastError;
      return {
        published: rs.reduce((a, r) => a + r.published, 0),
        duplicates: rs.reduce((a, r) => a + r.duplicates, 0),
        lag: rs.reduce((a, r) => a + r.lag, 0),
        ...(lastError !== undefined ? { lastError } : {}),
        relays: rs,
        connections: nats.generation(),
      };
    },
  };
}
