// A change log longer than one ReadChanges page, crossing 9->10 and 99->100: the relay must see
// every seq in order page after page (the catalog once ordered seq as text: 100 before 11).
import { create } from '@bufbuild/protobuf';
import { catalog } from '@haier-sync/contracts';
import { createLogger } from '@haier-sync/runtime';
import { createTestDatabase, startCatalogProcess, TEST_NATS_URL, uniqueId, waitFor, type CatalogProcess, type TestDatabase } from '@haier-sync/runtime/testing';
import type { MikroORM } from '@mikro-orm/postgresql';
import { connect, type NatsConnection } from 'nats';
import { deleteStreams, startPublisher, streamSpecs } from '../src/events';
import { ormCursorStore } from '../src/events/cursor-store';
import { allMessages, productEvent } from './support/streams';
import { syncOrm } from './support/sync-db';

jest.setTimeout(180_000);

let db: TestDatabase;
let cat: CatalogProcess;
let orm: MikroORM;
let nc: NatsConnection;
const prefix = `${uniqueId('evo')}.`;

beforeAll(async () => {
  db = await createTestDatabase('hs_sync_order');
  [cat, orm] = await Promise.all([startCatalogProcess(db.url), syncOrm(db.url)]);
  nc = await connect({ servers: TEST_NATS_URL });
});

afterAll(async () => {
  await deleteStreams(nc, prefix).catch(() => undefined);
  await nc?.close();
  await orm?.close(true);
  await cat?.stop();
  await db?.drop();
});

test('page after page, every change once and in seq order (pages of 25 over 150 changes)', async () => {
  const codes = Array.from({ length: 150 }, (_, i) => `OR${String(i).padStart(4, '0')}`);
  for (let i = 0; i < codes.length; i += 50) {
    await cat.client.upsertProducts({
      products: codes.slice(i, i + 50).map((c) =>
        create(catalog.ProductInputSchema, { productCode: c, productModel: c, productName: c, productGroupName: 'G', productBrandName: 'B', isSales: true, supplyPrice: '10', invoicePrice: '10', stockRebate: '0', rebateMoney: '0', hasPrices: true }),
      ),
      runId: 'order',
    });
  }
  const page = await cat.client.readChanges({ afterSeq: 9n, limit: 3 });
  // the catalog's own contract: the changes after a seq, ascending
  expect(page.changes.map((c) => c.seq)).toEqual([10n, 11n, 12n]);

  const pub = startPublisher({ catalog: cat.client, orm, natsUrl: TEST_NATS_URL, subjectPrefix: prefix, logger: createLogger('order-test', { level: 'silent' }), relays: ['catalog'], pageSize: 25, idlePollMs: 50, gapWaitMs: 30_000 });
  try {
    await waitFor(async () => (await ormCursorStore(orm).load('catalog')) === 150n, { timeoutMs: 90_000, what: 'all 150 changes' });
  } finally {
    await pub.stop();
  }
  const msgs = await allMessages(await nc.jetstreamManager(), streamSpecs(prefix).catalog.name);
  expect(msgs.map((m) => productEvent(m).seq)).toEqual(codes.map((_, i) => BigInt(i + 1)));
});
