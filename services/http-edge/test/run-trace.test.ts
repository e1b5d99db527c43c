// One trace per run (issue 14): a small FULL run started over REST is one trace, from the edge's
// request through the orchestrator's StartRun, its planner and worker spans, the gateway's RPCs
// and their upstream HTTP calls, the catalog's RPCs and their Postgres statements, to the event
// relay's NATS publish spans (linked to the catalog writes that made the changes) and a subscriber
// that continues the message header. The services are built processes exporting over OTLP/HTTP to
// a receiver in this test; the edge runs in-process with in-memory spans; NATS is the machine's.
import { ROOT_CONTEXT, SpanKind, propagation, trace, type TextMapGetter } from '@opentelemetry/api';
import { startOtlpReceiver, startTestTracing, TEST_NATS_URL, uniqueId, waitFor, type ReceivedSpan, type TestTracing } from '@haier-sync/runtime/testing';
import { connect, type MsgHdrs, type NatsConnection, type Subscription } from 'nats';
import { deleteStreamsUnder, fullRunToEnd, startEdgeStack, type EdgeStack } from './stack';

jest.setTimeout(180_000);

const OTLP = { internal: 1, server: 2, client: 3, producer: 4 } as const;
const PRODUCTS = 40;

let tracing: TestTracing;
let otlp: Awaited<ReturnType<typeof startOtlpReceiver>>;
let stack: EdgeStack;
let nc: NatsConnection;
let sub: Subscription;
const prefix = `${uniqueId('trace')}.`;

/** What a subscriber does to continue the trace: extract `traceparent` from the NATS headers. */
const natsHeaders: TextMapGetter<MsgHdrs | undefined> = {
  keys: (h) => (h ? h.keys() : []),
  get: (h, key) => (h?.has(key) ? h.get(key) : undefined),
};

/** Subjects the subscriber saw, each with the span it made continuing the header. */
const consumed: { subject: string; traceparent: string }[] = [];

beforeAll(async () => {
  tracing = startTestTracing();
  otlp = await startOtlpReceiver();
  stack = await startEdgeStack({
    sim: { size: PRODUCTS, seed: 5 },
    logLevel: 'info',
    // every process traces and exports to the receiver at once
    processEnv: { OTEL_SDK_DISABLED: undefined, OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '50' },
    syncEnv: { SYNC_PUBLISHER_ENABLED: 'true', NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: prefix },
  });
  // a subscriber: one CONSUMER span per event, a child of the context in its header
  nc = await connect({ servers: TEST_NATS_URL });
  sub = nc.subscribe(`${prefix}>`);
  const tracer = trace.getTracer('run-trace-test-subscriber');
  void (async () => {
    for await (const m of sub) {
      const parent = propagation.extract(ROOT_CONTEXT, m.headers, natsHeaders);
      const span = tracer.startSpan(`${m.subject} process`, { kind: SpanKind.CONSUMER }, parent);
      span.end();
      consumed.push({ subject: m.subject, traceparent: m.headers?.get('traceparent') ?? '' });
    }
  })();
}, 180_000);

afterAll(async () => {
  sub?.unsubscribe();
  await nc?.close();
  await stack?.close();
  await deleteStreamsUnder(TEST_NATS_URL, prefix);
  await otlp?.close();
  await tracing?.stop();
});

test('a FULL run started over REST is one trace: edge → StartRun → planner and batches → gateway → Haier HTTP, catalog → Postgres, and the NATS publish spans link to the writes; a subscriber continues it', async () => {
  const { runId, run } = await fullRunToEnd(stack);
  expect(run.status).toBe('SUCCESS');
  expect(Number(run.counts.created)).toBe(PRODUCTS);

  // the edge's request span (in this process) starts the trace
  const edge = tracing.spans().find((s) => s.name === 'POST /api/haier/sync/' && s.kind === SpanKind.SERVER);
  expect(edge).toBeDefined();
  const traceId = edge!.spanContext().traceId;
  const edgeClient = tracing.spans().find((s) => s.spanContext().traceId === traceId && s.kind === SpanKind.CLIENT && s.name.endsWith('/StartRun'));
  expect(edgeClient?.parentSpanContext?.spanId).toBe(edge!.spanContext().spanId);

  // every change and the run's terminal event reached the subscriber, and their spans were exported
  await waitFor(() => consumed.filter((c) => c.subject === `${prefix}catalog.product.created`).length >= PRODUCTS && consumed.some((c) => c.subject === `${prefix}sync.run.completed`), {
    timeoutMs: 60_000,
    what: 'the run’s events at the subscriber',
  });
  const inTrace = (): ReceivedSpan[] => otlp.spans().filter((s) => s.traceId === traceId);
  await waitFor(() => inTrace().some((s) => s.name === 'runs publish' && s.kind === OTLP.producer) && inTrace().filter((s) => s.name === 'catalog publish').length > 0, {
    timeoutMs: 20_000,
    what: 'the publish spans over OTLP',
  });
  await new Promise((r) => setTimeout(r, 500)); // the last batches of spans (BSP every 50 ms)
  const spans = inTrace();
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const parentOf = (s: ReceivedSpan): ReceivedSpan | undefined => byId.get(s.parentSpanId);
  const ancestors = (s: ReceivedSpan): ReceivedSpan[] => {
    const out: ReceivedSpan[] = [];
    for (let p = parentOf(s); p; p = parentOf(p)) out.push(p);
    return out;
  };
  const named = (service: string, kind: number, suffix: string) => spans.filter((s) => s.service === service && s.kind === kind && s.name.endsWith(suffix));

  // edge → StartRun (the orchestrator's SERVER span, a child of the edge's CLIENT span)
  const startRun = named('sync-orchestrator', OTLP.server, '/StartRun');
  expect(startRun).toHaveLength(1);
  expect(startRun[0]!.parentSpanId).toBe(edgeClient!.spanContext().spanId);

  // → the planner and the worker batches, continued from the run row
  const plan = named('sync-orchestrator', OTLP.internal, 'run plan');
  const batches = named('sync-orchestrator', OTLP.internal, 'run batch');
  const finalize = named('sync-orchestrator', OTLP.internal, 'run finalize');
  expect(plan).toHaveLength(1);
  expect(finalize).toHaveLength(1);
  expect(batches).toHaveLength(PRODUCTS / 20);
  for (const s of [...plan, ...batches, ...finalize]) {
    expect(s.parentSpanId).toBe(startRun[0]!.spanId);
    expect(s.attributes['haier_sync.run_id']).toBe(runId);
  }
  const batchIds = new Set(batches.map((b) => b.spanId));

  // → gateway RPCs: the listing from the planner, the prices from each batch; the gateway's SERVER spans are their children
  const listing = named('sync-orchestrator', OTLP.client, '/StreamAllProducts');
  expect(listing.map((s) => s.parentSpanId)).toEqual([plan[0]!.spanId]);
  const priceCalls = named('sync-orchestrator', OTLP.client, '/GetPrices');
  expect(priceCalls.length).toBe(batches.length);
  for (const c of priceCalls) expect(batchIds.has(c.parentSpanId)).toBe(true);
  const gatewayServer = named('haier-gateway', OTLP.server, '/GetPrices');
  expect(gatewayServer.map((s) => s.parentSpanId).sort()).toEqual(priceCalls.map((s) => s.spanId).sort());

  // → upstream HTTP client spans (undici) under the gateway's RPCs
  const upstream = spans.filter((s) => s.service === 'haier-gateway' && s.kind === OTLP.client && String(s.attributes['url.full'] ?? '').startsWith(stack.sim.url));
  expect(upstream.length).toBeGreaterThanOrEqual(1 + batches.length); // the listing and a prices call per batch (a token call too)
  for (const u of upstream) expect(ancestors(u).some((a) => a.service === 'haier-gateway' && a.kind === OTLP.server)).toBe(true);
  for (const g of gatewayServer) expect(upstream.some((u) => ancestors(u).includes(g))).toBe(true);

  // → catalog RPCs (UpsertProducts from the batches) and their Postgres spans
  const upsertClients = named('sync-orchestrator', OTLP.client, '/UpsertProducts');
  expect(upsertClients.length).toBeGreaterThanOrEqual(1);
  for (const c of upsertClients) expect(batchIds.has(c.parentSpanId)).toBe(true);
  const upsertServers = named('catalog', OTLP.server, '/UpsertProducts');
  expect(upsertServers.map((s) => s.parentSpanId).sort()).toEqual(upsertClients.map((s) => s.spanId).sort());
  const pgSpans = spans.filter((s) => s.service === 'catalog' && s.kind === OTLP.client && s.attributes['db.system.name'] === 'postgresql');
  for (const u of upsertServers) expect(pgSpans.some((p) => ancestors(p).includes(u))).toBe(true);
  // the delisting check at the end: the finaliser's MarkDelisted
  expect(named('sync-orchestrator', OTLP.client, '/MarkDelisted').map((s) => s.parentSpanId)).toEqual([finalize[0]!.spanId]);

  // → the relay's NATS publish spans of the changes: in the run's trace, linked to the catalog
  //   calls that wrote them (each a child of a batch's UpsertProducts call), one link per call
  const catalogPublish = spans.filter((s) => s.name === 'catalog publish' && s.kind === OTLP.producer);
  expect(catalogPublish.reduce((n, s) => n + Number(s.attributes['messaging.batch.message_count']), 0)).toBe(2 * PRODUCTS); // event + bucket value each
  const upsertServerIds = new Set(upsertServers.map((s) => s.spanId));
  const linked = catalogPublish.flatMap((s) => s.links);
  for (const s of catalogPublish) {
    expect(s.links.length).toBeGreaterThanOrEqual(1);
    expect(new Set(s.links.map((l) => l.spanId)).size).toBe(s.links.length); // deduplicated
    expect(s.links.length).toBeLessThan(Number(s.attributes['messaging.batch.message_count'])); // not a link per message
    expect(upsertServerIds.has(s.parentSpanId)).toBe(true);
  }
  for (const l of linked) {
    expect(l.traceId).toBe(traceId);
    const writer = byId.get(l.spanId)!;
    expect(upsertServerIds.has(writer.spanId)).toBe(true);
    expect(ancestors(writer).some((a) => batchIds.has(a.spanId))).toBe(true);
  }
  // every catalog call that wrote a change is linked
  expect(new Set(linked.map((l) => l.spanId))).toEqual(upsertServerIds);

  // the relay's polls (ReadChanges 5 times a second while idle) make no trace of their own, on
  // either side: they would bury the runs' traces
  expect(otlp.spans().filter((s) => s.name.endsWith('/ReadChanges')).map((s) => `${s.service} ${s.name}`)).toEqual([]);

  // the run's lifecycle events: published in its trace, linked to the planner (started) and the finaliser (completed)
  const runsPublish = spans.filter((s) => s.name === 'runs publish' && s.kind === OTLP.producer);
  const runLinks = new Set(runsPublish.flatMap((s) => s.links.map((l) => l.spanId)));
  expect(runLinks.has(plan[0]!.spanId)).toBe(true);
  expect(runLinks.has(finalize[0]!.spanId)).toBe(true);

  // a subscriber continuing the header: its span is in the run's trace, a child of a publish span
  const publishIds = new Set([...catalogPublish, ...runsPublish].map((s) => s.spanId));
  const consumer = tracing.spans().filter((s) => s.kind === SpanKind.CONSUMER && s.name.startsWith(prefix));
  const ofRun = consumer.filter((s) => s.name === `${prefix}catalog.product.created process` || s.name === `${prefix}sync.run.completed process`);
  expect(ofRun.length).toBeGreaterThanOrEqual(PRODUCTS + 1);
  for (const c of ofRun) {
    expect(c.spanContext().traceId).toBe(traceId);
    expect(publishIds.has(c.parentSpanContext!.spanId)).toBe(true);
  }
});
