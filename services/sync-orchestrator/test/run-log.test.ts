// A log per run (issue 12, item 2): the old command's INFO, SUCCESS, WARNING, ERROR and DEBUG
// lines kept per run (ListRunLog, WatchRunLog), bounded per level with exact counts.
import { sync } from '@haier-sync/contracts';
import { DEFAULT_CREDENTIALS } from '@haier-sync/haier-sim';
import { closeGrpcClients } from '@haier-sync/runtime';
import { waitFor } from '@haier-sync/runtime/testing';
import { count, runToEnd, startStack, statusName, waitForRun, type Stack } from './stack';
import { cli, cliProcess } from './support/cli';

jest.setTimeout(300_000);

const level = (l: sync.LogLevel): string => sync.LogLevel[l] ?? String(l);

async function allLines(stack: Stack, runId: string, filter: { levels?: sync.LogLevel[]; productCode?: string } = {}): Promise<sync.RunLogLine[]> {
  const out: sync.RunLogLine[] = [];
  let pageToken = '';
  do {
    const page = await stack.sync.listRunLog({ runId, pageSize: 1000, pageToken, ...filter });
    out.push(...page.lines);
    pageToken = page.nextPageToken;
  } while (pageToken !== '');
  return out;
}

describe('the run log', () => {
  let stack: Stack;
  let codes: string[];

  beforeAll(async () => {
    stack = await startStack({
      sim: { size: 80, seed: 12, rateLimit: 0 },
      // a failed call fails the batch's try at once (no retry inside the gateway)
      gatewayEnv: { HAIER_MAX_RETRIES: '0' },
      // one batch at a time: a run of two batches is seen running between them
      env: { SYNC_MAX_ATTEMPTS: '2', SYNC_CONCURRENCY: '1' },
    });
    codes = stack.sim.control
      .products(0, 80)
      .filter((p) => p.listed)
      .slice(0, 30)
      .map((p) => p.productCode);
  });
  afterAll(async () => {
    await stack?.close();
    closeGrpcClients();
  });

  test('a run with malformed answers has a WARNING naming each failed code and its reason; INFO says who, when and what', async () => {
    stack.sim.control.faults({ malformedRate: 1 });
    let run: sync.Run;
    try {
      run = await runToEnd(stack, { scope: { productCodes: codes.slice(0, 12) }, options: { prices: true }, startedBy: 'log-test' });
    } finally {
      stack.sim.control.clearFaults();
    }
    expect(statusName(run.status)).toBe('PARTIAL');
    const failed = run.failedItems;
    expect(failed.length).toBeGreaterThan(0);

    const warnings = await allLines(stack, run.id, { levels: [sync.LogLevel.WARNING] });
    for (const f of failed) {
      const about = warnings.filter((w) => w.productCode === f.productCode && w.message.includes('failed'));
      expect(about).toHaveLength(1);
      expect(about[0]!.message).toContain(f.reason);
      expect(about[0]!.endpoint).not.toBe('');
      expect(about[0]!.attempt).toBeGreaterThanOrEqual(1);
    }
    // the partial end is a WARNING too
    expect(warnings.some((w) => w.productCode === '' && w.message.startsWith('run ended PARTIAL'))).toBe(true);

    const all = await allLines(stack, run.id);
    const info = all.filter((l) => level(l.level) === 'INFO');
    expect(info[0]!.message).toMatch(new RegExp(`run ${run.id} started by log-test at \\d{4}-\\d\\d-\\d\\dT`));
    expect(info[0]!.message).toContain('prices yes');
    expect(info.some((l) => l.message.startsWith('planned 12 products'))).toBe(true);
    expect(all.some((l) => level(l.level) === 'DEBUG' && l.message.startsWith('plan: codes strategy'))).toBe(true);
    // every product that synced has its SUCCESS line
    const ok = new Set(all.filter((l) => level(l.level) === 'SUCCESS').map((l) => l.productCode));
    expect(ok.size).toBe(Number(run.counts!.succeeded));
    // lines in order; the counts match the lines
    const seqs = all.map((l) => l.seq);
    expect([...seqs].sort((a, b) => (a < b ? -1 : 1))).toEqual(seqs);
    const page = await stack.sync.listRunLog({ runId: run.id, pageSize: 5 });
    expect(page.lines).toHaveLength(5);
    expect(Number(page.total)).toBe(all.length);
    for (const c of page.counts) {
      expect(Number(c.total)).toBe(all.filter((l) => l.level === c.level).length);
      expect(c.dropped).toBe(0n);
    }
    expect(page.cap).toBe(1000);
    // one product's lines only
    const one = await allLines(stack, run.id, { productCode: failed[0]!.productCode });
    expect(one.length).toBeGreaterThan(0);
    expect(one.every((l) => l.productCode === failed[0]!.productCode)).toBe(true);
  });

  test('a batch Haier keeps refusing: an ERROR per failed attempt with its context, then WARNING per product', async () => {
    stack.sim.control.faults({ businessErrorRate: 1 });
    let run: sync.Run;
    try {
      run = await runToEnd(stack, { scope: { productCodes: codes.slice(12, 16) }, options: { prices: true }, startedBy: 'log-test' }, 120_000);
    } finally {
      stack.sim.control.clearFaults();
    }
    expect(['FAILED', 'PARTIAL']).toContain(statusName(run.status));
    const errors = await allLines(stack, run.id, { levels: [sync.LogLevel.ERROR] });
    expect(errors.filter((e) => /^batch 0 \(4 products\) failed on attempt [12] of 2: /.test(e.message)).length).toBe(2);
    expect(errors.some((e) => e.message.startsWith('batch 0 (4 products) given up: failed after 2 attempts'))).toBe(true);
    const warnings = await allLines(stack, run.id, { levels: [sync.LogLevel.WARNING] });
    for (const code of codes.slice(12, 16)) {
      const w = warnings.find((l) => l.productCode === code);
      expect(w?.message).toContain(`${code} failed: failed after 2 attempts`);
      expect(w?.attempt).toBe(2);
    }
  });

  test("no secret in a run's log", async () => {
    const run = await runToEnd(stack, { scope: { productCodes: codes.slice(16, 20) }, options: { prices: true }, startedBy: 'log-test' });
    const text = (await stack.pg.query<{ t: string }>(`select string_agg(message || product_code || endpoint, ' ') as t from sync.run_log`)).rows[0]!.t;
    expect(text).toContain(`run ${run.id}`);
    for (const secret of Object.values(DEFAULT_CREDENTIALS).filter((v) => typeof v === 'string' && v.length >= 6)) expect(text).not.toContain(secret);
  });

  test('WatchRunLog sends the stored lines, then the new ones, and ends with the counts when the run ends', async () => {
    stack.sim.control.configure({ latencyMs: 300 });
    try {
      const started = (await stack.sync.startRun({ scope: { productCodes: codes.slice(20, 30) }, options: { prices: true }, startedBy: 'log-test' })).run!;
      const got: sync.RunLogLine[] = [];
      let last: sync.WatchRunLogResponse | undefined;
      let sawRunning = false;
      for await (const m of stack.sync.watchRunLog({ runId: started.id })) {
        got.push(...m.lines);
        last = m;
        if (m.lines.length && statusName((await stack.sync.getRun({ id: started.id })).run!.status) === 'PROCESSING') sawRunning = true;
      }
      expect(sawRunning).toBe(true);
      expect(last?.ended).toBe(true);
      const run = await waitForRun(stack.sync, started.id);
      expect(got.map((l) => l.seq)).toEqual((await allLines(stack, run.id)).map((l) => l.seq));
      expect(got.filter((l) => level(l.level) === 'SUCCESS')).toHaveLength(10);
      expect(got[got.length - 1]!.message).toMatch(/^run ended SUCCESS/);
      expect(last!.counts.find((c) => level(c.level) === 'SUCCESS')?.total).toBe(10n);
    } finally {
      stack.sim.control.configure({ latencyMs: 0 });
    }
  });

  test('`haier-sync runs log ID --follow` streams a running run\'s lines and ends with the counts', async () => {
    stack.sim.control.configure({ latencyMs: 1000 });
    try {
      const started = (await stack.sync.startRun({ scope: { productCodes: codes }, options: { prices: true }, startedBy: 'log-cli-test' })).run!;
      const c = cliProcess(['runs', 'log', started.id, '--follow'], { SYNC_URL: stack.orch!.url });
      await waitFor(() => /SUCCESS/.test(c.io.stdout) || undefined, { timeoutMs: 60_000, intervalMs: 50, what: 'a SUCCESS line' });
      // a line arrived while the run was still going
      expect(statusName((await stack.sync.getRun({ id: started.id })).run!.status)).toBe('PROCESSING');
      expect(c.io.stdout).not.toMatch(/run ended/);
      const r = await c.ended;
      expect(r.code).toBe(0);
      const out = r.stdout.trim().split('\n');
      expect(out[0]).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\S+Z INFO    .*run ${started.id} started by log-cli-test`));
      expect(out.filter((l) => /^\S+Z SUCCESS /.test(l))).toHaveLength(codes.length);
      expect(out[out.length - 2]).toMatch(/INFO    run ended SUCCESS/);
      expect(out[out.length - 1]).toMatch(new RegExp(`^lines: INFO \\d+, SUCCESS ${codes.length}, DEBUG 1$`));
    } finally {
      stack.sim.control.configure({ latencyMs: 0 });
    }
  });

  test('`haier-sync runs log ID --level WARNING` lists the failed products of an ended run', async () => {
    const runs = await stack.sync.listRuns({ status: sync.RunStatus.PARTIAL });
    const partial = runs.runs[0]!;
    const r = await cli(['runs', 'log', partial.id, '--level', 'warning'], { SYNC_URL: stack.orch!.url });
    expect(r.code).toBe(0);
    for (const f of partial.failedItems) expect(r.stdout).toContain(`WARNING ${f.productCode} failed: ${f.reason} [endpoint `);
    expect(r.stdout).not.toMatch(/^\S+Z SUCCESS /m);
    const bad = await cli(['runs', 'log', partial.id, '--level', 'loud'], { SYNC_URL: stack.orch!.url });
    expect(bad.code).toBe(64);
    expect(bad.stderr).toMatch(/--level must be one of INFO, SUCCESS, WARNING, ERROR, DEBUG/);
  });

  test('a cancelled run ends its log with a WARNING naming who cancelled it', async () => {
    stack.sim.control.configure({ latencyMs: 1000 });
    try {
      const started = (await stack.sync.startRun({ scope: { productCodes: codes }, startedBy: 'log-test' })).run!;
      await waitFor(async () => ((await stack.sync.listRunLog({ runId: started.id, levels: [sync.LogLevel.SUCCESS] })).lines.length > 0) || undefined, {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: 'a first SUCCESS line',
      });
      await stack.sync.cancelRun({ id: started.id, cancelledBy: 'log-canceller' });
      await waitForRun(stack.sync, started.id);
      const lines = await allLines(stack, started.id);
      // (a batch in flight at the cancel may still finish after it)
      const end = lines.filter((l) => l.message.startsWith('run ended'));
      expect(end).toHaveLength(1);
      expect(level(end[0]!.level)).toBe('WARNING');
      expect(end[0]!.message).toMatch(/^run ended CANCELLED: .*cancelled by log-canceller/);
    } finally {
      stack.sim.control.configure({ latencyMs: 0 });
    }
  });

  test('an unknown run is NOT_FOUND; a bad page token is INVALID_ARGUMENT', async () => {
    await expect(stack.sync.listRunLog({ runId: '999999' })).rejects.toThrow(/there is no run 999999/);
    await expect(stack.sync.listRunLog({ runId: '1', pageToken: 'x' })).rejects.toThrow(/page_token/);
  });
});

describe('the cap on a 50,000-product run', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ sim: { size: 50_000, seed: 5, rateLimit: 0 }, gatewayEnv: { HAIER_RATE_LIMIT: '100000' }, env: { SYNC_CONCURRENCY: '32' } });
  });
  afterAll(async () => {
    await stack?.close();
    closeGrpcClients();
  });

  test('at most 1,000 lines per level are kept; the counts are exact ("n more")', async () => {
    const t0 = Date.now();
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'cap-test' }, 280_000);
    // eslint-disable-next-line no-console
    console.log(`50,000-product FULL run: ${Math.round((Date.now() - t0) / 1000)} s`);
    expect(['SUCCESS', 'PARTIAL']).toContain(statusName(run.status));
    const page = await stack.sync.listRunLog({ runId: run.id, levels: [sync.LogLevel.SUCCESS], pageSize: 10 });
    const success = page.counts.find((c) => level(c.level) === 'SUCCESS')!;
    expect(Number(success.total)).toBe(Number(run.counts!.succeeded));
    expect(Number(success.total)).toBeGreaterThan(30_000);
    expect(success.stored).toBe(1000n);
    expect(Number(success.dropped)).toBe(Number(success.total) - 1000);
    expect(Number(page.total)).toBe(1000);
    for (const c of page.counts) expect(Number(c.stored)).toBeLessThanOrEqual(1000);
    expect(await count(stack.pg, `select count(*) as n from sync.run_log where run_id = $1`, [run.id])).toBeLessThanOrEqual(5000);
  });
});
