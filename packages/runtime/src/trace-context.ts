// W3C trace context kept with a row (issue 14, "one trace per run"): the work that writes a row
// stores the `traceparent` of its active span in the row (a nullable text column), and the work
// that later picks the row up (a planner or worker claiming a run, the event relay reading the
// change log) continues that trace or links to it. Formatted and parsed here directly (the W3C
// `traceparent` header format, version 00), so it does not depend on which propagator is set.
import { randomBytes } from 'node:crypto';
import { ROOT_CONTEXT, TraceFlags, context, isSpanContextValid, trace, type Context, type Link, type SpanContext } from '@opentelemetry/api';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The span context a `traceparent` names (remote), or undefined for null, '' or a malformed or invalid value. */
export function spanContextOf(traceparent: string | null | undefined): SpanContext | undefined {
  if (!traceparent) return undefined;
  const m = TRACEPARENT.exec(traceparent);
  if (!m) return undefined;
  const sc: SpanContext = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  return isSpanContextValid(sc) ? sc : undefined;
}

/** The `traceparent` of a span context, or null when it is not valid (no span, tracing off). */
export function traceparentOf(sc: SpanContext | undefined): string | null {
  if (!sc || !isSpanContextValid(sc)) return null;
  return `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** The `traceparent` of the active span (what a row written now keeps), or null without one. */
export function activeTraceparent(ctx: Context = context.active()): string | null {
  return traceparentOf(trace.getSpanContext(ctx));
}

/** A context whose parent is the span a stored `traceparent` names (`base` unchanged when there is none). */
export function contextOfTraceparent(traceparent: string | null | undefined, base: Context = ROOT_CONTEXT): Context {
  const sc = spanContextOf(traceparent);
  return sc ? trace.setSpanContext(base, sc) : base;
}

/**
 * One link per distinct stored context, in first-seen order (a page of 500 rows written by one
 * batch is one link); rows without a context add none.
 */
export function distinctLinks(traceparents: Iterable<string | null | undefined>): Link[] {
  const seen = new Set<string>();
  const links: Link[] = [];
  for (const tp of traceparents) {
    if (!tp || seen.has(tp)) continue;
    seen.add(tp);
    const sc = spanContextOf(tp);
    if (sc) links.push({ context: sc });
  }
  return links;
}

/**
 * Runs `fn` outside any trace and unsampled: the spans it makes (an RPC, a query) do not record,
 * and the `traceparent` its calls send says "not sampled", so the services they reach record
 * nothing either. For polling that usually finds nothing (the event relay reading the logs 5 times
 * a second): a trace per poll would bury the traces that matter. The trace id is a fresh one, so
 * the log lines of the work still tell one poll from another.
 */
export function untraced<T>(fn: () => T): T {
  const sc: SpanContext = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex'), traceFlags: TraceFlags.NONE, isRemote: false };
  return context.with(trace.setSpanContext(ROOT_CONTEXT, sc), fn);
}
