// examples/subscriber, the integrator's quick start, run as an integrator would: the contracts
// packed into a tarball, the example installed from it outside the workspace (npm, its own
// package.json), type-checked, and run against a real stack while a run changes prices.
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { sync } from '@haier-sync/contracts';
import { TEST_NATS_URL, waitFor } from '@haier-sync/runtime/testing';
import type { NatsConnection } from 'nats';
import { bucketStream } from '../src/events/streams';
import { productsBucket } from '../src/events/subjects';
import { count, runToEnd, startStack, statusName, type Stack } from './stack';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../../..');
jest.setTimeout(300_000);

function startExample(dir: string, env: Record<string, string>) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv['NODE_OPTIONS'];
  const p = spawn('npm', ['start', '--silent'], { cwd: dir, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const io = { stdout: '', stderr: '' };
  p.stdout.on('data', (b: Buffer) => (io.stdout += b.toString()));
  p.stderr.on('data', (b: Buffer) => (io.stderr += b.toString()));
  const ended = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  return { p, io, ended };
}

describe('examples/subscriber', () => {
  let dir: string;
  let stack: Stack;
  let nc: NatsConnection;
  const SIZE = 200;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hs-subscriber-'));
    cpSync(path.join(ROOT, 'examples/subscriber'), dir, { recursive: true, filter: (src) => !/node_modules|\.tgz$/.test(src) });
    const [, started] = await Promise.all([
      (async () => {
        await run('npx', ['--yes', 'pnpm@10.34.8', '--filter', '@haier-sync/contracts', 'pack', '--pack-destination', dir], { cwd: ROOT });
        expect(readdirSync(dir)).toContain('haier-sync-contracts-0.1.0.tgz');
        await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: dir, timeout: 240_000 });
      })(),
      startStack({ sim: { size: SIZE, seed: 41, rateLimit: 0 }, env: { SYNC_PUBLISHER_ENABLED: 'true' } }),
    ]);
    stack = started;
    nc = await stack.nats();
    const full = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 120_000);
    expect(statusName(full.status)).toBe('SUCCESS');
    const changes = await count(stack.pg, 'select count(*) as n from catalog.change_log');
    const jsm = await nc.jetstreamManager();
    await waitFor(async () => ((await jsm.streams.info(bucketStream(productsBucket(stack.prefix))).catch(() => undefined))?.state.last_seq ?? 0) >= changes, {
      timeoutMs: 60_000,
      what: 'the publisher to fill the products bucket',
    });
  }, 300_000);

  afterAll(async () => {
    await stack?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('type-checks against the packed contracts (no workspace imports)', async () => {
    await expect(run('npm', ['run', '--silent', 'typecheck'], { cwd: dir })).resolves.toBeDefined();
  });

  test('bootstraps the catalog, prints exactly the price moves above its threshold, and resumes from its acks', async () => {
    const env = { NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: stack.prefix, PRICE_ALERT_PERCENT: '5', EXIT_WHEN_IDLE_MS: '5000', DURABLE: 'ci-price-alerts' };
    const sub = startExample(dir, env);
    await waitFor(async () => sub.io.stdout.includes('following'), { timeoutMs: 60_000, what: `the example to bootstrap (stderr: ${sub.io.stderr})` });
    const listed = stack.sim.control.products(0, SIZE).filter((p) => p.listed);
    expect(sub.io.stdout).toMatch(new RegExp(`^bootstrap: ${listed.length} products in the catalog \\(0 delisted\\), up to change \\d+$`, 'm'));

    const priced = listed.filter((p) => p.supplyPrice !== undefined && Number(p.supplyPrice) > 100);
    const big = priced.slice(0, 3);
    const small = priced[3]!;
    for (const p of big) stack.sim.control.setPrice(p.productCode, { supplyPrice: (Number(p.supplyPrice) * 1.2).toFixed(2) });
    stack.sim.control.setPrice(small.productCode, { supplyPrice: (Number(small.supplyPrice) * 1.01).toFixed(2) });
    const codes = [...big, small].map((p) => p.productCode);
    const inc = await runToEnd(stack, { mode: sync.RunMode.INCREMENTAL, scope: { productCodes: codes }, options: { prices: true }, startedBy: 'test' }, 60_000);
    expect(statusName(inc.status)).toBe('SUCCESS');
    expect(inc.counts?.updated).toBe(4n);

    const code = await Promise.race([sub.ended, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the example did not stop: ${sub.io.stdout}`)), 60_000))]);
    expect({ code, stderr: sub.io.stderr }).toEqual({ code: 0, stderr: '' });
    const alerts = sub.io.stdout.split('\n').filter((l) => l.startsWith('PRICE '));
    expect(alerts.map((l) => l.split(' ')[1]).sort()).toEqual(big.map((p) => p.productCode).sort());
    for (const p of big) {
      const line = alerts.find((l) => l.startsWith(`PRICE ${p.productCode} `))!;
      expect(line).toContain(`(+20.0%) v2`);
    }
    // the consumer started a minute before the newest value: the 200 created events were in the bootstrap
    expect(sub.io.stdout).toContain('stopped: 4 events applied, 200 already held');

    // a restart resumes from the acknowledged position: nothing is delivered again
    const again = startExample(dir, { ...env, EXIT_WHEN_IDLE_MS: '3000' });
    expect(await again.ended).toBe(0);
    expect(again.io.stdout).toContain('stopped: 0 events applied, 0 already held');
    expect(again.io.stdout).not.toContain('PRICE ');
  });
});
