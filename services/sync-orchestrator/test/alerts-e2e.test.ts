// Alerts with the real engine: runs that end FAILED or PARTIAL on upstream faults POST to
// ALERT_WEBHOOK_URL (a local HTTP server here), with the failed codes and no secret.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sync } from '@haier-sync/contracts';
import { waitFor } from '@haier-sync/runtime/testing';
import { runToEnd, startStack, type Stack } from './stack';

jest.setTimeout(300_000);

let stack: Stack;
let hook: Server;
const bodies: Array<Record<string, unknown>> = [];
const raw: string[] = [];

beforeAll(async () => {
  hook = createServer((req, res) => {
    let b = '';
    req.on('data', (d: Buffer) => (b += d.toString()));
    req.on('end', () => {
      raw.push(b);
      bodies.push(JSON.parse(b) as Record<string, unknown>);
      res.statusCode = 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
  stack = await startStack({ sim: { size: 40, seed: 99 }, env: { ALERT_WEBHOOK_URL: url, SYNC_MAX_ATTEMPTS: '1', SYNC_DEPENDENCY_PATIENCE: '8s' }, gatewayEnv: { HAIER_MAX_RETRIES: '0' } });
});

afterAll(async () => {
  await stack?.close();
  await new Promise<void>((r) => hook.close(() => r()));
});

test('a run with malformed upstream rows ends PARTIAL: webhook gets sync_run_partial with the failed codes', async () => {
  stack.sim.control.faults({ malformedRate: 0.3 });
  try {
    const run = await runToEnd(stack, { syncType: sync.SyncType.PRODUCTS, mode: sync.RunMode.FULL, trigger: sync.RunTrigger.MANUAL, options: { prices: true }, startedBy: 'alerts-e2e' }, 180_000);
    expect(sync.RunStatus[run.status]).toBe('PARTIAL');
    const body = await waitFor(() => bodies.find((b) => b.run_id === run.id), { timeoutMs: 30_000, what: 'the PARTIAL alert' });
    expect(body.alert).toBe('sync_run_partial');
    expect(body.status).toBe('PARTIAL');
    expect((body.failed_items as unknown[]).length).toBe(run.failedItems.length);
    expect((body.counts as { failed: number }).failed).toBe(Number(run.counts?.failed));
  } finally {
    stack.sim.control.clearFaults();
  }
});

test('a run whose every upstream call fails ends FAILED: webhook gets sync_run_failed', async () => {
  // Haier answering 500 to everything is waited out for SYNC_DEPENDENCY_PATIENCE (8 s here), then the run fails naming it
  stack.sim.control.faults({ failNext: { status: 500, count: 100_000 } });
  try {
    const run = await runToEnd(stack, { syncType: sync.SyncType.PRODUCTS, mode: sync.RunMode.FULL, trigger: sync.RunTrigger.MANUAL, options: { prices: true }, startedBy: 'alerts-e2e' }, 180_000);
    expect(sync.RunStatus[run.status]).toBe('FAILED');
    expect(run.message).toMatch(/Haier \(through the gateway\) has been unavailable since .* \(longer than SYNC_DEPENDENCY_PATIENCE, 8 s\)/);
    const body = await waitFor(() => bodies.find((b) => b.run_id === run.id), { timeoutMs: 30_000, what: 'the FAILED alert' });
    expect(body.alert).toBe('sync_run_failed');
    expect(String(body.summary)).toContain(`Sync run ${run.id}`);
  } finally {
    stack.sim.control.clearFaults();
  }
  // the simulator's demo secrets never reach the webhook
  for (const secret of ['sim-secret', 'sim-password', 'sim-seller-password', 'sim-customer-password']) {
    for (const b of raw) expect(b).not.toContain(secret);
  }
  // a healthy rerun: SUCCESS and no alert for it
  const ok = await runToEnd(stack, { syncType: sync.SyncType.PRODUCTS, mode: sync.RunMode.FULL, trigger: sync.RunTrigger.MANUAL, options: { prices: true }, startedBy: 'alerts-e2e' }, 180_000);
  expect(sync.RunStatus[ok.status]).toBe('SUCCESS');
  await new Promise((r) => setTimeout(r, 500));
  expect(bodies.find((b) => b.run_id === ok.id)).toBeUndefined();
});
