// The haier-sync CLI as an operator runs it: a child process (node --import tsx src/cli.ts)
// against a real stack (simulator, gateway, catalog, orchestrator, Postgres).
import { closeGrpcClients } from '@haier-sync/runtime';
import { freePort, waitFor } from '@haier-sync/runtime/testing';
import { sync } from '@haier-sync/contracts';
import { startStack, waitForRun, type Stack } from './stack';
import { cli, cliProcess } from './support/cli';

/** The value of a summary row ("  created      200"). */
function row(summary: string, name: string): string | undefined {
  return new RegExp(`^  ${name}\\s{2,}(.+)$`, 'm').exec(summary)?.[1]?.trim();
}

describe('haier-sync CLI without a service', () => {
  it('bad arguments: usage error (64) with a message saying what is wrong, nothing started', async () => {
    const port = await freePort(); // nothing listens: a usage error must come before any call
    const env = { SYNC_URL: `http://127.0.0.1:${port}` };
    const county = await cli(['sync', '--stock', '--county', '110101,12345'], env);
    expect(county.code).toBe(64);
    expect(county.stderr).toContain('--county: "12345" is not a county code: 6 digits');
    const both = await cli(['sync', '--full', '--incremental'], env);
    expect(both.code).toBe(64);
    expect(both.stderr).toMatch(/--full.*cannot be used with.*--incremental/);
    const countyAlone = await cli(['sync', '--county', '110101'], env);
    expect(countyAlone.code).toBe(64);
    expect(countyAlone.stderr).toContain('--county only applies to stock: add --stock');
    const unknown = await cli(['runs', 'show'], env);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toMatch(/missing required argument 'id'/);
    const badUrl = await cli(['runs', 'list'], { SYNC_URL: 'localhost:50053' });
    expect(badUrl.code).toBe(64);
    expect(badUrl.stderr).toMatch(/SYNC_URL="localhost:50053" must start with http:\/\/ or https:\/\//);
  }, 120_000);

  it('service down: exit 69 naming the URL and what to start', async () => {
    const port = await freePort();
    const r = await cli(['sync', '--full'], { SYNC_URL: `http://127.0.0.1:${port}` });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain(`cannot reach the sync-orchestrator at http://127.0.0.1:${port}`);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    expect(r.stderr).toContain('pnpm start');
    expect(r.stderr).toContain('SYNC_URL');
    expect(r.stdout).toBe('');
  }, 60_000);
});

describe('haier-sync CLI against a running stack', () => {
  let stack: Stack;
  let env: Record<string, string>;
  const SIZE = 150;

  beforeAll(async () => {
    stack = await startStack({ sim: { size: SIZE, seed: 7, rateLimit: 0 } });
    env = { SYNC_URL: stack.orch!.url, CATALOG_URL: stack.catalogProcess.url, HAIER_SYNC_USER: 'cli-test' };
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    closeGrpcClients();
  });

  let fullRunId = '';

  it('sync --full --verbose: exit 0, the summary counts every product, one ✓ line per product', async () => {
    const listed = stack.sim.control.listedCount();
    const r = await cli(['sync', '--full', '--verbose'], env);
    expect({ code: r.code, stderr: r.stderr.slice(-2000) }).toMatchObject({ code: 0 });
    const summary = r.stdout;
    expect(summary).toMatch(/run \S+ FULL PRODUCTS \(MANUAL by cli:cli-test\): whole catalog, prices/);
    expect(row(summary, 'status')).toBe('SUCCESS');
    expect(row(summary, 'total')).toBe(String(listed));
    expect(row(summary, 'created')).toBe(String(listed));
    expect(row(summary, 'updated')).toBe('0');
    expect(row(summary, 'unchanged')).toBe('0');
    expect(row(summary, 'failed')).toBe('0');
    // one listing call, then a price call per batch of 20
    expect(Number(row(summary, 'Haier calls'))).toBeGreaterThanOrEqual(1 + Math.ceil(listed / 20));
    expect(row(summary, 'duration')).toMatch(/^\d+(\.\d)? (ms|s)$|min/);
    const ticks = summary.split('\n').filter((l) => l.startsWith('✓ '));
    expect(ticks).toHaveLength(listed);
    expect(ticks.every((l) => / created$/.test(l))).toBe(true);
    // not a terminal: plain progress lines on stderr, the first naming the run
    expect(r.stderr).toMatch(/^Started run \S+ FULL PRODUCTS/);
    expect(r.stderr).toMatch(/SUCCESS 100% batches (\d+)\/\1/);
    fullRunId = /run (\S+) FULL/.exec(summary)![1]!;
    const stats = await stack.catalog.stats({});
    expect(Number(stats.products)).toBe(listed);
  }, 180_000);

  it('sync --full --json: only JSON on stdout; an unchanged catalog reports unchanged', async () => {
    const r = await cli(['sync', '--full', '--json'], env);
    if (r.code !== 0) console.log(r.stdout.slice(0, 3000), r.stderr.slice(-2000));
    expect(r.code).toBe(0);
    const run = JSON.parse(r.stdout) as { id: string; status: string; counts: Record<string, string>; failedItems: unknown[] };
    expect(run.status).toBe('RUN_STATUS_SUCCESS');
    expect(run.id).not.toBe(fullRunId);
    expect(run.counts['total']).toBe(String(stack.sim.control.listedCount()));
    expect(run.counts['unchanged']).toBe(run.counts['total']);
    expect(run.counts['created']).toBe('0');
    expect(run.counts['updated']).toBe('0');
    expect(run.failedItems).toEqual([]);
  }, 180_000);

  it('a PARTIAL run (malformed rows from Haier) exits 2 and lists each failed code with its reason', async () => {
    const codes = stack.sim.control.products(0, 10).map((p) => p.productCode);
    // every answer from Haier carries one malformed row: those products fail, the others sync
    stack.sim.control.faults({ malformedRate: 1 });
    const r = await cli(['sync', '--codes', codes.join(','), '--prices'], env).finally(() => stack.sim.control.clearFaults());
    if (r.code !== 2) console.log(r.stdout.slice(0, 3000), r.stderr.slice(-2000));
    expect(r.code).toBe(2);
    expect(row(r.stdout, 'status')).toMatch(/^PARTIAL/);
    expect(row(r.stdout, 'total')).toBe('10');
    const failed = Number(row(r.stdout, 'failed'));
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(failed).toBeLessThan(10);
    const crosses = r.stdout.split('\n').filter((l) => l.startsWith('  ✗ '));
    expect(crosses).toHaveLength(failed);
    for (const l of crosses) {
      const [, code, reason] = /^ {2}✗ (\S+) {2}(.+)$/.exec(l)!;
      expect(codes).toContain(code);
      expect(reason!.length).toBeGreaterThan(5);
    }
  }, 120_000);

  it('runs list / show / watch / cancel of a finished run', async () => {
    const list = await cli(['runs', 'list', '--limit', '10'], env);
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+STATUS/);
    expect(list.stdout).toContain(fullRunId);
    expect(list.stdout).toMatch(/^\S+\s+PARTIAL\s+INCREMENTAL\s+MANUAL/m);

    const partialOnly = await cli(['runs', 'list', '--status', 'partial', '--json'], env);
    expect(partialOnly.code).toBe(0);
    const page = JSON.parse(partialOnly.stdout) as { runs: Array<{ status: string }> };
    expect(page.runs.length).toBe(1);
    expect(page.runs.every((x) => x.status === 'RUN_STATUS_PARTIAL')).toBe(true);

    const show = await cli(['runs', 'show', fullRunId], env);
    expect(show.code).toBe(0);
    expect(row(show.stdout, 'status')).toBe('SUCCESS');

    const watch = await cli(['runs', 'watch', fullRunId, '--json'], env);
    expect(watch.code).toBe(0);
    expect((JSON.parse(watch.stdout) as { id: string }).id).toBe(fullRunId);

    const cancel = await cli(['runs', 'cancel', fullRunId], env);
    expect(cancel.code).toBe(1);
    // the service refuses (FAILED_PRECONDITION) or answers the ended run: either way, said and exit 1
    expect(`${cancel.stdout}${cancel.stderr}`).toMatch(/already|ended|finished|SUCCESS/i);

    const missing = await cli(['runs', 'show', '999999'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^haier-sync: .*999999/);
  }, 180_000);

  it('Ctrl-C stops following (exit 130, the run goes on); a cancelled run exits 3', async () => {
    stack.sim.control.configure({ latencyMs: 2500 }); // a run slow enough to interrupt
    try {
      const c = cliProcess(['sync', '--full'], env);
      await waitFor(() => /Started run (\S+)/.exec(c.io.stderr)?.[1], { timeoutMs: 60_000, what: 'the run to start' });
      const id = /Started run (\S+)/.exec(c.io.stderr)![1]!;
      // let the follower settle into its stream first (once, in a loaded full-suite run, a SIGINT sent
      // the instant the line appeared ended the process by the signal's default action)
      await new Promise((r) => setTimeout(r, 500));
      c.p.kill('SIGINT');
      const r = await c.ended;
      expect(r.code).toBe(130);
      expect(r.stderr).toContain(`Stopped following run ${id}; the run goes on in the service`);
      expect(r.stderr).toContain(`haier-sync runs cancel ${id}`);
      const still = await stack.sync.getRun({ id });
      expect(['PENDING', 'PROCESSING']).toContain(sync.RunStatus[still.run!.status]);

      await stack.sync.cancelRun({ id, cancelledBy: 'test' });
      const w = await cli(['runs', 'watch', id], env);
      expect(w.code).toBe(3);
      expect(row(w.stdout, 'status')).toMatch(/^CANCELLED/);
    } finally {
      stack.sim.control.configure({ latencyMs: 0 });
    }
  }, 180_000);

  it('config list / show / test / activate (the activation starts a FULL run started by the operator)', async () => {
    const { config } = await stack.sync.createConfig({ name: 'sim-main', environment: 'test', settings: { base_url: stack.sim.url, password_env: 'HAIER_PASSWORD' } });
    const id = String(config!.id);
    const list = await cli(['config', 'list'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+sim-main\\s+test`, 'm'));

    const show = await cli(['config', 'show', id, '--json'], env);
    expect(show.code).toBe(0);
    const shown = JSON.parse(show.stdout) as { name: string; settings: Record<string, unknown>; active: boolean };
    expect(shown).toMatchObject({ name: 'sim-main', active: false, settings: { password_env: 'HAIER_PASSWORD' } });

    const test = await cli(['config', 'test', id], env);
    expect({ code: test.code, out: test.stdout }).toMatchObject({ code: 0, out: expect.stringMatching(new RegExp(`^✓ config ${id}: `)) });

    const bad = await cli(['config', 'show', 'abc'], env);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('is not a config id');

    const act = await cli(['config', 'activate', id], env);
    expect(act.code).toBe(0);
    expect(act.stdout).toContain(`config ${id} "sim-main" is now the active Haier config`);
    const runId = /started FULL run (\S+):/.exec(act.stdout)?.[1];
    expect(runId).toBeDefined();
    const run = await waitForRun(stack.sync, runId!, 120_000);
    expect(sync.RunTrigger[run.trigger]).toBe('CONFIG_CHANGE');
    expect(run.startedBy).toBe('cli:cli-test');
    const listed = await cli(['config', 'list'], env);
    expect(listed.stdout).toMatch(new RegExp(`^${id}\\s+\\*\\s+sim-main`, 'm'));
  }, 240_000);
});
