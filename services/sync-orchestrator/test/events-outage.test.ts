// NATS down while the catalog keeps changing: the publisher waits, catches up when NATS is back,
// and every event arrives exactly once (counted by Nats-Msg-Id). Uses a private nats-server on a
// free port with its own store, never the machine's.
import { create } from '@bufbuild/protobuf';
import { catalog } from '@haier-sync/contracts';
import { createLogger } from '@haier-sync/runtime';
import { type CatalogProcess, createTestDatabase, sampleProduct, startCatalogProcess, type TestDatabase, waitFor } from '@haier-sync/runtime/testing';
import type { MikroORM } from '@mikro-orm/postgresql';
import { connect } from 'nats';
import { startPublisher, streamSpecs } from '../src/events';
import { ormCursorStore } from '../src/events/cursor-store';
import { startNatsServer, type NatsServerProcess } from './support/processes';
import { allMessages, msgIdOf, streamCount } from './support/streams';
import { syncOrm } from './support/sync-db';

jest.setTimeout(240_000);

const logger = createLogger('events-outage-test', { level: 'silent' });

const product = (code: string, supplyPrice: string): catalog.ProductInput => sampleProduct(code, { supplyPrice });

let db: TestDatabase;
let cat: CatalogProcess;
let orm: MikroORM;
let nats: NatsServerProcess;

beforeAll(async () => {
  db = await createTestDatabase('hs_sync_outage');
  [cat, orm, nats] = await Promise.all([startCatalogProcess(db.url), syncOrm(db.url), startNatsServer()]);
});

afterAll(async () => {
  await nats?.destroy();
  await orm?.close(true);
  await cat?.stop();
  await db?.drop();
});

test('NATS stopped while changes are produced, then started again: every event arrives, once each', async () => {
  const prefix = 'outage.';
  const stream = streamSpecs(prefix).catalog.name;
  const codes = Array.from({ length: 60 }, (_, i) => `NO${String(i).padStart(4, '0')}`);
  const pub = startPublisher({ catalog: cat.client, orm, natsUrl: nats.url, subjectPrefix: prefix, logger, relays: ['catalog'], idlePollMs: 50, publishTimeoutMs: 2_000 });
  const cursor = () => ormCursorStore(orm).load('catalog');
  try {
    // before the outage
    await cat.client.upsertProducts({ products: codes.slice(0, 20).map((c) => product(c, '100')), runId: 'before' });
    await waitFor(async () => (await cursor()) === 20n, { timeoutMs: 60_000, what: 'the first 20 events' });

    await nats.stop();
    // the catalog goes on changing (a sync run does not wait for NATS)
    for (let i = 0; i < 4; i++) {
      await cat.client.upsertProducts({ products: codes.slice(20 + i * 10, 30 + i * 10).map((c) => product(c, '100')), runId: 'during' });
    }
    await cat.client.upsertProducts({ products: codes.slice(0, 20).map((c) => product(c, '101.50')), runId: 'during' });
    const head = (await cat.client.readChanges({ afterSeq: 0n, limit: 1 })).headSeq;
    expect(head).toBe(80n);
    // nothing moves while NATS is down, and the publisher says why
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await cursor()).toBe(20n);
    expect(pub.stats().lag).toBeGreaterThan(0);

    await nats.start();
    await waitFor(async () => (await cursor()) === head, { timeoutMs: 120_000, intervalMs: 200, what: 'the publisher to catch up after NATS came back' });
  } finally {
    await pub.stop();
  }

  const nc = await connect({ servers: nats.url });
  try {
    const jsm = await nc.jetstreamManager();
    const msgs = await allMessages(jsm, stream);
    const ids = msgs.map(msgIdOf);
    const expected = [...codes.map((c) => `${c}:1`), ...codes.slice(0, 20).map((c) => `${c}:2`)];
    // all arrived
    expect(new Set(ids)).toEqual(new Set(expected));
    // once each
    expect(ids).toHaveLength(expected.length);
    expect(await streamCount(jsm, stream)).toBe(80);
    // price changes after the creations they follow
    const pos = new Map(ids.map((id, i) => [id, i]));
    for (const c of codes.slice(0, 20)) expect(pos.get(`${c}:2`)!).toBeGreaterThan(pos.get(`${c}:1`)!);
  } finally {
    await nc.close();
  }
});

test('the publisher starts while NATS is down: it keeps trying, creates the streams when NATS comes up, and sends the backlog', async () => {
  const prefix = 'late.';
  const stream = streamSpecs(prefix).catalog.name;
  const cursor = () => ormCursorStore(orm).load('catalog');
  const start = await cursor();
  await nats.stop();
  const pub = startPublisher({ catalog: cat.client, orm, natsUrl: nats.url, subjectPrefix: prefix, logger, relays: ['catalog'], idlePollMs: 50 });
  try {
    await cat.client.upsertProducts({ products: ['LT0001', 'LT0002', 'LT0003'].map((c) => product(c, '55')), runId: 'late' });
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await cursor()).toBe(start);
    await nats.start();
    await waitFor(async () => (await cursor()) === start + 3n, { timeoutMs: 60_000, intervalMs: 200, what: 'the backlog after NATS came up' });
  } finally {
    await pub.stop();
  }
  const nc = await connect({ servers: nats.url });
  try {
    const msgs = await allMessages(await nc.jetstreamManager(), stream);
    expect(msgs.map(msgIdOf)).toEqual(['LT0001:1', 'LT0002:1', 'LT0003:1']);
  } finally {
    await nc.close();
  }
});
