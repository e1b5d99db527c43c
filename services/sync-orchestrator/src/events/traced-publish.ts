// Publishing to JetStream, traced per page: one PRODUCER span for each page of log entries the
// relay sends (not one per message: that span and its context cost more than the publish itself
// on a full sync), whose W3C trace context goes in every message's headers, with the content
// type, Nats-Msg-Id for dedupe, and the server's ack (duplicate or not). When change-log rows
// carry the trace context of the work that wrote them (issue 14), each becomes a link of the
// page's span: a link is cheap, a span per message is not.
import { context, propagation, SpanKind, SpanStatusCode, trace, type Link } from '@opentelemetry/api';
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

/**
 * Runs `send` inside one PRODUCER span named `<relay> publish` for a page of `messages` messages;
 * the `publish` it is given puts the span's trace context in each message's headers (worked out
 * once per page). Failures are recorded on the span; duplicates are counted on it.
 */
export async function publishPage<T>(relay: string, messages: number, send: (publish: PagePublish) => Promise<T>, links: Link[] = []): Promise<T> {
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
