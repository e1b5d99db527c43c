// Publishing to JetStream, traced per page: one PRODUCER span for each page of log entries the
// relay sends (not one per message: that span and its context cost more than the publish itself
// on a full sync), whose W3C trace context goes in every message's headers, with the content
// type, Nats-Msg-Id for dedupe, and the server's ack (duplicate or not).
//
// One trace per run (issue 14): each log row keeps the trace context of the work that wrote it (a
// catalog UpsertProducts call inside a run's batch, the run's planner or finaliser). The relay
// cuts a page where that trace changes (traceSegments: a run's page is one piece), and each
// piece's span is a child of its first row's context, so it and every subscriber continuing its
// header are in the run's trace, with one link per distinct context of its rows (the catalog calls
// of the batches that wrote them: a page of 500 rows from one call is one link). A link is cheap,
// a span per message is not.
import { ROOT_CONTEXT, context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { distinctLinks, spanContextOf } from '@haier-sync/runtime';
import { headers as natsHeaders, type JetStreamClient, type PubAck } from 'nats';

const tracer = trace.getTracer('@haier-sync/sync-orchestrator');

export interface OutgoingMessage {
  subject: string;
  data: Uint8Array;
  msgId: string;
  contentType: string;
}

/** Publishes one message of the page (within the page's span). */
export type PagePublish = (js: JetStreamClient, msg: OutgoingMessage, timeoutMs: number) => Promise<PubAck>;

/** A run of consecutive log entries [start, end) whose stored contexts share one trace (or have none). */
export interface TraceSegment {
  start: number;
  end: number;
}

/** Cuts a page's entries (their stored `traceparent`, in order) where the trace id changes. */
export function traceSegments(traceparents: readonly (string | null | undefined)[]): TraceSegment[] {
  const out: TraceSegment[] = [];
  let key: string | undefined;
  for (let i = 0; i < traceparents.length; i++) {
    const k = spanContextOf(traceparents[i])?.traceId ?? '';
    if (i === 0 || k !== key) out.push({ start: i, end: i + 1 });
    else out[out.length - 1]!.end = i + 1;
    key = k;
  }
  return out;
}

/**
 * Runs `send` inside one PRODUCER span named `<relay> publish` for a page of `messages` messages;
 * the `publish` it is given puts the span's trace context in each message's headers (worked out
 * once per page). `traceparents`: the stored contexts of the page's entries (one trace, as
 * traceSegments cuts them): the span is a child of the first and links to each distinct one; with
 * none it starts a trace of its own. Failures are recorded on the span; duplicates are counted on it.
 */
export async function publishPage<T>(relay: string, messages: number, send: (publish: PagePublish) => Promise<T>, traceparents: readonly (string | null | undefined)[] = []): Promise<T> {
  const links = distinctLinks(traceparents);
  // a child of the first stored context (the run's trace), else a trace of its own
  const parent = links.length > 0 ? trace.setSpanContext(ROOT_CONTEXT, links[0]!.context) : ROOT_CONTEXT;
  return tracer.startActiveSpan(
    `${relay} publish`,
    {
      kind: SpanKind.PRODUCER,
      links,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'publish',
        'messaging.operation.name': 'publish',
        'messaging.batch.message_count': messages,
      },
    },
    parent,
    async (span) => {
      const carrier: Record<string, string> = {};
      propagation.inject(context.active(), carrier);
      const traceHeaders = Object.entries(carrier);
      let duplicates = 0;
      let acked = 0;
      const publish: PagePublish = async (js, msg, timeoutMs) => {
        const h = natsHeaders();
        h.set('content-type', msg.contentType);
        for (const [k, v] of traceHeaders) h.set(k, v);
        const ack = await js.publish(msg.subject, msg.data, { msgID: msg.msgId, headers: h, timeout: timeoutMs });
        acked++;
        if (ack.duplicate) duplicates++;
        return ack;
      };
      try {
        return await send(publish);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: String((err as Error)?.message ?? err) });
        throw err;
      } finally {
        span.setAttribute('messaging.nats.acked', acked);
        span.setAttribute('messaging.nats.duplicates', duplicates);
        span.end();
      }
    },
  );
}
