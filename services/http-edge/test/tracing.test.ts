// One trace from the REST call to the catalog: the edge continues the caller's W3C context,
// makes a SERVER span named by the route, and its gRPC calls are children of it; the catalog (its
// own process) exports its SERVER span over OTLP as a child of the edge's CLIENT span.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { startOtlpReceiver, startTestTracing, waitFor, type TestTracing } from '@haier-sync/runtime/testing';
import { startEdgeStack, type EdgeStack } from './stack';

let tracing: TestTracing;
let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
let s: EdgeStack;

beforeAll(async () => {
  tracing = startTestTracing();
  otlp = await startOtlpReceiver();
  // the service processes trace and export to the receiver at once (OTEL_BSP_SCHEDULE_DELAY)
  s = await startEdgeStack({ orchestrator: false, processEnv: { OTEL_SDK_DISABLED: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '50' } });
}, 180_000);

afterAll(async () => {
  await s?.close();
  await otlp?.close();
  await tracing?.stop();
});

test('a REST call is one trace with the caller, the edge route span and the catalog RPC', async () => {
  tracing.reset();
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const callerSpan = '00f067aa0ba902b7';
  const r = await s.request('GET', '/api/haier/catalog/categories/', { key: s.keys.viewer, headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
  expect(r.status).toBe(200);
  const spans = await (async () => {
    for (let i = 0; i < 50; i++) {
      const found = tracing.spans().filter((x) => x.spanContext().traceId === traceId);
      if (found.some((x) => x.name === 'GET /api/haier/catalog/categories/') && found.some((x) => x.kind === SpanKind.CLIENT && x.name.includes('ListCategories'))) return found;
      await new Promise((res) => setTimeout(res, 50));
    }
    return tracing.spans().filter((x) => x.spanContext().traceId === traceId);
  })();
  const edge = spans.find((x) => x.name === 'GET /api/haier/catalog/categories/');
  expect(edge).toBeDefined();
  expect(edge!.kind).toBe(SpanKind.SERVER);
  expect(edge!.parentSpanContext?.spanId).toBe(callerSpan);
  expect(edge!.attributes['http.response.status_code']).toBe(200);
  expect(edge!.attributes['http.route']).toBe('/api/haier/catalog/categories/');
  const client = spans.find((x) => x.kind === SpanKind.CLIENT && x.name.includes('ListCategories'));
  expect(client?.parentSpanContext?.spanId).toBe(edge!.spanContext().spanId);
  // the catalog's span, from its process: same trace, a child of the edge's CLIENT span
  const server = await waitFor(() => otlp.spans().find((x) => x.traceId === traceId && x.kind === 2 && x.name.includes('ListCategories')), { timeoutMs: 10_000, what: "the catalog's SERVER span over OTLP" });
  expect(server.service).toBe('catalog');
  expect(server.parentSpanId).toBe(client!.spanContext().spanId);
  // no key material in any span
  expect(JSON.stringify(spans.map((x) => x.attributes))).not.toContain(s.keys.viewer);
});

test('a refused call still ends its span with the status', async () => {
  tracing.reset();
  const r = await s.request('GET', '/api/haier/catalog/brands/');
  expect(r.status).toBe(401);
  const span = tracing.spans().find((x) => x.name === 'GET /api/haier/catalog/brands/');
  expect(span?.attributes['http.response.status_code']).toBe(401);
  // a 4xx is the caller's mistake, not the server's: a SERVER span's status stays unset (OTel's
  // HTTP conventions), so a trace backend's error rate counts only 5xx
  expect(span?.status.code).toBe(SpanStatusCode.UNSET);
});
