// Publishing one message to JetStream: a PRODUCER span, W3C trace context in the headers,
// the content type, Nats-Msg-Id for dedupe, and the server's ack (duplicate or not).
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { headers as natsHeaders, type JetStreamClient, type MsgHdrs, type PubAck } from 'nats';

const tracer = trace.getTracer('@haier-sync/sync-orchestrator');

export interface OutgoingMessage {
  subject: string;
  data: Uint8Array;
  msgId: string;
  contentType: string;
}

const setter = { set: (carrier: MsgHdrs, key: string, value: string) => carrier.set(key, value) };

export async function publishTraced(js: JetStreamClient, msg: OutgoingMessage, timeoutMs: number): Promise<PubAck> {
  return tracer.startActiveSpan(
    `${msg.subject} publish`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        'messaging.system': 'nats',
        'messaging.operation.type': 'publish',
        'messaging.destination.name': msg.subject,
        'messaging.message.id': msg.msgId,
        'messaging.message.body.size': msg.data.byteLength,
      },
    },
    async (span) => {
      try {
        const h = natsHeaders();
        h.set('content-type', msg.contentType);
        propagation.inject(context.active(), h, setter);
        const ack = await js.publish(msg.subject, msg.data, { msgID: msg.msgId, headers: h, timeout: timeoutMs });
        span.setAttribute('messaging.nats.stream', ack.stream);
        span.setAttribute('messaging.nats.stream_seq', ack.seq);
        span.setAttribute('messaging.nats.duplicate', ack.duplicate);
        return ack;
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: String((err as Error)?.message ?? err) });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
