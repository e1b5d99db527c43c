// End to end through REST only (the simulator's /__sim control stands in for Haier changing a
// price): start a full sync, follow its Server-Sent Events to the end, read a product, change its
// price at "Haier", run an incremental price sync, read the price history showing the change, and
// find both runs in the /logs/ listing. Plus the SSE stream's edges: unknown run, finished run,
// a client that goes away.
import { waitFor } from '@haier-sync/runtime/testing';
import { startEdgeStack, type EdgeStack } from './stack';

jest.setTimeout(300_000);

let stack: EdgeStack;
let operator: string;
let viewer: string;

interface SseEvent {
  id?: string;
  event: string;
  data: unknown;
}

interface RunOut {
  id: string;
  sync_type: string;
  mode: string;
  status: string;
  finished?: boolean;
  counts: Record<string, number>;
}

/** Reads a text/event-stream answer to its end (or until `stopAfter` events, or an event named `stopOn`), parsing each event. */
async function readSse(path: string, key: string, opts: { timeoutMs?: number; stopAfter?: number; stopOn?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; contentType: string; headers: Headers; events: SseEvent[]; comments: number }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), opts.timeoutMs ?? 180_000);
  try {
    const res = await fetch(`${stack.baseUrl}${path}`, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...opts.headers }, signal: ac.signal });
    const contentType = res.headers.get('content-type') ?? '';
    const events: SseEvent[] = [];
    let comments = 0;
    if (!res.body || !contentType.startsWith('text/event-stream')) return { status: res.status, contentType, headers: res.headers, events, comments };
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        const ev: SseEvent = { event: 'message', data: undefined };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comments++;
          else if (line.startsWith('event: ')) ev.event = line.slice(7);
          else if (line.startsWith('id: ')) ev.id = line.slice(4);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length) {
          ev.data = JSON.parse(data.join('\n'));
          events.push(ev);
        }
      }
      if ((opts.stopAfter && events.length >= opts.stopAfter) || (opts.stopOn && events.some((e) => e.event === opts.stopOn))) {
        await reader.cancel();
        break;
      }
    }
    return { status: res.status, contentType, headers: res.headers, events, comments };
  } finally {
    clearTimeout(timer);
  }
}

/** "1299.00" and "1299" are the same money. */
function money(s: string | null | undefined): string | null {
  if (s === null || s === undefined) return null;
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

async function sim<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${stack.sim.url}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  expect(res.status).toBe(200);
  return (await res.json()) as T;
}

/** Starts a run (202), or follows the active one when the edge says one of that kind is running (409). */
async function startRun(body: unknown): Promise<RunOut> {
  const r = await stack.request('POST', '/api/haier/sync/', { key: operator, body });
  expect([202, 409]).toContain(r.status);
  if (r.status === 202) {
    expect(r.json.success).toBe(true);
    expect(r.headers.get('location')).toBe(`/api/haier/sync/${r.json.data.id}/`);
    return r.json.data as RunOut;
  }
  const again = await stack.request('GET', `/api/haier/sync/${r.json.error.run_id}/`, { key: viewer });
  return again.json.data as RunOut;
}

/** Follows a run's SSE stream to its end; checks the stream's shape; answers the final run. */
async function follow(runId: string): Promise<{ final: RunOut; events: SseEvent[] }> {
  const { status, contentType, events } = await readSse(`/api/haier/sync/${runId}/events/`, viewer);
  expect(status).toBe(200);
  expect(contentType).toMatch(/^text\/event-stream/);
  expect(events.length).toBeGreaterThanOrEqual(2);
  expect(events[0]?.event).toBe('progress');
  const last = events.at(-1) as SseEvent;
  expect(last.event).toBe('end');
  expect(events.slice(0, -1).every((e) => e.event === 'progress')).toBe(true);
  // ids increase; every event is this run; progress never goes backwards
  const ids = events.map((e) => Number(e.id));
  expect(ids).toEqual([...ids].sort((a, b) => a - b));
  const runs = events.map((e) => e.data as RunOut);
  expect(new Set(runs.map((r) => r.id))).toEqual(new Set([runId]));
  const done = runs.map((r) => r.counts.batches_done ?? 0);
  expect(done).toEqual([...done].sort((a, b) => a - b));
  return { final: last.data as RunOut, events };
}

/** `count()` once it has not changed for `quietMs`. */
async function settledCount(count: () => number, quietMs = 750): Promise<number> {
  let last = count();
  for (;;) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = count();
    if (now === last) return now;
    last = now;
  }
}

/** WatchRun streams the orchestrator has ended so far (it logs one line per RPC). */
function watchEnds(): number {
  return stack.logs.lines().filter((l) => l.service === 'sync-orchestrator' && String(l.rpc ?? '').endsWith('/WatchRun')).length;
}

beforeAll(async () => {
  stack = await startEdgeStack({ sim: { size: 300, seed: 7 }, edgeEnv: { EDGE_CORS_ORIGINS: 'https://ops.example' } });
  operator = stack.keys.operator;
  viewer = stack.keys.viewer;
});

afterAll(async () => {
  await stack?.close();
});

test('full sync -> SSE to the end -> product read -> Haier price change -> incremental price sync -> price history and log entries, all through REST', async () => {
  // 1. a full sync, followed live
  const full = await startRun({ mode: 'FULL', sync_type: 'PRODUCTS', options: { prices: true } });
  expect(full.mode).toBe('FULL');
  const { final: fullDone, events } = await follow(full.id);
  expect(fullDone.status).toBe('SUCCESS');
  const listed = (await sim<{ listedCount: number }>('GET', '/__sim/config')).listedCount;
  expect(fullDone.counts.total).toBe(listed);
  expect(fullDone.counts.created).toBe(listed);
  expect(fullDone.counts.failed).toBe(0);
  expect(events.length).toBeGreaterThanOrEqual(2);

  // the catalog holds what Haier listed: page through it
  const seen: Array<{ product_code: string; supply_price: string | null; is_sales: boolean }> = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<EdgeStack['request']>> = await stack.request('GET', `/api/haier/catalog/products/?page_size=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { key: viewer });
    expect(page.status).toBe(200);
    seen.push(...page.json.results);
    cursor = page.json.next_cursor;
  } while (cursor);
  expect(seen).toHaveLength(listed);
  expect(new Set(seen.map((p) => p.product_code)).size).toBe(listed);

  // 2. one product, field by field against Haier's (the simulator's) record
  const target = seen.find((p) => p.is_sales && p.supply_price !== null);
  expect(target).toBeDefined();
  const code = (target as { product_code: string }).product_code;
  const before = await stack.request('GET', `/api/haier/catalog/products/${code}/`, { key: viewer });
  expect(before.status).toBe(200);
  const haier = await sim<{ productModel: string; productGroupNamd: string; productBrandName: string; supplyPrice?: string; invoicePrice?: string; productImageUrl: string }>('GET', `/__sim/products/${code}`);
  const p = before.json.data;
  expect(p.product_code).toBe(code);
  expect(p.product_model).toBe(haier.productModel);
  expect(p.category).toBe(haier.productGroupNamd);
  expect(p.brand).toBe(haier.productBrandName);
  expect(p.product_image_url).toBe(haier.productImageUrl);
  expect(money(p.supply_price)).toBe(money(haier.supplyPrice));
  expect(money(p.invoice_price)).toBe(money(haier.invoicePrice));
  expect(money(p.display_price)).toBe(money(haier.supplyPrice));
  const history0 = await stack.request('GET', `/api/haier/catalog/products/${code}/price-history/`, { key: viewer });
  expect(history0.status).toBe(200);

  // 3. Haier changes the price
  const oldSupply = money(haier.supplyPrice) as string;
  const newSupply = (Number(oldSupply) + 111).toFixed(2); // a whole number of yuan more: exact in binary too
  const newInvoice = (Number(money(haier.invoicePrice)) + 100).toFixed(2);
  await sim('POST', `/__sim/products/${code}/price`, { supplyPrice: newSupply, invoicePrice: newInvoice });

  // 4. an incremental price sync, followed live
  const inc = await startRun({ mode: 'INCREMENTAL', sync_type: 'PRICES' });
  expect(inc.mode).toBe('INCREMENTAL');
  expect(inc.id).not.toBe(full.id);
  const { final: incDone } = await follow(inc.id);
  expect(incDone.status).toBe('SUCCESS');
  expect(incDone.counts.updated).toBeGreaterThanOrEqual(1);

  // 5. the product shows the new price and its history the change
  const after = await stack.request('GET', `/api/haier/catalog/products/${code}/`, { key: viewer });
  expect(money(after.json.data.supply_price)).toBe(money(newSupply));
  expect(money(after.json.data.invoice_price)).toBe(money(newInvoice));
  expect(money(after.json.data.display_price)).toBe(money(newSupply));
  expect(after.json.data.version).toBeGreaterThan(p.version);
  const history = await stack.request('GET', `/api/haier/catalog/products/${code}/price-history/`, { key: viewer });
  expect(history.status).toBe(200);
  const changes = history.json.data as Array<{ field: string; from: string | null; to: string | null; run_id: string }>;
  const supplyChange = changes.find((c) => c.field === 'supply_price' && money(c.to) === money(newSupply));
  expect(supplyChange).toBeDefined();
  expect(money(supplyChange?.from)).toBe(oldSupply);
  expect(supplyChange?.run_id).toBe(inc.id);
  expect(changes.length).toBeGreaterThan((history0.json.data as unknown[]).length);

  // 6. the sync log lists both runs, in the original's shape
  const logs = await stack.request('GET', '/api/haier/logs/?limit=50', { key: viewer });
  expect(logs.status).toBe(200);
  expect(logs.json.count).toBeGreaterThanOrEqual(2);
  const entries = logs.json.results as Array<Record<string, unknown>>;
  for (const run of [fullDone, incDone]) {
    const e = entries.find((x) => x.id === run.id);
    expect(e).toMatchObject({ status: 'SUCCESS', status_display: 'Success', sync_type: run.sync_type, total_count: run.counts.total, failed_count: 0 });
    expect(typeof e?.sync_type_display).toBe('string');
    expect(typeof e?.duration).toBe('number');
    expect(e?.started_at).toEqual(expect.stringMatching(/Z$/));
    expect(e?.completed_at).toEqual(expect.stringMatching(/Z$/));
  }
  const successes = await stack.request('GET', '/api/haier/logs/?status=SUCCESS&limit=50', { key: viewer });
  expect((successes.json.results as Array<{ id: string }>).map((e) => e.id)).toEqual(expect.arrayContaining([fullDone.id, incDone.id]));

  // 7. every upstream call spent from its asker's lane of the call budget (x-haier-lane): the FULL
  // run's bulk, the incremental run's scheduled, a live lookup's interactive
  const lookup = await stack.request('GET', `/api/haier/prices/?product_codes=${code}`, { key: viewer });
  expect(lookup.status).toBe(200);
  const lanes = new Set(stack.logs.lines().filter((l) => l.service === 'haier-gateway' && l.msg === 'upstream call').map((l) => l.lane));
  expect([...lanes].sort()).toEqual(['bulk', 'interactive', 'scheduled']);
});

test('SSE: an unknown run is a JSON 404 before any stream; a finished run streams its state (with CORS headers) and ends at once', async () => {
  const unknown = await stack.request('GET', '/api/haier/sync/999999999/events/', { key: viewer });
  expect(unknown.status).toBe(404);
  expect(unknown.json).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });

  const noKey = await stack.request('GET', '/api/haier/sync/1/events/');
  expect(noKey.status).toBe(401);

  const runs = await stack.request('GET', '/api/haier/sync/?status=SUCCESS', { key: viewer });
  const done = (runs.json.results as RunOut[])[0] as RunOut;
  expect(done).toBeDefined();
  const t0 = Date.now();
  const { status, events, headers } = await readSse(`/api/haier/sync/${done.id}/events/`, viewer, { timeoutMs: 20_000, headers: { origin: 'https://ops.example' } });
  expect(status).toBe(200);
  // the stream is written by hand, yet keeps the headers the hooks set (CORS for the allowed origin)
  expect(headers.get('access-control-allow-origin')).toBe('https://ops.example');
  expect(headers.get('cache-control')).toMatch(/no-cache/);
  expect(events.map((e) => e.event)).toEqual(['progress', 'end']);
  expect((events[1]?.data as RunOut).status).toBe('SUCCESS');
  expect(Date.now() - t0).toBeLessThan(15_000);
});

test('SSE: clients that go away mid-run free their streams, and the edge keeps serving', async () => {
  await sim('POST', '/__sim/config', { latencyMs: 3000 }); // every Haier call takes 3 s: a run long enough to leave mid-way
  try {
    const run = await startRun({ mode: 'FULL', sync_type: 'PRODUCTS', options: { prices: true } });
    const watchesBefore = watchEnds();
    // ten clients each read one event and hang up
    const partial = await Promise.all(Array.from({ length: 10 }, () => readSse(`/api/haier/sync/${run.id}/events/`, viewer, { stopAfter: 1, timeoutMs: 60_000 })));
    for (const p of partial) {
      expect(p.status).toBe(200);
      expect(p.events[0]?.event).toBe('progress');
    }
    // the edge cancelled the upstream WatchRun while the run was still going (the orchestrator
    // logs each WatchRun as it ends), instead of holding it open until the run ends. Followers
    // that overlap share one; these hang up after their first event, so a late one may find the
    // others gone and start its own: at most one per client.
    await waitFor(() => watchEnds() > watchesBefore, { timeoutMs: 20_000, what: 'the WatchRun stream to end' });
    const freed = await settledCount(watchEnds);
    expect(freed - watchesBefore).toBeGreaterThanOrEqual(1);
    expect(freed - watchesBefore).toBeLessThanOrEqual(10);
    const mid = await stack.request('GET', `/api/haier/sync/${run.id}/`, { key: viewer });
    expect(['PENDING', 'PROCESSING']).toContain(mid.json.data.status);
    const open = () => new Promise<number>((resolve, reject) => stack.edge.app.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
    await waitFor(async () => (await open()) < 5, { timeoutMs: 20_000, what: 'the edge to close the abandoned SSE connections' });
    // the edge still answers, and a full reader still gets the run to its end
    const h = await stack.request('GET', '/healthz');
    expect(h.status).toBe(200);
    const { final } = await follow(run.id);
    expect(['SUCCESS', 'PARTIAL']).toContain(final.status);
    // only the full follower's watch was still open: none of the abandoned ones ran on to the end
    await waitFor(() => watchEnds() > freed, { timeoutMs: 10_000, what: "the full follower's WatchRun to end" });
    expect((await settledCount(watchEnds)) - freed).toBe(1);
  } finally {
    await sim('POST', '/__sim/config', { latencyMs: 0 });
  }
});

test('SSE: twenty followers of one run share one upstream WatchRun and all see it to its end', async () => {
  await sim('POST', '/__sim/config', { latencyMs: 1000 });
  try {
    const run = await startRun({ mode: 'FULL', sync_type: 'PRODUCTS', options: { prices: true } });
    const before = watchEnds();
    const followers = await Promise.all(Array.from({ length: 20 }, () => follow(run.id)));
    for (const f of followers) expect(f.final.status).toBe('SUCCESS');
    await waitFor(() => watchEnds() > before, { timeoutMs: 10_000, what: 'the WatchRun stream to end' });
    expect(watchEnds() - before).toBe(1);
  } finally {
    await sim('POST', '/__sim/config', { latencyMs: 0 });
  }
});

test('SSE: when the orchestrator goes away mid-run, the stream says it is reconnecting (a "reconnecting" event) instead of ending: the run goes on', async () => {
  // Haier answers after 20 s: the run is still listing when the orchestrator's gRPC server gives
  // up waiting for open calls (its 10 s grace) and cuts the WatchRun stream. The edge then reopens
  // the watch (every second, for up to 2 minutes; the hub's unit test follows one to the run's end)
  // and tells the follower once.
  await sim('POST', '/__sim/config', { latencyMs: 20_000 });
  try {
    const run = await startRun({ mode: 'FULL', sync_type: 'PRODUCTS', options: { prices: true } });
    const reading = readSse(`/api/haier/sync/${run.id}/events/`, viewer, { timeoutMs: 60_000, stopOn: 'reconnecting' });
    await new Promise((r) => setTimeout(r, 1500)); // the stream is open and watching (its first event is checked below)
    const t0 = Date.now();
    const closing = stack.orchestrator?.stop();
    const { status, events } = await reading;
    expect(status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(events[0]?.event).toBe('progress');
    expect(events.map((e) => e.event).filter((e) => e !== 'progress')).toEqual(['reconnecting']); // no error, no end
    expect(events.at(-1)!.data).toEqual({ message: expect.stringMatching(new RegExp(`^Lost the orchestrator's progress stream for run ${run.id} \\(.+\\); the run goes on; reconnecting…$`)) });
    await closing;
  } finally {
    await sim('POST', '/__sim/config', { latencyMs: 0 });
  }
});
