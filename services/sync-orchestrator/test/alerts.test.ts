// A FAILED or PARTIAL run is an alert: an ERROR log line and a JSON POST to ALERT_WEBHOOK_URL
// (a local HTTP server receives it here). No secrets in the payload; a broken webhook never throws.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { sync } from '@haier-sync/contracts';
import { createLogger, registerSecret } from '@haier-sync/runtime';
import { captureLogs, freePort } from '@haier-sync/runtime/testing';
import { alertPayload, createAlerter, raiseAlert } from '../src/alerts';

const SECRET = 'sk-live-Alert-7f3a9c0e51';

interface Received {
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let url: string;
const received: Received[] = [];
let answerStatus = 204;

beforeAll(async () => {
  registerSecret(SECRET);
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      received.push({ method: req.method ?? '', headers: req.headers, body });
      res.statusCode = answerStatus;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sync`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

beforeEach(() => {
  received.length = 0;
  answerStatus = 204;
});

function run(status: sync.RunStatus, over: Omit<Partial<sync.Run>, '$typeName' | 'counts'> & { counts?: { total: bigint; succeeded: bigint; failed: bigint } } = {}): sync.Run {
  return create(sync.RunSchema, {
    id: 'run-42',
    syncType: sync.SyncType.PRODUCTS,
    mode: sync.RunMode.FULL,
    status,
    trigger: sync.RunTrigger.SCHEDULE,
    startedBy: 'scheduler',
    counts: { total: 100n, succeeded: 97n, failed: 3n, created: 10n, updated: 5n, unchanged: 82n },
    message: '',
    startedAt: timestampFromDate(new Date('2026-11-25T03:00:00Z')),
    completedAt: timestampFromDate(new Date('2026-11-25T03:05:00Z')),
    failedItems: [
      { productCode: 'GA0SZC00U', reason: 'Haier answered 500 three times' },
      { productCode: 'GA0SZC00V', reason: `token refused (client_secret=${SECRET})` },
      { productCode: 'GA0SZC00W', reason: 'price row malformed: supplyPrice "abc"' },
    ],
    ...over,
  });
}

test('PARTIAL run: an ERROR log and a POST with the summary, counts and failed codes, no secret', async () => {
  const logs = captureLogs();
  const logger = createLogger('alerts-test', { level: 'info', destination: logs.stream });
  const sent = await raiseAlert(run(sync.RunStatus.PARTIAL), { logger, webhookUrl: url });
  expect(sent).toBe(true);
  expect(received).toHaveLength(1);
  const r = received[0]!;
  expect(r.method).toBe('POST');
  expect(r.headers['content-type']).toBe('application/json');
  const body = JSON.parse(r.body) as Record<string, unknown>;
  expect(body).toMatchObject({
    alert: 'sync_run_partial',
    run_id: 'run-42',
    status: 'PARTIAL',
    sync_type: 'PRODUCTS',
    mode: 'FULL',
    trigger: 'SCHEDULE',
    counts: { total: 100, succeeded: 97, failed: 3 },
  });
  expect(body.summary).toBe('Sync run run-42 (FULL PRODUCTS) finished PARTIAL: 3 of 100 products failed; rerun to heal them');
  expect((body.failed_items as Array<{ product_code: string }>).map((f) => f.product_code)).toEqual(['GA0SZC00U', 'GA0SZC00V', 'GA0SZC00W']);
  expect(r.body).not.toContain(SECRET);

  const errors = logs.lines().filter((l) => l.level === 'error');
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatchObject({ alert: 'sync_run_partial', run_id: 'run-42', failed: 3, total: 100 });
  expect(logs.text()).not.toContain(SECRET);
});

test('FAILED run: alert sync_run_failed with the message (secrets masked)', async () => {
  const logs = captureLogs();
  const logger = createLogger('alerts-test', { level: 'info', destination: logs.stream });
  const alerter = createAlerter({ logger, webhookUrl: url });
  const sent = await alerter.raiseAlert(
    run(sync.RunStatus.FAILED, { message: `Haier refused the credentials (secret ${SECRET}); check HAIER_CLIENT_SECRET`, counts: { total: 0n, succeeded: 0n, failed: 0n }, failedItems: [] }),
  );
  expect(sent).toBe(true);
  const body = JSON.parse(received[0]!.body) as Record<string, unknown>;
  expect(body.alert).toBe('sync_run_failed');
  expect(body.status).toBe('FAILED');
  expect(String(body.summary)).toMatch(/^Sync run run-42 \(FULL PRODUCTS\) FAILED: Haier refused the credentials/);
  expect(String(body.message)).toContain('check HAIER_CLIENT_SECRET');
  expect(received[0]!.body).not.toContain(SECRET);
  expect(logs.lines().some((l) => l.level === 'error' && l.alert === 'sync_run_failed')).toBe(true);
  expect(logs.text()).not.toContain(SECRET);
});

test('SUCCESS and CANCELLED runs are not alerts: no log, no POST', async () => {
  const logs = captureLogs();
  const logger = createLogger('alerts-test', { level: 'info', destination: logs.stream });
  expect(await raiseAlert(run(sync.RunStatus.SUCCESS, { failedItems: [] }), { logger, webhookUrl: url })).toBe(false);
  expect(await raiseAlert(run(sync.RunStatus.CANCELLED), { logger, webhookUrl: url })).toBe(false);
  expect(alertPayload(run(sync.RunStatus.SUCCESS))).toBeUndefined();
  expect(received).toHaveLength(0);
  expect(logs.lines()).toHaveLength(0);
});

test('no ALERT_WEBHOOK_URL: the ERROR log only', async () => {
  const logs = captureLogs();
  const logger = createLogger('alerts-test', { level: 'info', destination: logs.stream });
  expect(await raiseAlert(run(sync.RunStatus.PARTIAL), { logger })).toBe(false);
  expect(received).toHaveLength(0);
  expect(logs.lines().filter((l) => l.level === 'error')).toHaveLength(1);
});

test('a refusing or unreachable webhook is logged with what to check, and never throws', async () => {
  const logs = captureLogs();
  const logger = createLogger('alerts-test', { level: 'info', destination: logs.stream });
  answerStatus = 500;
  expect(await raiseAlert(run(sync.RunStatus.PARTIAL), { logger, webhookUrl: url })).toBe(false);
  expect(logs.lines().some((l) => l.level === 'warn' && String(l.msg).includes('alert webhook answered HTTP 500'))).toBe(true);

  const dead = `http://127.0.0.1:${await freePort()}/nobody`;
  await expect(raiseAlert(run(sync.RunStatus.FAILED), { logger, webhookUrl: dead, timeoutMs: 2_000 })).resolves.toBe(false);
  expect(logs.lines().some((l) => l.level === 'warn' && String(l.msg).includes('check ALERT_WEBHOOK_URL'))).toBe(true);
});
