// The event publisher against the machine's NATS (own stream prefix), a real catalog process and
// real Postgres: the change log relayed in order, one message per change, Nats-Msg-Id = code +
// version, the cursor stored only after the ack, dedupe on replay, run events, stream limits.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampNow } from '@bufbuild/protobuf/wkt';
import { catalog, events, sync } from '@haier-sync/contracts';
import { createLogger } from '@haier-sync/runtime';
import { type CatalogProcess, createTestDatabase, sampleProduct, startCatalogProcess, startTestTracing, TEST_NATS_URL, type TestDatabase, type TestTracing, uniqueId, waitFor } from '@haier-sync/runtime/testing';
import type { MikroORM } from '@mikro-orm/postgresql';
import { SpanKind } from '@opentelemetry/api';
import { connect, nanos, type JetStreamManager, type NatsConnection } from 'nats';
import { Client as PgClient } from 'pg';
import { deleteStreams, ensureStreams, startPublisher, streamSpecs } from '../src/events';
import { productsBucket } from '../src/events/subjects';
import { ormCursorStore, type CursorStore } from '../src/events/cursor-store';
import { createManagedNats } from '../src/events/nats-connection';
import { Relay } from '../src/events/relay';
import { allMessages, msgIdOf, productEvent, streamCount } from './support/streams';
import { syncOrm } from './support/sync-db';

jest.setTimeout(180_000);

const logger = createLogger('events-test', { level: 'silent' });

const product = (code: string, supplyPrice = '1000'): catalog.ProductInput => sampleProduct(code, { supplyPrice });

let db: TestDatabase;
let cat: CatalogProcess;
let orm: MikroORM;
let nc: NatsConnection;
let jsm: JetStreamManager;
let tracing: TestTracing;
const prefixes: string[] = [];

beforeAll(async () => {
  tracing = startTestTracing();
  db = await createTestDatabase('hs_sync_events');
  [cat, orm] = await Promise.all([startCatalogProcess(db.url), syncOrm(db.url)]);
  nc = await connect({ servers: TEST_NATS_URL });
  jsm = await nc.jetstreamManager();
});

afterAll(async () => {
  for (const p of prefixes) await deleteStreams(nc, p).catch(() => undefined);
  await nc?.close();
  await orm?.close(true);
  await cat?.stop();
  await db?.drop();
  await tracing?.stop();
});

function newPrefix(): string {
  const p = `${uniqueId('ev')}.`;
  prefixes.push(p);
  return p;
}

async function cursorOf(name: string): Promise<bigint> {
  return ormCursorStore(orm).load(name);
}

describe('event publisher', () => {
  test('relays the catalog change log in order, one message per change, msg id = code:version, cursor stored only after the ack', async () => {
    const prefix = newPrefix();
    const { catalog: catStream } = streamSpecs(prefix);
    const codes = Array.from({ length: 40 }, (_, i) => `EV${String(i).padStart(4, '0')}`);
    await cat.client.upsertProducts({ products: codes.slice(0, 20).map((c) => product(c)), runId: 'run-a' });
    await cat.client.upsertProducts({ products: codes.slice(20).map((c) => product(c)), runId: 'run-a' });
    // a price change for every other product, then delist two
    await cat.client.upsertProducts({ products: codes.filter((_, i) => i % 2 === 0).map((c) => product(c, '1234.56')), runId: 'run-b' });
    await cat.client.markDelisted({ codesSeen: codes.filter((c) => c !== codes[1] && c !== codes[3]), runId: 'run-c' });
    const head = (await cat.client.readChanges({ afterSeq: 0n, limit: 1000 })).changes.sort((a, b) => Number(a.seq - b.seq));
    expect(head.length).toBe(40 + 20 + 2);

    // every cursor save must find its change already in the stream (the ack came first)
    const saves: Array<{ seq: bigint; inStream: number }> = [];
    const real = ormCursorStore(orm);
    const watched: CursorStore = {
      load: (n) => real.load(n),
      async save(n, seq) {
        saves.push({ seq, inStream: await streamCount(jsm, catStream.name) });
        await real.save(n, seq);
      },
    };
    const pub = startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['catalog'], cursorStore: watched, persistEvery: 10, idlePollMs: 50 });
    try {
      await waitFor(async () => (await cursorOf('catalog')) === BigInt(head.length), { timeoutMs: 60_000, what: 'the catalog cursor to reach the head of the change log' });
      expect(pub.stats()).toMatchObject({ published: head.length, duplicates: 0 });
    } finally {
      await pub.stop();
    }

    const msgs = await allMessages(jsm, catStream.name);
    expect(msgs).toHaveLength(head.length); // one per change (no stock changes here, so no stock.low)
    const decoded = msgs.map(productEvent);
    // in change-log order
    expect(decoded.map((e) => e.seq)).toEqual(head.map((c) => c.seq));
    // subject per kind, msg id per code+version, content type and trace context in the headers
    const kinds = new Map([
      [catalog.ChangeKind.CREATED, 'created'],
      [catalog.ChangeKind.PRICE_CHANGED, 'price_changed'],
      [catalog.ChangeKind.DELISTED, 'delisted'],
    ]);
    msgs.forEach((m, i) => {
      const c = head[i]!;
      expect(m.subject).toBe(`${prefix}catalog.product.${kinds.get(c.kind) ?? 'updated'}`);
      expect(msgIdOf(m)).toBe(`${c.productCode}:${c.version}`);
      expect(m.header?.get('content-type')).toContain('haiersync.events.v1.ProductChanged');
      expect(m.header?.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      expect(decoded[i]!.productCode).toBe(c.productCode);
      expect(decoded[i]!.version).toBe(c.version);
    });
    expect(msgs.filter((m) => m.subject.endsWith('.created'))).toHaveLength(40);
    expect(msgs.filter((m) => m.subject.endsWith('.price_changed'))).toHaveLength(20);
    expect(msgs.filter((m) => m.subject.endsWith('.delisted'))).toHaveLength(2);
    expect(new Set(msgs.map(msgIdOf)).size).toBe(msgs.length);
    // the cursor moved only over acknowledged messages
    expect(saves.length).toBeGreaterThan(1);
    for (const s of saves) expect(s.inStream).toBeGreaterThanOrEqual(Number(s.seq));
    expect(await cursorOf('catalog')).toBe(BigInt(head.length));
    // one PRODUCER span per page of changes (not per message), and every message carries its page's context
    const pages = tracing.spans().filter((s) => s.name === 'catalog publish' && s.kind === SpanKind.PRODUCER);
    expect(pages.length).toBeGreaterThanOrEqual(1);
    expect(pages.length).toBeLessThan(head.length);
    // each change went out twice: its event and its value in the products bucket
    expect(pages.reduce((a, s) => a + Number(s.attributes['messaging.batch.message_count']), 0)).toBe(2 * head.length);
    const pageContexts = new Set(pages.map((s) => `${s.spanContext().traceId}-${s.spanContext().spanId}`));
    for (const m of msgs) expect(pageContexts.has(m.header!.get('traceparent').slice(3, 52))).toBe(true);

    // a replay from an older cursor is deduplicated by Nats-Msg-Id: nothing twice
    await orm.em.getConnection().execute(`update sync.publisher_cursor set seq = 10 where name = 'catalog'`);
    const again = startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['catalog'], idlePollMs: 50 });
    try {
      await waitFor(async () => (await cursorOf('catalog')) === BigInt(head.length), { timeoutMs: 60_000, what: 'the replay to finish' });
      expect(again.stats().duplicates).toBe(head.length - 10);
      expect(again.stats().published).toBe(0);
    } finally {
      await again.stop();
    }
    expect(await streamCount(jsm, catStream.name)).toBe(head.length);

    // new changes after a restart continue where the cursor stands
    await cat.client.upsertProducts({ products: [product('EV9999')], runId: 'run-d' });
    const third = startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['catalog'], idlePollMs: 50 });
    try {
      await waitFor(async () => (await streamCount(jsm, catStream.name)) === head.length + 1, { timeoutMs: 30_000, what: 'the new change' });
      await waitFor(async () => (await cursorOf('catalog')) === BigInt(head.length + 1), { timeoutMs: 30_000, what: 'the cursor after the new change' });
      expect(third.stats().published).toBe(1);
      expect(third.stats().duplicates).toBe(0);
    } finally {
      await third.stop();
    }
  });

  test('a stock change below the threshold also raises catalog.stock.low', async () => {
    const prefix = newPrefix();
    await cat.client.upsertProducts({ products: [product('EVLOW1'), product('EVLOW2')], runId: 'run-s' });
    await cat.client.updateStock({
      items: [
        { productCode: 'EVLOW1', countyCode: '110101', quantity: 2n },
        { productCode: 'EVLOW2', countyCode: '110101', quantity: 50n },
      ],
      runId: 'run-s',
    });
    const pub = startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['catalog'], idlePollMs: 50, lowStockThreshold: 5, defaultCounty: '110101' });
    const name = streamSpecs(prefix).catalog.name;
    try {
      const head = (await cat.client.readChanges({ afterSeq: 0n, limit: 1000 })).headSeq;
      // the cursor belongs to the database, not the prefix: this stream gets only the changes made here
      await waitFor(async () => (await cursorOf('catalog')) === head, { timeoutMs: 60_000, what: 'the relay to reach the head' });
    } finally {
      await pub.stop();
    }
    const msgs = await allMessages(jsm, name);
    const low = msgs.filter((m) => m.subject === `${prefix}catalog.stock.low`);
    expect(low).toHaveLength(1);
    const ev = fromBinary(events.StockLowSchema, low[0]!.data);
    expect(ev.productCode).toBe('EVLOW1');
    expect(ev.quantity).toBe(2n);
    expect(ev.threshold).toBe(5n);
    expect(msgIdOf(low[0]!)).toMatch(/^EVLOW1:\d+:low$/);
    expect(msgs.filter((m) => m.subject === `${prefix}catalog.product.stock_changed`).map((m) => productEvent(m).productCode).sort()).toEqual(['EVLOW1', 'EVLOW2']);
  });

  test('relays the run outbox to SYNC sync.run.* with its msg ids', async () => {
    const prefix = newPrefix();
    const runId = uniqueId('run');
    const run = create(sync.RunSchema, { id: runId, status: sync.RunStatus.PROCESSING, syncType: sync.SyncType.PRODUCTS, mode: sync.RunMode.FULL });
    const payload = (r: sync.Run) => Buffer.from(toBinary(events.RunEventSchema, create(events.RunEventSchema, { run: r, occurredAt: timestampNow() })));
    const conn = orm.em.getConnection();
    const rows: Array<[string, string, Buffer]> = [
      ['sync.run.started', `run:${runId}:started`, payload(run)],
      ['sync.run.progress', `run:${runId}:progress:1`, payload(run)],
      ['sync.run.completed', `run:${runId}:completed`, payload({ ...run, status: sync.RunStatus.SUCCESS })],
    ];
    for (const [subject, msgId, data] of rows) {
      await conn.execute('insert into sync.run_events (subject, msg_id, payload) values (?, ?, ?)', [subject, msgId, data]);
    }
    const pub = startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['runs'], idlePollMs: 50 });
    const name = streamSpecs(prefix).sync.name;
    try {
      await waitFor(async () => (await cursorOf('runs')) >= 3n, { timeoutMs: 30_000, what: 'the runs cursor' });
    } finally {
      await pub.stop();
    }
    const msgs = await allMessages(jsm, name);
    expect(msgs.map((m) => m.subject)).toEqual([`${prefix}sync.run.started`, `${prefix}sync.run.progress`, `${prefix}sync.run.completed`]);
    expect(msgs.map(msgIdOf)).toEqual(rows.map((r) => r[1]));
    const last = fromBinary(events.RunEventSchema, msgs[2]!.data);
    expect(last.run?.id).toBe(runId);
    expect(last.run?.status).toBe(sync.RunStatus.SUCCESS);
    expect(msgs[0]!.header?.get('content-type')).toContain('haiersync.events.v1.RunEvent');
  });
});

describe('relay paging', () => {
  test('the run outbox longer than a page, crossing 9->10 and 99->100: every row once, in seq order', async () => {
    const prefix = newPrefix();
    const conn = orm.em.getConnection();
    const before = await cursorOf('runs');
    const runId = uniqueId('long');
    const data = Buffer.from(toBinary(events.RunEventSchema, create(events.RunEventSchema, { run: create(sync.RunSchema, { id: runId }) })));
    for (let i = 1; i <= 120; i++) {
      await conn.execute('insert into sync.run_events (subject, msg_id, payload) values (?, ?, ?)', ['sync.run.progress', `run:${runId}:progress:${i}`, data]);
    }
    const head = BigInt((await conn.execute<{ s: string }[]>('select max(seq)::text as s from sync.run_events'))[0]!.s);
    const pub = startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['runs'], pageSize: 25, idlePollMs: 50, gapWaitMs: 60_000 });
    try {
      await waitFor(async () => (await cursorOf('runs')) === head, { timeoutMs: 60_000, what: 'the runs relay to reach the head' });
    } finally {
      await pub.stop();
    }
    expect(before).toBeLessThan(10n); // the pages crossed 9 -> 10 and 99 -> 100
    const msgs = await allMessages(jsm, streamSpecs(prefix).sync.name);
    expect(msgs.map(msgIdOf)).toEqual(Array.from({ length: 120 }, (_, i) => `run:${runId}:progress:${i + 1}`));
  });

  test('the run outbox: a seq held by a slow uncommitted writer is waited for, a burnt seq is passed once settled', async () => {
    const prefix = newPrefix();
    const conn = orm.em.getConnection();
    const id = uniqueId('hole');
    const data = Buffer.from(toBinary(events.RunEventSchema, create(events.RunEventSchema, { run: create(sync.RunSchema, { id }) })));
    const insert = 'insert into sync.run_events (subject, msg_id, payload) values ($1, $2, $3) returning seq::text as seq';
    const slow = new PgClient({ connectionString: db.url });
    const burnt = new PgClient({ connectionString: db.url });
    await Promise.all([slow.connect(), burnt.connect()]);
    try {
      // 1: a writer takes a seq and does not commit yet
      await slow.query('begin');
      const held = BigInt((await slow.query<{ seq: string }>(insert, ['sync.run.started', `run:${id}:started`, data])).rows[0]!.seq);
      // 2: a later event commits first
      await conn.execute('insert into sync.run_events (subject, msg_id, payload) values (?, ?, ?)', ['sync.run.progress', `run:${id}:progress:1`, data]);
      // 3: a seq burnt by a rolled-back writer, then 4: another committed event
      await burnt.query('begin');
      await burnt.query(insert, ['sync.run.progress', `run:${id}:progress:rolled-back`, data]);
      await burnt.query('rollback');
      await conn.execute('insert into sync.run_events (subject, msg_id, payload) values (?, ?, ?)', ['sync.run.completed', `run:${id}:completed`, data]);

      const pub = startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['runs'], idlePollMs: 50, gapWaitMs: 100 });
      try {
        // the relay gets up to the held seq, then, far longer than the time-based gap wait, stays there
        await waitFor(async () => (await cursorOf('runs')) === held - 1n, { timeoutMs: 30_000, what: 'the relay to reach the held seq' });
        await new Promise((r) => setTimeout(r, 3_000));
        expect(await cursorOf('runs')).toBe(held - 1n);
        await slow.query('commit');
        await waitFor(async () => (await cursorOf('runs')) === held + 3n, { timeoutMs: 30_000, what: 'the relay to pass the settled hole' });
      } finally {
        await pub.stop();
      }
      const msgs = await allMessages(jsm, streamSpecs(prefix).sync.name);
      expect(msgs.map(msgIdOf)).toEqual([`run:${id}:started`, `run:${id}:progress:1`, `run:${id}:completed`]);
    } finally {
      await slow.query('rollback').catch(() => undefined);
      await Promise.all([slow.end(), burnt.end()]);
    }
  });

  test('a full page answered out of order: the relay waits at the first missing seq instead of skipping it', async () => {
    const prefix = newPrefix();
    // a log of seqs 1..30 that answers in text order (the wrong order some SQL gives)
    const all = Array.from({ length: 30 }, (_, i) => BigInt(i + 1));
    let fixed = false;
    const source = {
      name: 'scripted',
      async read(after: bigint, limit: number) {
        const rest = all.filter((s) => s > after);
        const page = (fixed ? rest : [...rest].sort((a, b) => a.toString().localeCompare(b.toString()))).slice(0, limit);
        // the source says it cannot vouch for gaps (what catalogChangeSource says of a full page out of order)
        const untrusted = !fixed && page.length >= limit;
        return {
          headSeq: 30n,
          items: [...page].sort((a, b) => Number(a - b)).map((seq) => ({ seq, messages: [{ subject: `${prefix}catalog.product.updated`, data: new Uint8Array([Number(seq)]), msgId: `S:${seq}`, contentType: 'x' }] })),
          ...(untrusted ? { untrustedGaps: 'out of order' } : {}),
        };
      },
    };
    let stored = 0n;
    const store = { load: async () => stored, save: async (_n: string, s: bigint) => void (stored = s) };
    const nats = createManagedNats({ url: TEST_NATS_URL, logger });
    await ensureStreams((await nats.ready())!, { prefix, duplicateWindowS: 60, maxAgeH: 1, maxBytes: -1 });
    const relay = new Relay(source, store, nats, logger, { pageSize: 10, idlePollMs: 20, publishTimeoutMs: 5_000, persistEvery: 5, gapWaitMs: 100, prepare: async () => undefined });
    const abort = new AbortController();
    const done = relay.run(abort.signal);
    try {
      // page after 0 in text order: 1,10..18 -> only 1 is provably next; then after 1: 10..19 (2 is missing) -> wait
      await waitFor(() => stored === 1n, { timeoutMs: 10_000, what: 'seq 1' });
      await new Promise((r) => setTimeout(r, 1_000)); // ten times the gap wait: still no skip
      expect(stored).toBe(1n);
      // the log answers correctly again: everything flows, nothing was skipped
      fixed = true;
      await waitFor(() => stored === 30n, { timeoutMs: 20_000, what: 'all 30' });
    } finally {
      abort.abort();
      await done;
      await nats.close();
    }
    const msgs = await allMessages(jsm, streamSpecs(prefix).catalog.name);
    expect(msgs.map(msgIdOf)).toEqual(all.map((s) => `S:${s}`));
  });
});

describe('streams', () => {
  test('created with the dedupe window and limits, left alone when equal, updated when the environment changes', async () => {
    const prefix = newPrefix();
    const specs = streamSpecs(prefix);
    const first = await ensureStreams(nc, { prefix, duplicateWindowS: 120, maxAgeH: 24, maxBytes: 10_000_000 });
    expect(first).toEqual({
      catalog: { name: specs.catalog.name, action: 'created' },
      sync: { name: specs.sync.name, action: 'created' },
      products: { name: productsBucket(prefix), action: 'created' },
    });
    let info = await jsm.streams.info(specs.catalog.name);
    expect(info.config.duplicate_window).toBe(nanos(120_000));
    expect(info.config.max_age).toBe(nanos(24 * 3_600_000));
    expect(info.config.max_bytes).toBe(10_000_000);
    expect([...info.config.subjects].sort()).toEqual([`${prefix}catalog.product.*`, `${prefix}catalog.stock.low`]);
    expect((await jsm.streams.info(specs.sync.name)).config.subjects).toEqual([`${prefix}sync.run.*`]);
    // the products bucket keeps one value per product, with no age limit (it is the whole catalog)
    const bucket = (await jsm.streams.info(`KV_${productsBucket(prefix)}`)).config;
    expect({ perSubject: bucket.max_msgs_per_subject, maxAge: bucket.max_age }).toEqual({ perSubject: 1, maxAge: 0 });

    const same = await ensureStreams(nc, { prefix, duplicateWindowS: 120, maxAgeH: 24, maxBytes: 10_000_000 });
    expect(same.catalog.action).toBe('unchanged');
    expect(same.sync.action).toBe('unchanged');
    expect(same.products.action).toBe('unchanged');

    // a message survives an update of the limits
    await (nc.jetstream()).publish(`${prefix}catalog.product.created`, new Uint8Array([1]), { msgID: 'keep:1' });
    const changed = await ensureStreams(nc, { prefix, duplicateWindowS: 300, maxAgeH: 48, maxBytes: -1 });
    expect(changed.catalog.action).toBe('updated');
    expect(changed.sync.action).toBe('updated');
    info = await jsm.streams.info(specs.catalog.name);
    expect(info.config.duplicate_window).toBe(nanos(300_000));
    expect(info.config.max_age).toBe(nanos(48 * 3_600_000));
    expect(info.config.max_bytes).toBe(-1);
    expect(info.state.messages).toBe(1);
  });
});
