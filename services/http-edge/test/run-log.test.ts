// GET /api/haier/sync/{id}/log/: a run's own log over REST (filters, pages, counts and cap) and
// as Server-Sent Events while the run goes, through the built services.
import { waitFor } from '@haier-sync/runtime/testing';
import { readSse } from './sse';
import { startEdgeStack, type EdgeStack } from './stack';

jest.setTimeout(180_000);

let stack: EdgeStack;
let codes: string[];

beforeAll(async () => {
  // one batch at a time: a run of two batches is seen going between them
  stack = await startEdgeStack({ sim: { size: 80, seed: 12, rateLimit: 0 }, syncEnv: { SYNC_CONCURRENCY: '1' } });
  codes = stack.sim.control
    .products(0, 80)
    .filter((p) => p.listed)
    .slice(0, 30)
    .map((p) => p.productCode);
});
afterAll(() => stack?.close());

async function ended(id: string): Promise<{ status: string; failed_items: Array<{ product_code: string; reason: string }> }> {
  return waitFor(
    async () => {
      const r = await stack.request('GET', `/api/haier/sync/${id}/`, { key: stack.keys.viewer });
      return r.json?.data?.finished ? r.json.data : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 200, what: `run ${id} to end` },
  );
}

test('a run with malformed answers: WARNING lines name each failed code and reason; filters, pages and counts', async () => {
  stack.sim.control.faults({ malformedRate: 1 });
  let run;
  try {
    const started = await stack.request('POST', '/api/haier/sync/', { key: stack.keys.operator, body: { scope: { product_codes: codes.slice(0, 12) }, options: { prices: true } } });
    expect(started.status).toBe(202);
    run = await ended(started.json.data.id);
  } finally {
    stack.sim.control.clearFaults();
  }
  expect(run.status).toBe('PARTIAL');
  const id = (await stack.request('GET', '/api/haier/sync/?page_size=1', { key: stack.keys.viewer })).json.results[0].id as string;

  const w = await stack.request('GET', `/api/haier/sync/${id}/log/?level=warning`, { key: stack.keys.viewer });
  expect(w.status).toBe(200);
  for (const f of run.failed_items) {
    const line = w.json.results.find((l: { product_code: string | null }) => l.product_code === f.product_code);
    expect(line).toMatchObject({ level: 'WARNING', message: `${f.product_code} failed: ${f.reason}`, attempt: 1 });
    expect(['products', 'prices']).toContain(line.endpoint);
  }
  expect(w.json.counts.WARNING).toEqual({ total: run.failed_items.length + 1, stored: run.failed_items.length + 1, dropped: 0 });
  expect(w.json.counts.SUCCESS.total).toBe(12 - run.failed_items.length);
  expect(w.json.cap).toBe(1000);

  // pages: every stored line once, oldest first
  const all = await stack.request('GET', `/api/haier/sync/${id}/log/?page_size=1000`, { key: stack.keys.viewer });
  const seen: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await stack.request('GET', `/api/haier/sync/${id}/log/?page_size=4${cursor ? `&cursor=${cursor}` : ''}`, { key: stack.keys.viewer });
    expect(page.json.total).toBe(all.json.total);
    seen.push(...page.json.results.map((l: { seq: string }) => l.seq));
    cursor = page.json.next_cursor;
    expect(page.json.has_more).toBe(cursor !== null);
  } while (cursor);
  expect(seen).toEqual(all.json.results.map((l: { seq: string }) => l.seq));
  expect(all.json.results[0].level).toBe('INFO');
  expect(all.json.results[0].message).toMatch(/started by stack-operator at \d{4}-/);

  const one = await stack.request('GET', `/api/haier/sync/${id}/log/?code=${run.failed_items[0]!.product_code}`, { key: stack.keys.viewer });
  expect(one.json.results.length).toBeGreaterThan(0);
  expect(one.json.results.every((l: { product_code: string }) => l.product_code === run.failed_items[0]!.product_code)).toBe(true);
});

test('bad input is a 400 saying what to do; an unknown run a 404; a key is needed', async () => {
  const bad = await stack.request('GET', '/api/haier/sync/1/log/?level=loud', { key: stack.keys.viewer });
  expect(bad.status).toBe(400);
  expect(bad.text).toMatch(/level.*INFO, SUCCESS, WARNING, ERROR, DEBUG/);
  expect((await stack.request('GET', '/api/haier/sync/1/log/?page_size=0', { key: stack.keys.viewer })).status).toBe(400);
  expect((await stack.request('GET', '/api/haier/sync/1/log/?cursor=abc', { key: stack.keys.viewer })).status).toBe(400);
  const missing = await stack.request('GET', '/api/haier/sync/999999/log/', { key: stack.keys.viewer });
  expect(missing.status).toBe(404);
  expect((await stack.request('GET', '/api/haier/sync/1/log/', { key: null })).status).toBe(401);
});

test('SSE: the stored lines, then the new ones while the run goes, then "end" with the counts; a second follower gets the same', async () => {
  stack.sim.control.configure({ latencyMs: 1000 });
  try {
    const started = await stack.request('POST', '/api/haier/sync/', { key: stack.keys.operator, body: { scope: { product_codes: codes }, options: { prices: true } } });
    const id = started.json.data.id as string;
    let linesWhileRunning = 0;
    let running = true;
    const first = readSse(`${stack.baseUrl}/api/haier/sync/${id}/log/`, stack.keys.viewer, {
      onEvent: (e) => {
        if (e.event === 'line' && running) linesWhileRunning++;
      },
    });
    // a later follower of the same run shares the upstream watch and gets the backlog first
    await waitFor(() => linesWhileRunning > 0 || undefined, { timeoutMs: 60_000, intervalMs: 50, what: 'a first line' });
    const second = readSse(`${stack.baseUrl}/api/haier/sync/${id}/log/?follow=true`, stack.keys.viewer);
    const done = await ended(id);
    running = false;
    expect(done.status).toBe('SUCCESS');
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    expect(a.contentType).toMatch(/text\/event-stream/);
    expect(linesWhileRunning).toBeGreaterThan(0);
    const stored = await stack.request('GET', `/api/haier/sync/${id}/log/?page_size=1000`, { key: stack.keys.viewer });
    const seqs = (ev: typeof a.events) => ev.filter((e) => e.event === 'line').map((e) => e.json.seq);
    expect(seqs(a.events)).toEqual(stored.json.results.map((l: { seq: string }) => l.seq));
    expect(seqs(b.events)).toEqual(seqs(a.events));
    const end = a.events[a.events.length - 1]!;
    expect(end.event).toBe('end');
    expect(end.json.counts.SUCCESS.total).toBe(codes.length);
    expect(b.events[b.events.length - 1]!.event).toBe('end');
  } finally {
    stack.sim.control.configure({ latencyMs: 0 });
  }
});
