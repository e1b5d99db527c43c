// The trace context a row keeps (trace-context.ts): formatted and parsed as W3C traceparent,
// continued as a parent, and turned into one link per distinct context.
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { activeTraceparent, contextOfTraceparent, distinctLinks, spanContextOf, traceparentOf } from '../src/trace-context';

const A = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const B = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b8-00';

test('a traceparent round-trips through its span context; malformed, empty or all-zero ones are none', () => {
  const sc = spanContextOf(A);
  expect(sc).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
  expect(traceparentOf(sc)).toBe(A);
  expect(traceparentOf(spanContextOf(B))).toBe(B);
  for (const bad of [null, undefined, '', 'garbage', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`]) {
    expect(spanContextOf(bad)).toBeUndefined();
  }
});

test('a stored traceparent becomes the parent of what continues it; without one the base context stays', () => {
  expect(activeTraceparent(contextOfTraceparent(A))).toBe(A);
  expect(contextOfTraceparent(null)).toBe(ROOT_CONTEXT);
  expect(trace.getSpanContext(contextOfTraceparent('nonsense'))).toBeUndefined();
  expect(activeTraceparent(ROOT_CONTEXT)).toBeNull();
});

test('links: one per distinct context, in first-seen order, none for rows without one', () => {
  const links = distinctLinks([A, A, null, B, A, '', undefined, B]);
  expect(links.map((l) => traceparentOf(l.context))).toEqual([A, B]);
  expect(distinctLinks(Array.from({ length: 500 }, () => A))).toHaveLength(1);
  expect(distinctLinks([null, undefined])).toEqual([]);
});
