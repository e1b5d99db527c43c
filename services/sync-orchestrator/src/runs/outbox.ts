// The run-event outbox (sync.run_events): a row per lifecycle event, written in the SAME
// transaction as the run's state change; the publisher (src/events) relays rows in seq order to
// `<NATS_SUBJECT_PREFIX><subject>` with Nats-Msg-Id = msg_id. `subject` is stored WITHOUT the
// prefix ("sync.run.started"); `payload` is events.RunEvent in protobuf binary.
import { create, toBinary } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { events, type sync } from '@haier-sync/contracts';
import { activeTraceparent } from '@haier-sync/runtime';
import type { Knex } from '../db';

export type RunEventKind = 'started' | 'progress' | 'completed' | 'failed';

/** The message id of a run event: one per run and kind; progress events are numbered. */
export function runEventMsgId(runId: string, kind: RunEventKind, n = 0): string {
  return kind === 'progress' ? `run:${runId}:progress:${n}` : `run:${runId}:${kind}`;
}

/**
 * Appends one run event. `db` is the transaction of the state change it reports.
 * `n` numbers progress events (ignored for other kinds). A repeated msg id is ignored.
 * The row keeps the trace context of the work writing it, or `runTrace` (the run's own, from its
 * row) when no span is active (the progress loop): the relay's PRODUCER span continues it.
 */
export async function appendRunEvent(db: Knex | Knex.Transaction, kind: RunEventKind, run: sync.Run, n = 0, runTrace?: string | null): Promise<void> {
  const payload = toBinary(events.RunEventSchema, create(events.RunEventSchema, { run, occurredAt: timestampNow() }));
  await db.raw(`insert into sync.run_events (subject, msg_id, payload, traceparent) values (?, ?, ?, ?) on conflict (msg_id) do nothing`, [
    `sync.run.${kind}`,
    runEventMsgId(run.id, kind, n),
    Buffer.from(payload),
    activeTraceparent() ?? runTrace ?? null,
  ]);
}
