// `haier-sync events tail|status` as an operator runs them (child processes) against a real stack
// whose publisher relays to this test's own NATS streams.
import { closeGrpcClients } from '@haier-sync/runtime';
import { freePort, TEST_NATS_URL, waitFor } from '@haier-sync/runtime/testing';
import { sync } from '@haier-sync/contracts';
import type { NatsConnection } from 'nats';
import { createManagedNats } from '../src/events';
import { eventsStatus } from '../src/events/status';
import { statusText } from '../src/cli/commands/events';
import { streamSpecs } from '../src/events/subjects';
import { count, lastSeq, runToEnd, startStack, statusName, type Stack } from './stack';
import { cli, cliProcess } from './support/cli';

describe('haier-sync events', () => {
  let stack: Stack;
  let nc: NatsConnection;
  let env: Record<string, string>;
  let specs: ReturnType<typeof streamSpecs>;
  let fullRun: sync.Run;
  const SIZE = 60;

  /** Waits until the publisher has relayed the whole change log and every run event. */
  async function relayed(): Promise<void> {
    const changes = await count(stack.pg, 'select count(*) as n from catalog.change_log');
    const runEvents = await count(stack.pg, 'select count(*) as n from sync.run_events');
    await waitFor(async () => (await lastSeq(nc, specs.catalog.name)) >= changes && (await lastSeq(nc, specs.sync.name)) >= runEvents, {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: 'the publisher to relay the change log and the run events',
    });
  }

  beforeAll(async () => {
    stack = await startStack({ sim: { size: SIZE, seed: 31, rateLimit: 0 }, env: { SYNC_PUBLISHER_ENABLED: 'true' } });
    nc = await stack.nats();
    specs = streamSpecs(stack.prefix);
    env = { SYNC_URL: stack.orch!.url, NATS_URL: TEST_NATS_URL, NATS_SUBJECT_PREFIX: stack.prefix };
    fullRun = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 90_000);
    expect(statusName(fullRun.status)).toBe('SUCCESS');
    await relayed();
  }, 150_000);

  const stopAfter: Array<() => void> = [];
  afterAll(async () => {
    for (const stop of stopAfter) stop();
    await stack?.close();
    closeGrpcClients();
  });

  test('status: the publisher is at the head of both logs, and each stream shows its messages and consumers', async () => {
    // wait for the stored cursor too (it is saved after the acks)
    const head = (await stack.catalog.stats({})).headSeq;
    await waitFor(async () => (await count(stack.pg, `select count(*) as n from sync.publisher_cursor where name = 'catalog' and seq >= $1`, [head.toString()])) === 1, {
      timeoutMs: 20_000,
      what: 'the catalog cursor to be stored',
    });
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.add(specs.catalog.name, { durable_name: 'shop-reader', ack_policy: 'explicit' as never });
    const r = await cli(['events', 'status'], env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`catalog change log: head ${head}, published ${head}, lag 0`));
    const runEvents = await count(stack.pg, 'select count(*) as n from sync.run_events');
    expect(runEvents).toBeGreaterThanOrEqual(2); // started, completed
    const catalogInfo = await jsm.streams.info(specs.catalog.name);
    expect(r.stdout).toContain(`stream ${specs.catalog.name} [${stack.prefix}.catalog.product.*, ${stack.prefix}.catalog.stock.low]: ${catalogInfo.state.messages} messages`);
    expect(r.stdout).toMatch(new RegExp(`stream ${specs.sync.name} \\[[^\\]]+\\]: \\d+ messages`));
    // the durable consumer has been delivered nothing: the whole stream is pending for it
    expect(r.stdout).toContain(`durable shop-reader: ${catalogInfo.state.messages} pending, 0 awaiting ack, 0 redelivered, at seq 0`);

    const j = await cli(['events', 'status', '--json'], env);
    expect(j.code).toBe(0);
    const status = JSON.parse(j.stdout) as { logs: Array<{ name: string; headSeq: string; lag: string }>; streams: Array<{ name: string; messages: string }> };
    expect(status.logs.find((l) => l.name === 'catalog')).toMatchObject({ headSeq: head.toString(), lag: '0' });
    expect(status.logs.find((l) => l.name === 'runs')).toMatchObject({ lag: '0' });
    expect(status.streams.map((s) => s.name).sort()).toEqual([specs.catalog.name, specs.sync.name].sort());
  }, 60_000);

  test('status with NATS unreachable still answers the publisher position, and says what to check', async () => {
    const port = await freePort();
    const nats = createManagedNats({ url: `nats://127.0.0.1:${port}`, logger: stack.logger });
    try {
      const res = await eventsStatus({ knex: stack.orch!.knex, catalog: stack.catalog, nats: () => nats, subjectPrefix: stack.prefix, natsWaitMs: 300 });
      expect(res.natsError).toBe('NATS could not be reached within 300 ms; check NATS_URL and that the server is up');
      expect(res.streams).toEqual([]);
      expect(res.logs.map((l) => l.name)).toEqual(['catalog', 'runs']);
      expect(res.logs[0]!.headSeq).toBe((await stack.catalog.stats({})).headSeq);
      expect(statusText(res)).toContain('NATS: NATS could not be reached within 300 ms; check NATS_URL');
    } finally {
      await nats.close();
    }
  }, 30_000);

  test('tail --since 1 --max: decoded lines from the start of a stream, then it exits 0', async () => {
    const text = await cli(['events', 'tail', '--subject', 'catalog.product.created', '--since', '1', '--max', '3'], env);
    expect({ code: text.code, stderr: text.stderr }).toMatchObject({ code: 0 });
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.entries()) {
      expect(line).toMatch(
        new RegExp(`^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z ${specs.catalog.name}#${i + 1} ${stack.prefix}\\.catalog\\.product\\.created \\S+ v1 \\(change \\d+, run ${fullRun.id}\\)`),
      );
    }

    const json = await cli(['events', 'tail', '--subject', 'sync.run.>', '--since', '1', '--max', '2', '--json'], env);
    expect(json.code).toBe(0);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { subject: string; streamSeq: number; msgId: string; payload: { run: { id: string; status: string } } });
    expect(events.map((e) => e.subject)).toEqual([`${stack.prefix}.sync.run.started`, expect.stringMatching(new RegExp(`^${stack.prefix}\\.sync\\.run\\.(progress|completed)$`))]);
    expect(events.map((e) => e.payload.run.id)).toEqual([fullRun.id, fullRun.id]);
    expect(events[0]!.streamSeq).toBe(1);
    expect(events[0]!.msgId).not.toBe('');
  }, 60_000);

  test('tail without --since prints only what is published from now on: a price change made in Haier', async () => {
    const tail = cliProcess(['events', 'tail', '--subject', 'catalog.product.price_changed', '--max', '1'], env);
    stopAfter.push(() => tail.p.kill('SIGKILL'));
    await waitFor(async () => tail.io.stderr.includes('following'), { timeoutMs: 30_000, what: 'the tail to start' });
    await new Promise((r) => setTimeout(r, 500)); // the consumer is created after the note
    const code = stack.sim.control.products(0, SIZE).find((p) => p.listed && p.supplyPrice !== undefined)!.productCode;
    const before = stack.sim.control.product(code!)!;
    const newPrice = (Number(before.supplyPrice) + 7).toFixed(2);
    stack.sim.control.setPrice(code!, { supplyPrice: newPrice });
    const run = await runToEnd(stack, { mode: sync.RunMode.INCREMENTAL, scope: { productCodes: [code!] }, options: { prices: true }, startedBy: 'test' }, 60_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    const r = await Promise.race([tail.ended, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`tail did not end: ${tail.io.stdout} ${tail.io.stderr}`)), 30_000))]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`${stack.prefix}.catalog.product.price_changed ${code} v2 `);
    expect(lines[0]).toContain(`run ${run.id}`);
    // FieldChange values are JSON numbers: 6961.00 is written 6961
    const num = (d: string): string => String(Number(d)).replace('.', '\\.');
    expect(lines[0]).toMatch(new RegExp(`: supply_price ${num(before.supplyPrice!)}→${num(newPrice)}, `));
  }, 90_000);

  test('bad options are usage errors (64) saying what to give; NATS down is 69 naming NATS_URL', async () => {
    const subject = await cli(['events', 'tail', '--subject', 'orders.created'], env);
    expect(subject.code).toBe(64);
    expect(subject.stderr).toContain('--subject "orders.created" is in no event stream; subjects start with catalog. (products, stock) or sync. (runs)');
    const malformed = await cli(['events', 'tail', '--subject', 'catalog..x'], env);
    expect(malformed.code).toBe(64);
    expect(malformed.stderr).toContain('is not a NATS subject');
    const seqBoth = await cli(['events', 'tail', '--since', '5'], env);
    expect(seqBoth.code).toBe(64);
    expect(seqBoth.stderr).toContain('--since with a sequence number needs --subject');
    const badSince = await cli(['events', 'tail', '--since', 'yesterday'], env);
    expect(badSince.code).toBe(64);
    expect(badSince.stderr).toContain('--since must be a UTC time such as 2026-11-25');
    const port = await freePort();
    const down = await cli(['events', 'tail'], { ...env, NATS_URL: `nats://127.0.0.1:${port}` });
    expect(down.code).toBe(69);
    expect(down.stderr).toContain(`cannot reach NATS at nats://127.0.0.1:${port}`);
    expect(down.stderr).toContain('NATS_URL');
  }, 60_000);
});
