// Schedules you can see and steer, over the orchestrator's gRPC (ListSchedules, PauseSchedule,
// ResumeSchedule, RunScheduleNow) with the real engine, Postgres, gateway, catalog and simulator:
// a paused job stops firing and a resumed one fires again; run-now on two replicas at once starts
// exactly one run; the paused state and the change log survive a restart; an unknown job is
// NOT_FOUND naming the jobs there are.
import { Code, ConnectError } from '@connectrpc/connect';
import { sync } from '@haier-sync/contracts';
import { testClient, waitFor } from '@haier-sync/runtime/testing';
import { startStack, waitForRun, type Stack } from './stack';
import { cli } from './support/cli';

jest.setTimeout(240_000);

let stack: Stack;
const ENV = {
  SYNC_SCHEDULE_PRICES: '*/2 * * * * *', // every other second
  SYNC_SCHEDULE_FULL: 'off',
  SYNC_SCHEDULE_LOW_STOCK: 'off',
  SYNC_SCHEDULE_INTEGRITY: 'off',
  SYNC_FIRST_DEPLOY: 'false',
  SYNC_SCHEDULER_ENABLED: 'true',
};

beforeAll(async () => {
  stack = await startStack({ sim: { size: 20, seed: 77 }, env: ENV });
});
afterAll(async () => {
  await stack?.close();
});

const scheduled = async (): Promise<sync.Run[]> => (await stack.sync.listRuns({ trigger: sync.RunTrigger.SCHEDULE, pageSize: 200 })).runs;
const job = async (name: string): Promise<sync.ScheduleJob> => {
  const j = (await stack.sync.listSchedules({})).jobs.find((x) => x.name === name);
  if (!j) throw new Error(`no job ${name}`);
  return j;
};
const settled = async (): Promise<void> => {
  for (const r of await scheduled()) await waitForRun(stack.sync, r.id, 60_000);
};

test('ListSchedules names every job with its cron, next fire time and last run', async () => {
  const { jobs } = await stack.sync.listSchedules({});
  expect(jobs.map((j) => j.name).sort()).toEqual(['full', 'image_orphans', 'integrity', 'low_stock', 'prices']);
  const prices = await waitFor(async () => {
    const j = await job('prices');
    return j.lastRunId ? j : undefined;
  }, { timeoutMs: 30_000, what: 'the prices job to fire' });
  expect(prices.paused).toBe(false);
  expect(prices.nextFireAt).toBeDefined();
});

test('pause stops the job firing on this replica; resume makes it fire again', async () => {
  const paused = await stack.sync.pauseSchedule({ name: 'prices', requestedBy: 'tester' });
  expect(paused.changed).toBe(true);
  expect(paused.job?.paused).toBe(true);
  expect(paused.job?.pausedBy).toBe('tester');
  expect((await stack.sync.pauseSchedule({ name: 'prices', requestedBy: 'tester' })).changed).toBe(false);

  await settled();
  const before = (await scheduled()).length;
  await new Promise((r) => setTimeout(r, 5_000)); // two and a half ticks
  expect((await scheduled()).length).toBe(before);

  const resumed = await stack.sync.resumeSchedule({ name: 'prices', requestedBy: 'tester' });
  expect(resumed.changed).toBe(true);
  await waitFor(async () => ((await scheduled()).length > before ? true : undefined), { timeoutMs: 30_000, what: 'a tick after resume' });
});

test('run-now on two replicas at once starts exactly one run', async () => {
  await stack.sync.pauseSchedule({ name: 'prices', requestedBy: 'tester' });
  await settled();
  const first = stack.orch!;
  const second = await stack.startInProcess(); // a second replica on the same database
  try {
    const a = testClient(sync.SyncService, first.url);
    const b = testClient(sync.SyncService, second.url);
    const before = (await scheduled()).length;
    const answers = await Promise.all([a.runScheduleNow({ name: 'prices', requestedBy: 'op-a' }), b.runScheduleNow({ name: 'prices', requestedBy: 'op-b' })]);
    const ids = new Set(answers.map((x) => x.run?.id));
    expect(ids.size).toBe(1);
    expect(answers.filter((x) => x.alreadyActive)).toHaveLength(1);
    const runs = await scheduled();
    expect(runs.length).toBe(before + 1);
    await waitForRun(stack.sync, [...ids][0]!, 60_000);
  } finally {
    await second.close();
    stack.sync = testClient(sync.SyncService, first.url);
    stack.orch = first;
  }
});

test('the paused state and its change log survive a restart', async () => {
  expect((await job('prices')).paused).toBe(true);
  await stack.orch!.close();
  await stack.startInProcess();
  const j = await job('prices');
  expect(j.paused).toBe(true);
  expect(j.recentChanges.map((c) => c.action)).toEqual(expect.arrayContaining(['pause', 'resume']));
  expect(j.recentChanges.every((c) => c.by !== '')).toBe(true);
});

test('an unknown job is NOT_FOUND naming the jobs there are; an empty name is INVALID_ARGUMENT', async () => {
  const err = await stack.sync.pauseSchedule({ name: 'weekly' }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConnectError);
  expect((err as ConnectError).code).toBe(Code.NotFound);
  expect((err as ConnectError).rawMessage).toMatch(/weekly.*full, prices, low_stock, integrity/);
  const empty = await stack.sync.runScheduleNow({ name: ' ' }).catch((e: unknown) => e);
  expect((empty as ConnectError).code).toBe(Code.InvalidArgument);
});

test('the CLI lists, pauses, resumes and runs a job now; an unknown job exits 1 naming the jobs', async () => {
  const env = { SYNC_URL: stack.orch!.url };
  const list = await cli(['schedules', 'list', '--json'], env);
  expect(list.code).toBe(0);
  const jobs = JSON.parse(list.stdout) as unknown;
  expect(JSON.stringify(jobs)).toContain('low_stock');

  const resume = await cli(['schedules', 'resume', 'prices'], env);
  expect(resume.code).toBe(0);
  expect((await job('prices')).paused).toBe(false);
  const pause = await cli(['schedules', 'pause', 'prices'], env);
  expect(pause.code).toBe(0);
  const paused = await job('prices');
  expect(paused.paused).toBe(true);
  expect(paused.pausedBy).toMatch(/^cli:/);
  await settled();

  const run = await cli(['schedules', 'run', 'prices', '--json'], env);
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/"id"/);

  const unknown = await cli(['schedules', 'pause', 'weekly'], env);
  expect(unknown.code).toBe(1);
  expect(unknown.stderr + unknown.stdout).toMatch(/full, prices, low_stock, integrity/);
});
