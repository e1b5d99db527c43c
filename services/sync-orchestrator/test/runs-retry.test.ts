// RetryFailed / `haier-sync runs retry`: a MANUAL run over exactly the products that failed in
// an ended run, linked to it, that heals them once Haier answers properly again.
import { Code, ConnectError } from '@connectrpc/connect';
import { sync } from '@haier-sync/contracts';
import { closeGrpcClients } from '@haier-sync/runtime';
import { runToEnd, startStack, statusName, waitForRun, type Stack } from './stack';
import { cli } from './support/cli';

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const ce = ConnectError.from(e);
    return { code: Code[ce.code], message: ce.rawMessage };
  }
  throw new Error('the call was answered; a refusal was expected');
}

describe('retrying the failed products of a run', () => {
  let stack: Stack;
  let partial: sync.Run;
  let codes: string[];

  beforeAll(async () => {
    stack = await startStack({ sim: { size: 60, seed: 77, rateLimit: 0 } });
    codes = stack.sim.control
      .products(0, 60)
      .filter((p) => p.listed)
      .slice(0, 12)
      .map((p) => p.productCode);
    // every answer from Haier carries one malformed row: those products fail, the others sync
    stack.sim.control.faults({ malformedRate: 1 });
    try {
      partial = await runToEnd(stack, { scope: { productCodes: codes }, options: { prices: true }, startedBy: 'test' }, 60_000);
    } finally {
      stack.sim.control.clearFaults();
    }
    expect(statusName(partial.status)).toBe('PARTIAL');
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    closeGrpcClients();
  });

  test('a MANUAL run over exactly the failed codes, linked by retry_of, heals them', async () => {
    const failed = partial.failedItems.map((f) => f.productCode).sort();
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.length).toBeLessThan(codes.length);
    const missingBefore = await stack.pg.query<{ code: string }>('select code from catalog.product where code = any($1)', [failed]);
    expect(missingBefore.rows).toEqual([]); // they never reached the catalog

    const started = await stack.sync.retryFailed({ id: partial.id, startedBy: 'test-retry' });
    expect(started.alreadyActive).toBe(false);
    const retry = started.run!;
    expect(retry.retryOf).toBe(partial.id);
    expect(sync.SyncType[retry.syncType]).toBe('MANUAL');
    expect(sync.RunTrigger[retry.trigger]).toBe('MANUAL');
    expect([...retry.scope!.productCodes].sort()).toEqual(failed);
    expect(retry.options!.prices).toBe(true);
    expect(retry.startedBy).toBe('test-retry');

    const done = await waitForRun(stack.sync, retry.id, 60_000);
    expect(statusName(done.status)).toBe('SUCCESS');
    expect(done.counts?.total).toBe(BigInt(failed.length));
    expect(done.counts?.created).toBe(BigInt(failed.length));
    expect(done.counts?.failed).toBe(0n);
    const healed = await stack.pg.query<{ code: string; supply_price: string | null }>('select code, supply_price::text from catalog.product where code = any($1) order by code', [failed]);
    expect(healed.rows.map((r) => r.code)).toEqual(failed);
    for (const r of healed.rows) {
      const s = stack.sim.control.product(r.code)!;
      expect(r.supply_price === null ? undefined : Number(r.supply_price)).toBe(s.supplyPrice === undefined ? undefined : Number(s.supplyPrice));
    }
    // the link is kept on the stored run
    expect((await stack.sync.getRun({ id: retry.id })).run?.retryOf).toBe(partial.id);
  });

  test('refusals say why: nothing failed, still running, no such run', async () => {
    const clean = await runToEnd(stack, { scope: { productCodes: codes.slice(0, 2) }, options: { prices: true }, startedBy: 'test' }, 60_000);
    expect(statusName(clean.status)).toBe('SUCCESS');
    expect(await refusal(stack.sync.retryFailed({ id: clean.id }))).toEqual({
      code: 'FailedPrecondition',
      message: `run ${clean.id} ended SUCCESS with no failed products; there is nothing to retry`,
    });
    expect(await refusal(stack.sync.retryFailed({ id: '999999' }))).toEqual({ code: 'NotFound', message: 'there is no run 999999; list runs with ListRuns (haier-sync runs list)' });
    expect((await refusal(stack.sync.retryFailed({ id: 'x1' }))).code).toBe('InvalidArgument');
    const running = await stack.sync.startRun({ mode: sync.RunMode.FULL, startedBy: 'test' });
    const r = await refusal(stack.sync.retryFailed({ id: running.run!.id }));
    expect(r.code).toBe('FailedPrecondition');
    expect(r.message).toMatch(new RegExp(`^run ${running.run!.id} is still (PENDING|PROCESSING); retry its failed products once it has ended \\(haier-sync runs watch ${running.run!.id}\\)$`));
    await waitForRun(stack.sync, running.run!.id, 90_000);
  }, 120_000);

  test('haier-sync runs retry follows the retry and exits with its status; a run with nothing failed exits 1 saying so', async () => {
    const fresh = stack.sim.control
      .products(0, 60)
      .filter((p) => p.listed)
      .slice(12, 24)
      .map((p) => p.productCode);
    stack.sim.control.faults({ malformedRate: 1 });
    let again: sync.Run;
    try {
      again = await runToEnd(stack, { scope: { productCodes: fresh }, options: { prices: true }, startedBy: 'test' }, 60_000);
    } finally {
      stack.sim.control.clearFaults();
    }
    expect(statusName(again.status)).toBe('PARTIAL');
    const env = { SYNC_URL: stack.orch!.url, HAIER_SYNC_USER: 'cli-retry' };
    const r = await cli(['runs', 'retry', again.id], env);
    expect({ code: r.code, stderr: r.stderr.slice(-500) }).toMatchObject({ code: 0 });
    expect(r.stderr).toContain(`Retrying the ${again.failedItems.length} failed product(s) of run ${again.id}:`);
    expect(r.stderr).toContain(`(MANUAL by cli:cli-retry)`);
    expect(r.stderr).toContain(`(retry of run ${again.id})`);
    expect(r.stdout).toMatch(/^ {2}status\s+SUCCESS/m);
    expect(r.stdout).toMatch(new RegExp(`^ {2}total\\s+${again.failedItems.length}$`, 'm'));

    const ok = await runToEnd(stack, { scope: { productCodes: fresh.slice(0, 1) }, options: { prices: true }, startedBy: 'test' }, 60_000);
    expect(statusName(ok.status)).toBe('SUCCESS');
    const nothing = await cli(['runs', 'retry', ok.id], env);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain(`run ${ok.id} ended SUCCESS with no failed products; there is nothing to retry`);
  }, 180_000);
});
