// The scheduled jobs over REST, through the real stack (edge → orchestrator gRPC → Postgres, the
// simulator as Haier): the list names every job with its timing and state; pause answers paused
// with the key's name as paused_by and is kept in Postgres (sync.schedule_state) and in the edge
// audit log with its reason; resume undoes it; run now starts a run that /api/haier/sync/ lists,
// and a second run now while it goes answers 409 with that run's id; a viewer may read but not
// steer; an unknown job is 404 naming the jobs there are.
import { startEdgeStack, type EdgeStack } from './stack';

jest.setTimeout(240_000);

let stack: EdgeStack;

beforeAll(async () => {
  stack = await startEdgeStack({ sim: { size: 60 } });
});
afterAll(async () => {
  await stack?.close();
});

interface ScheduleOut {
  name: string;
  kind: string;
  cron: string | null;
  max_age_seconds: number | null;
  variable: string;
  enabled: boolean;
  next_fire_at: string | null;
  last_run_id: string | null;
  last_run_status: string | null;
  paused: boolean;
  paused_by: string | null;
  paused_at: string | null;
  recent_changes: Array<{ action: string; by: string; at: string; run_id: string | null }>;
}

const list = async (key = stack.keys.viewer): Promise<ScheduleOut[]> => {
  const r = await stack.request('GET', '/api/haier/schedules/', { key });
  expect(r.status).toBe(200);
  return r.json.results as ScheduleOut[];
};
const job = async (name: string): Promise<ScheduleOut> => {
  const j = (await list()).find((x) => x.name === name);
  if (!j) throw new Error(`no job ${name}`);
  return j;
};

test('GET /api/haier/schedules/ lists every job with its cron or freshness target, next fire time, last run and paused', async () => {
  const r = await stack.request('GET', '/api/haier/schedules/', { key: stack.keys.viewer });
  expect(r.status).toBe(200);
  expect(r.json.success).toBe(true);
  expect(r.json.scheduler_enabled).toBe(false); // the stack's orchestrator runs no cron timers
  const jobs = r.json.results as ScheduleOut[];
  expect(r.json.count).toBe(jobs.length);
  expect(jobs.map((j) => j.name).sort()).toEqual(['full', 'image_orphans', 'integrity', 'low_stock', 'prices']);
  for (const j of jobs) {
    expect(['CRON', 'FRESHNESS']).toContain(j.kind);
    expect(j.variable).toMatch(/^SYNC_/);
    expect(j.paused).toBe(false);
    expect(j.paused_by).toBeNull();
    if (j.kind === 'FRESHNESS') expect(j.max_age_seconds).toBeGreaterThan(0);
    else if (j.enabled) {
      expect(j.cron).toBeTruthy();
      expect(Date.parse(j.next_fire_at ?? '')).toBeGreaterThan(Date.now() - 1000);
    }
  }
});

test('pause answers paused by the key, keeps it in Postgres and the audit log; resume undoes it', async () => {
  const r = await stack.request('POST', '/api/haier/schedules/prices/pause/', { key: stack.keys.operator, body: { reason: 'supplier maintenance tonight' } });
  expect(r.status).toBe(200);
  expect(r.json.changed).toBe(true);
  expect(r.json.data).toMatchObject({ name: 'prices', paused: true, paused_by: 'stack-operator', next_fire_at: null });
  expect(Date.parse(r.json.data.paused_at)).toBeGreaterThan(Date.now() - 60_000);

  // the list says so too, and the row in Postgres (every replica reads it; it outlives a restart)
  expect(await job('prices')).toMatchObject({ paused: true, paused_by: 'stack-operator' });
  const row = await stack.pg.query(`select paused, paused_by from sync.schedule_state where job = 'prices'`);
  expect(row.rows[0]).toEqual({ paused: true, paused_by: 'stack-operator' });

  // pausing again changes nothing; no body at all is fine (the reason is optional)
  const again = await stack.request('POST', '/api/haier/schedules/prices/pause/', { key: stack.keys.operator });
  expect(again.status).toBe(200);
  expect(again.json.changed).toBe(false);

  // audited: the key as the actor, the reason with the request
  await stack.flushAudit();
  const audit = await stack.request('GET', '/api/haier/audit/?path=/api/haier/schedules/prices/pause/', { key: stack.keys.admin });
  expect(audit.status).toBe(200);
  const first = (audit.json.results as Array<{ key_name: string; method: string; status: number; params: { body?: { reason?: string } } }>).find((a) => a.params.body?.reason);
  expect(first).toMatchObject({ key_name: 'stack-operator', method: 'POST', status: 200, params: { body: { reason: 'supplier maintenance tonight' } } });

  const resumed = await stack.request('POST', '/api/haier/schedules/prices/resume/', { key: stack.keys.operator, body: {} });
  expect(resumed.status).toBe(200);
  expect(resumed.json.changed).toBe(true);
  expect(resumed.json.data).toMatchObject({ name: 'prices', paused: false, paused_by: null });
  expect(resumed.json.data.next_fire_at).not.toBeNull();
  expect(resumed.json.data.recent_changes.slice(0, 2).map((c: { action: string; by: string }) => `${c.action} ${c.by}`)).toEqual(['resume stack-operator', 'pause stack-operator']);
  expect((await stack.pg.query(`select paused from sync.schedule_state where job = 'prices'`)).rows[0]).toEqual({ paused: false });
});

test('run now starts the job\'s run (listed at /api/haier/sync/); a second run now while it goes is 409 with its id', async () => {
  // slow Haier down so that the run is still going for the second call
  stack.sim.control.configure({ latencyMs: 400 });
  try {
    const r = await stack.request('POST', '/api/haier/schedules/full/run/', { key: stack.keys.operator, body: { reason: 'catalog looks stale' } });
    expect(r.status).toBe(202);
    const runId = r.json.data.id as string;
    expect(runId).toMatch(/^[1-9][0-9]*$/);
    expect(r.headers.get('location')).toBe(`/api/haier/sync/${runId}/`);
    expect(r.json.data.mode).toBe('FULL');
    expect(r.json.job).toMatchObject({ name: 'full', last_run_id: runId });
    expect(r.json.job.recent_changes[0]).toMatchObject({ action: 'run_now', by: 'stack-operator', run_id: runId });

    const runs = await stack.request('GET', '/api/haier/sync/?page_size=20', { key: stack.keys.viewer });
    expect(runs.status).toBe(200);
    expect((runs.json.results as Array<{ id: string }>).map((x) => x.id)).toContain(runId);

    const second = await stack.request('POST', '/api/haier/schedules/full/run/', { key: stack.keys.operator });
    expect(second.status).toBe(409);
    expect(second.json.error).toMatchObject({ code: 'RUN_ACTIVE', run_id: runId });
    expect(second.json.error.message).toContain(`/api/haier/sync/${runId}/`);

    const cancelled = await stack.request('POST', `/api/haier/sync/${runId}/cancel/`, { key: stack.keys.operator });
    expect(cancelled.status).toBe(200);
  } finally {
    stack.sim.control.configure({ latencyMs: 0 });
  }
});

test('a viewer reads the schedules but gets 403 on pause, resume and run now', async () => {
  expect((await list(stack.keys.viewer)).length).toBe(5);
  for (const action of ['pause', 'resume', 'run']) {
    const r = await stack.request('POST', `/api/haier/schedules/prices/${action}/`, { key: stack.keys.viewer });
    expect(r.status).toBe(403);
    expect(r.json.error.code).toBe('FORBIDDEN');
  }
  expect((await job('prices')).paused).toBe(false);
  expect((await stack.request('GET', '/api/haier/schedules/', { key: null })).status).toBe(401);
});

test('an unknown job is 404 with a message naming the jobs there are; a malformed name is 400', async () => {
  const r = await stack.request('POST', '/api/haier/schedules/hourly/pause/', { key: stack.keys.operator });
  expect(r.status).toBe(404);
  expect(r.json.error.code).toBe('NOT_FOUND');
  expect(r.json.error.message).toContain('hourly');
  for (const name of ['full', 'prices', 'low_stock', 'integrity']) expect(r.json.error.message).toContain(name);

  const bad = await stack.request('POST', `/api/haier/schedules/${encodeURIComponent('1; drop')}/run/`, { key: stack.keys.operator });
  expect(bad.status).toBe(400);
  expect(bad.json.error.message).toBeTruthy();
});

test('with the orchestrator gone the schedules answer 503 naming it (not the gateway)', async () => {
  await stack.orchestrator?.stop(); // the last test: nothing after it needs the orchestrator
  const r = await stack.request('GET', '/api/haier/schedules/', { key: stack.keys.viewer });
  expect(r.status).toBe(503);
  expect(r.json.error.code).toBe('UNAVAILABLE');
  expect(r.json.error.message).toMatch(/^The sync orchestrator is unavailable/);
});
