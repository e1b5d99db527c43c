// The CLI follows a run across an orchestrator restart (issue 17, item 6): `haier-sync sync --full`
// keeps following while the orchestrator is killed (-9) and started again, says it is
// reconnecting and when it is back, and exits with the run's own status (0 for SUCCESS).
import { sync } from '@haier-sync/contracts';
import { waitFor } from '@haier-sync/runtime/testing';
import { startStack, statusName, waitForRun, type Stack } from './stack';
import { cliProcess } from './support/cli';

jest.setTimeout(180_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ orchestrator: 'child', sim: { size: 400, seed: 5, latencyMs: 150 }, env: { SYNC_CONCURRENCY: '2', SYNC_LEASE_SECONDS: '3' } });
});
afterAll(() => stack?.close());

test('the CLI follows a run across an orchestrator restart and exits 0 on SUCCESS', async () => {
  const c = cliProcess(['sync', '--full'], { SYNC_URL: stack.child!.url, CATALOG_URL: stack.catalogProcess.url, HAIER_SYNC_USER: 'cli-follow-test' });
  const id = await waitFor(() => /Started run (\S+)/.exec(c.io.stderr)?.[1], { timeoutMs: 60_000, intervalMs: 100, what: 'the run to start' });
  await waitFor(async () => Number((await stack.sync.getRun({ id })).run?.counts?.batchesDone ?? 0) >= 2, { timeoutMs: 60_000, intervalMs: 100, what: '2 batches done' });
  await stack.killChild();
  await new Promise((r) => setTimeout(r, 2_000)); // the CLI meets refused connections for a while
  expect(c.p.exitCode).toBeNull();
  await stack.startChild();
  const r = await c.ended;
  const run = await waitForRun(stack.sync, id, 60_000);
  expect(statusName(run.status)).toBe('SUCCESS');
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringMatching(/reconnecting…/) });
  expect(r.stderr).toMatch(new RegExp(`reconnected after \\d+ s; following run ${id} again`));
  expect(run.status).toBe(sync.RunStatus.SUCCESS);
});
