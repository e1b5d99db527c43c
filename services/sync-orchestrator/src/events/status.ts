// GetEventsStatus: where the publisher stands in each log it relays (head seq, the stored cursor,
// the lag between them) and what the NATS streams and their consumers hold. Read from durable
// state (the cursor table, the logs' heads, JetStream's own bookkeeping), so any replica answers
// the same whether or not it is the one publishing now.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Client } from '@connectrpc/connect';
import { sync, type catalog } from '@haier-sync/contracts';
import type { Knex } from '../db';
import type { ManagedNats } from './nats-connection';
import { isNotFound } from './streams';
import { normalisePrefix, streamSpecs } from './subjects';

export interface EventsStatusDeps {
  knex: Knex;
  catalog: Client<typeof catalog.CatalogService>;
  /** The process's NATS connection (made on first use when the publisher is off here). */
  nats: () => ManagedNats;
  subjectPrefix?: string;
  /** How long to wait for NATS before answering without the streams (default 2000 ms). */
  natsWaitMs?: number;
}

type Status = sync.GetEventsStatusResponse;

const reason = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** JetStream keeps nanosecond ISO strings; a Timestamp only when the time is real (not year 1). */
function stamp(iso: string | undefined): ReturnType<typeof timestampFromDate> | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1971 ? undefined : timestampFromDate(d);
}

async function relayedLogs(deps: EventsStatusDeps): Promise<sync.RelayedLog[]> {
  const cursors = await deps.knex.raw<{ rows: Array<{ name: string; seq: string; updated_at: Date }> }>(
    'select name, seq::text as seq, updated_at from sync.publisher_cursor',
  );
  const cursor = new Map(cursors.rows.map((r) => [r.name, r]));
  const log = (name: string, head: bigint | undefined, error = ''): sync.RelayedLog => {
    const c = cursor.get(name);
    const published = BigInt(c?.seq ?? '0');
    return create(sync.RelayedLogSchema, {
      name,
      headSeq: head ?? 0n,
      publishedSeq: published,
      lag: head !== undefined && head > published ? head - published : 0n,
      ...(c ? { cursorUpdatedAt: timestampFromDate(new Date(c.updated_at)) } : {}),
      error,
    });
  };
  let catalogLog: sync.RelayedLog;
  try {
    const res = await deps.catalog.readChanges({ afterSeq: BigInt(cursor.get('catalog')?.seq ?? '0'), limit: 1 });
    catalogLog = log('catalog', res.headSeq);
  } catch (err) {
    catalogLog = log('catalog', undefined, `the catalog's change log could not be read: ${reason(err)}`);
  }
  const runs = await deps.knex.raw<{ rows: Array<{ head: string | null }> }>('select max(seq)::text as head from sync.run_events');
  return [catalogLog, log('runs', BigInt(runs.rows[0]?.head ?? '0'))];
}

async function streams(deps: EventsStatusDeps, prefix: string): Promise<Pick<Status, 'streams' | 'natsError' | 'natsServerVersion'>> {
  const managed = deps.nats();
  const wait = deps.natsWaitMs ?? 2_000;
  const nc =
    managed.current() ??
    (await Promise.race([managed.ready(), new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), wait).unref())]));
  if (!nc) {
    return { streams: [], natsError: `NATS could not be reached within ${wait} ms; check NATS_URL and that the server is up`, natsServerVersion: '' };
  }
  const jsm = await nc.jetstreamManager();
  const specs = streamSpecs(prefix);
  const out: sync.EventStream[] = [];
  const missing: string[] = [];
  for (const spec of [specs.catalog, specs.sync]) {
    let info;
    try {
      info = await jsm.streams.info(spec.name);
    } catch (err) {
      if (isNotFound(err)) {
        missing.push(spec.name);
        continue;
      }
      throw err;
    }
    const consumers: sync.EventConsumer[] = [];
    for await (const c of jsm.consumers.list(spec.name)) {
      consumers.push(
        create(sync.EventConsumerSchema, {
          name: c.name,
          durable: Boolean(c.config.durable_name),
          filterSubject: c.config.filter_subject ?? (c.config.filter_subjects ?? []).join(','),
          numPending: BigInt(c.num_pending),
          numAckPending: BigInt(c.num_ack_pending),
          numRedelivered: BigInt(c.num_redelivered),
          deliveredStreamSeq: BigInt(c.delivered.stream_seq),
        }),
      );
    }
    consumers.sort((a, b) => a.name.localeCompare(b.name));
    out.push(
      create(sync.EventStreamSchema, {
        name: info.config.name,
        subjects: info.config.subjects ?? [],
        messages: BigInt(info.state.messages),
        bytes: BigInt(info.state.bytes),
        firstSeq: BigInt(info.state.first_seq),
        lastSeq: BigInt(info.state.last_seq),
        ...(stamp(info.state.first_ts) ? { firstTime: stamp(info.state.first_ts) } : {}),
        ...(stamp(info.state.last_ts) ? { lastTime: stamp(info.state.last_ts) } : {}),
        consumers,
      }),
    );
  }
  return {
    streams: out,
    natsError: missing.length ? `stream ${missing.join(' and ')} does not exist yet: the publisher creates it when it first connects` : '',
    natsServerVersion: nc.info?.version ?? '',
  };
}

export async function eventsStatus(deps: EventsStatusDeps): Promise<Status> {
  const prefix = normalisePrefix(deps.subjectPrefix);
  const [logs, nats] = await Promise.all([
    relayedLogs(deps),
    streams(deps, prefix).catch((err: unknown) => ({ streams: [], natsError: `the NATS streams could not be read: ${reason(err)}`, natsServerVersion: '' })),
  ]);
  return create(sync.GetEventsStatusResponseSchema, { logs, subjectPrefix: prefix, ...nats });
}
