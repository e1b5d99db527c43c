// Several orchestrator replicas each start a publisher: one relays (it holds a Postgres advisory
// lock), the others stand by; when the leader stops, another takes over from the stored cursor.
// Every event arrives once (counted by Nats-Msg-Id).
import { create } from '@bufbuild/protobuf';
import { catalog } from '@haier-sync/contracts';
import { createLogger } from '@haier-sync/runtime';
import { createTestDatabase, startCatalogProcess, TEST_NATS_URL, uniqueId, waitFor, type CatalogProcess, type TestDatabase } from '@haier-sync/runtime/testing';
import type { MikroORM } from '@mikro-orm/postgresql';
import { connect, type NatsConnection } from 'nats';
import { Client } from 'pg';
import { deleteStreams, startPublisher, streamSpecs, type Publisher } from '../src/events';
import { ormCursorStore } from '../src/events/cursor-store';
import { PUBLISHER_LOCK_KEY } from '../src/events/leadership';
import { allMessages, msgIdOf } from './support/streams';
import { syncOrm } from './support/sync-db';

jest.setTimeout(180_000);

let db: TestDatabase;
let cat: CatalogProcess;
let orms: MikroORM[] = [];
let nc: NatsConnection;
const prefix = `${uniqueId('evl')}.`;
const logger = createLogger('leader-test', { level: 'silent' });

beforeAll(async () => {
  db = await createTestDatabase('hs_sync_leader');
  cat = await startCatalogProcess(db.url);
  // three "replicas", each with its own ORM (pool) like separate processes
  orms = [await syncOrm(db.url), await syncOrm(db.url), await syncOrm(db.url)];
  nc = await connect({ servers: TEST_NATS_URL });
});

afterAll(async () => {
  await deleteStreams(nc, prefix).catch(() => undefined);
  await nc?.close();
  for (const o of orms) await o.close(true);
  await cat?.stop();
  await db?.drop();
});

function products(from: number, n: number): catalog.ProductInput[] {
  return Array.from({ length: n }, (_, i) => {
    const c = `LD${String(from + i).padStart(4, '0')}`;
    return create(catalog.ProductInputSchema, { productCode: c, productModel: c, productName: c, productGroupName: 'G', productBrandName: 'B', isSales: true, supplyPrice: '9', invoicePrice: '9', stockRebate: '0', rebateMoney: '0', hasPrices: true });
  });
}

test('one publisher relays at a time; another takes over when it stops; every event once', async () => {
  const start = (orm: MikroORM): Publisher =>
    startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['catalog'], idlePollMs: 50, leaderPollMs: 200 });
  const pubs = orms.map(start);
  const cursor = () => ormCursorStore(orms[0]!).load('catalog');
  try {
    await waitFor(() => pubs.filter((p) => p.leading()).length === 1, { timeoutMs: 30_000, what: 'a leader' });
    await cat.client.upsertProducts({ products: products(0, 50), runId: 'a' });
    await waitFor(async () => (await cursor()) === 50n, { timeoutMs: 60_000, what: '50 events' });
    // only the leader published; the others stood by
    expect(pubs.filter((p) => p.leading())).toHaveLength(1);
    expect(pubs.filter((p) => p.stats().published > 0)).toHaveLength(1);

    // the leader goes away: one of the others takes over from the stored cursor
    const leader = pubs.find((p) => p.leading())!;
    await leader.stop();
    const rest = pubs.filter((p) => p !== leader);
    await waitFor(() => rest.filter((p) => p.leading()).length === 1, { timeoutMs: 30_000, what: 'a new leader' });
    await cat.client.upsertProducts({ products: products(50, 30), runId: 'b' });
    await waitFor(async () => (await cursor()) === 80n, { timeoutMs: 60_000, what: '80 events' });
    const next = rest.find((p) => p.leading())!;
    expect(next.stats().published).toBe(30);
    expect(next.stats().duplicates).toBe(0);
  } finally {
    for (const p of pubs) await p.stop();
  }
  const msgs = await allMessages(await nc.jetstreamManager(), streamSpecs(prefix).catalog.name);
  const ids = msgs.map(msgIdOf);
  expect(ids).toHaveLength(80);
  expect(new Set(ids).size).toBe(80);
  expect(ids).toEqual(Array.from({ length: 80 }, (_, i) => `LD${String(i).padStart(4, '0')}:1`));
});

test('stop() returns when it comes while a standing-by publisher is taking the lock', async () => {
  // The race a CI run once hung on: stop() landed between a follower's successful lock query and
  // its term starting, so the term never heard of it and its relays ran on. Each round holds the
  // lock, lets a publisher stand by (trying every 5 ms), frees the lock and stops the publisher
  // 0-6 ms later: some rounds land exactly in that window.
  const holder = new Client({ connectionString: db.url });
  await holder.connect();
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  try {
    for (let round = 0; round < 40; round++) {
      await holder.query('select pg_advisory_lock($1::bigint)', [PUBLISHER_LOCK_KEY]);
      const pub = startPublisher({ catalog: cat.client, orm: orms[0]!, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger, relays: ['catalog'], idlePollMs: 50, leaderPollMs: 5 });
      await pause(30);
      expect(pub.leading()).toBe(false);
      await holder.query('select pg_advisory_unlock($1::bigint)', [PUBLISHER_LOCK_KEY]);
      await pause(round % 7);
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        pub.stop().then(() => true),
        new Promise<false>((r) => (timer = setTimeout(() => r(false), 15_000))),
      ]);
      clearTimeout(timer);
      expect({ round, stopped }).toEqual({ round, stopped: true });
      expect(pub.leading()).toBe(false);
    }
  } finally {
    await holder.end();
  }
});
