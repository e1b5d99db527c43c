// `haier-sync events tail|status`: the event streams from the terminal. `tail` reads NATS itself
// (an ordered, ephemeral consumer per stream: nothing is acknowledged, no durable state is left
// behind); `status` asks the sync-orchestrator, which reads the publisher's cursors, the logs'
// heads and JetStream's bookkeeping.
import { fromBinary, toJson, type DescMessage } from '@bufbuild/protobuf';
import { events, sync } from '@haier-sync/contracts';
import { connect, DeliverPolicy, type JsMsg, type NatsConnection, type OrderedConsumerOptions } from 'nats';
import { isNotFound } from '../../events/streams';
import { CONTENT_TYPES, normalisePrefix, streamSpecs } from '../../events/subjects';
import { CliFailure } from '../client';
import type { CliContext } from '../context';
import { EXIT } from '../exit-codes';
import { isoTime, runHeadline, statusLabel } from '../format';
import { UsageError } from '../options';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** `--since`: a stream sequence (a whole number) or a time. */
export type Since = { seq: number } | { time: Date };

export interface TailOptions {
  subject?: string;
  since?: Since;
  json?: boolean;
  /** Stop after this many events (scripts, tests). */
  max?: number;
}

const PAYLOADS: Record<string, DescMessage> = {
  [CONTENT_TYPES.productChanged]: events.ProductChangedSchema,
  [CONTENT_TYPES.stockLow]: events.StockLowSchema,
  [CONTENT_TYPES.runEvent]: events.RunEventSchema,
};

const SUBJECT_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * Which streams a subject filter reads, and the filter under the deployment's prefix. One filter
 * subject per consumer: NATS 2.9 has no multi-filter consumers (2.10 would allow several).
 */
export function tailTargets(prefix: string, subject: string | undefined): Array<{ stream: string; filter?: string }> {
  const specs = streamSpecs(prefix);
  if (subject === undefined) return [{ stream: specs.catalog.name }, { stream: specs.sync.name }];
  const s = subject.trim();
  const tokens = s.split('.');
  const wellFormed = tokens.every((t, i) => SUBJECT_TOKEN.test(t) || t === '*' || (t === '>' && i === tokens.length - 1));
  if (!wellFormed || tokens.length < 2) {
    throw new UsageError(`--subject "${subject}" is not a NATS subject; give one like catalog.product.price_changed, catalog.product.* or sync.run.>`);
  }
  const p = normalisePrefix(prefix);
  if (tokens[0] === 'catalog') return [{ stream: specs.catalog.name, filter: `${p}${s}` }];
  if (tokens[0] === 'sync') return [{ stream: specs.sync.name, filter: `${p}${s}` }];
  throw new UsageError(`--subject "${subject}" is in no event stream; subjects start with catalog. (products, stock) or sync. (runs), e.g. catalog.product.price_changed`);
}

function fieldText(f: { field: string; before: string; after: string }): string {
  const v = (json: string): string => {
    try {
      const x: unknown = JSON.parse(json);
      return typeof x === 'string' ? x : json;
    } catch {
      return json;
    }
  };
  return `${f.field} ${v(f.before)}→${v(f.after)}`;
}

/** One line per event: when, where in the stream, the subject, then what happened. */
export function eventLine(stream: string, streamSeq: number, subject: string, time: Date, payload: unknown): string {
  const head = `${time.toISOString().replace(/\.\d{3}Z$/, 'Z')} ${stream}#${streamSeq} ${subject}`;
  const m = payload as { $typeName?: string };
  switch (m.$typeName) {
    case events.ProductChangedSchema.typeName: {
      const c = payload as events.ProductChanged;
      const fields = c.fields.length ? `: ${c.fields.slice(0, 4).map(fieldText).join(', ')}${c.fields.length > 4 ? `, … (${c.fields.length} fields)` : ''}` : '';
      return `${head} ${c.productCode} v${c.version} (change ${c.seq}${c.runId ? `, run ${c.runId}` : ''})${fields}`;
    }
    case events.StockLowSchema.typeName: {
      const s = payload as events.StockLow;
      return `${head} ${s.productCode} county ${s.countyCode}: ${s.quantity} left (threshold ${s.threshold})${s.runId ? `, run ${s.runId}` : ''}`;
    }
    case events.RunEventSchema.typeName: {
      const r = (payload as events.RunEvent).run;
      return r ? `${head} ${runHeadline(r)} — ${statusLabel(r.status)}` : `${head} (a run event without its run)`;
    }
    default:
      return `${head} (${String(payload)})`;
  }
}

function decode(msg: JsMsg): { payload: unknown; schema?: DescMessage } {
  const ct = msg.headers?.get('content-type') ?? '';
  const schema = PAYLOADS[ct];
  if (!schema) return { payload: `${msg.data.length} bytes of ${ct || 'unknown content type'}` };
  try {
    return { payload: fromBinary(schema, msg.data), schema };
  } catch (e) {
    return { payload: `undecodable ${schema.typeName}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function natsUrl(ctx: CliContext): string {
  return (ctx.io.env['NATS_URL'] ?? '').trim() || DEFAULT_NATS_URL;
}

async function connectNats(ctx: CliContext): Promise<NatsConnection> {
  const url = natsUrl(ctx);
  try {
    return await connect({ servers: url, name: 'haier-sync-cli', reconnect: false, timeout: 5_000 });
  } catch (e) {
    throw new CliFailure(
      `haier-sync: cannot reach NATS at ${url} (${e instanceof Error ? e.message : String(e)}); start it, or point NATS_URL at where it runs (e.g. NATS_URL=nats://nats:4222)`,
      EXIT.UNAVAILABLE,
    );
  }
}

function startOptions(since: Since | undefined): Partial<OrderedConsumerOptions> {
  if (!since) return { deliver_policy: DeliverPolicy.New };
  if ('seq' in since) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: since.seq };
  return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: since.time.toISOString() };
}

export async function eventsTail(ctx: CliContext, o: TailOptions): Promise<void> {
  const prefix = normalisePrefix(ctx.io.env['NATS_SUBJECT_PREFIX']);
  const targets = tailTargets(prefix, o.subject);
  if (o.since && 'seq' in o.since && targets.length > 1) {
    throw new UsageError('--since with a sequence number needs --subject: each stream numbers its messages itself (give a time to read both streams)');
  }
  const nc = await connectNats(ctx);
  const jsm = await nc.jetstreamManager();
  for (const t of targets) {
    await jsm.streams.info(t.stream).catch((err: unknown) => {
      if (!isNotFound(err)) throw err;
      throw new CliFailure(`haier-sync: stream ${t.stream} does not exist on NATS at ${natsUrl(ctx)}; it is created when the sync-orchestrator's publisher first connects (check NATS_SUBJECT_PREFIX)`, EXIT.FAILED);
    });
  }
  let seen = 0;
  const done = new AbortController();
  const onSignal = (): void => done.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!o.json) ctx.note(`following ${targets.map((t) => t.filter ?? `${t.stream} (all subjects)`).join(' and ')} on ${natsUrl(ctx)}; Ctrl-C to stop`);
    const readers = targets.map(async (t) => {
      const consumer = await nc.jetstream().consumers.get(t.stream, { ...startOptions(o.since), ...(t.filter ? { filterSubjects: t.filter } : {}) });
      const messages = await consumer.consume({ max_messages: 256 });
      done.signal.addEventListener('abort', () => void messages.close(), { once: true });
      for await (const m of messages) {
        const { payload, schema } = decode(m);
        const time = new Date(Math.floor(m.info.timestampNanos / 1e6));
        if (o.json) {
          ctx.io.out.write(
            `${JSON.stringify({
              stream: t.stream,
              streamSeq: m.seq,
              subject: m.subject,
              msgId: m.headers?.get('Nats-Msg-Id') ?? '',
              time: time.toISOString(),
              payload: schema ? toJson(schema, payload as never, { alwaysEmitImplicit: true }) : payload,
            })}\n`,
          );
        } else ctx.print(eventLine(t.stream, m.seq, m.subject, time, payload));
        seen++;
        if (o.max !== undefined && seen >= o.max) done.abort();
        if (done.signal.aborted) break;
      }
    });
    await Promise.all(readers);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await nc.close();
  }
}

export async function eventsStatus(ctx: CliContext, o: { json?: boolean }): Promise<void> {
  const res = await ctx.sync().getEventsStatus({});
  if (o.json) return ctx.printJson(toJson(sync.GetEventsStatusResponseSchema, res, { alwaysEmitImplicit: true }));
  ctx.print(statusText(res));
  if (res.natsError || res.logs.some((l) => l.error)) ctx.exitCode = EXIT.FAILED;
}

/** The status as text: the publisher's position per log, then each stream with its consumers. */
export function statusText(res: sync.GetEventsStatusResponse): string {
  const lines: string[] = ['publisher (entries written → acknowledged by NATS):'];
  for (const l of res.logs) {
    const what = l.name === 'catalog' ? 'catalog change log' : l.name === 'runs' ? 'run events outbox' : l.name;
    lines.push(
      l.error
        ? `  ${what}: published up to ${l.publishedSeq}; head unknown: ${l.error}`
        : `  ${what}: head ${l.headSeq}, published ${l.publishedSeq}, lag ${l.lag}${l.cursorUpdatedAt ? ` (cursor moved ${isoTime(l.cursorUpdatedAt)})` : ''}`,
    );
  }
  if (res.natsError) lines.push(`NATS: ${res.natsError}`);
  for (const s of res.streams) {
    lines.push(
      `stream ${s.name} [${s.subjects.join(', ')}]: ${s.messages} messages, ${s.bytes} bytes, seq ${s.firstSeq}..${s.lastSeq}` +
        (s.lastTime ? `, last at ${isoTime(s.lastTime)}` : ''),
    );
    if (!s.consumers.length) lines.push('  no consumers');
    for (const c of s.consumers) {
      lines.push(
        `  ${c.durable ? 'durable' : 'ephemeral'} ${c.name}${c.filterSubject ? ` (${c.filterSubject})` : ''}: ${c.numPending} pending, ${c.numAckPending} awaiting ack, ${c.numRedelivered} redelivered, at seq ${c.deliveredStreamSeq}`,
      );
    }
  }
  if (res.natsServerVersion) lines.push(`(NATS server ${res.natsServerVersion}${res.subjectPrefix ? `, subject prefix "${res.subjectPrefix}"` : ''})`);
  return lines.join('\n');
}

/** `--since`: a whole number is a stream sequence, anything else a time (as `runs list --since`). */
export function parseSince(value: string, parseTime: (name: string, v: string) => Date): Since {
  const v = value.trim();
  if (/^\d+$/.test(v)) {
    const seq = Number(v);
    if (!Number.isSafeInteger(seq) || seq < 1) throw new UsageError(`--since ${value}: a stream sequence starts at 1`);
    return { seq };
  }
  return { time: parseTime('--since', v) };
}

