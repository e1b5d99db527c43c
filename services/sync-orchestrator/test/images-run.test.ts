// Images in sync runs (issue 15 items 2 and 6) over the real stack: the simulator as Haier and
// image host, the gateway mirroring into a real store (a temp directory, or s3rver: a real
// S3-compatible server), the catalog recording, the orchestrator running. The same happy path
// against both stores; faults and the orphan sweep against the filesystem one.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { sync } from '@haier-sync/contracts';
import { imageStoreFromEnv, S3ImageStore, type ImageStore } from '@haier-sync/runtime/image-store';
import { waitFor } from '@haier-sync/runtime/testing';
import type { NatsConnection } from 'nats';
import { streamSpecs } from '../src/events';
import { sweepOrphans } from '../src/images/orphan-sweep';
import { count, lastSeq, readStream, runToEnd, startStack, statusName, type Stack } from './stack';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

jest.setTimeout(240_000);

interface StoreSetup {
  env: Record<string, string> | undefined;
  close: () => Promise<void>;
}

const filesystem = async (): Promise<StoreSetup> => ({ env: undefined, close: async () => undefined });

async function s3(): Promise<StoreSetup> {
  const dir = await mkdtemp(join(tmpdir(), 's3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  const address: AddressInfo = await server.run();
  const env = {
    IMAGE_STORE: 's3',
    IMAGE_S3_BUCKET: 'images',
    IMAGE_S3_PREFIX: 'shop/',
    IMAGE_S3_ENDPOINT: `http://127.0.0.1:${address.port}`,
    IMAGE_S3_ACCESS_KEY_ID: 'S3RVER',
    IMAGE_S3_SECRET_ACCESS_KEY: 'S3RVER',
  };
  const store = imageStoreFromEnv(env) as S3ImageStore;
  await store.ensureBucket();
  store.client.destroy();
  return { env, close: async () => { await server.close(); await rm(dir, { recursive: true, force: true }); } };
}

async function storeKeys(store: ImageStore): Promise<string[]> {
  const out: string[] = [];
  for await (const o of store.list()) out.push(o.key);
  return out;
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe.each([
  ['filesystem', filesystem, 500],
  ['s3 (s3rver)', s3, 200],
] as const)('images in runs, %s store', (storeName, makeStore, SIZE) => {
  let setup: StoreSetup;
  let stack: Stack;
  let store: ImageStore;
  let nc: NatsConnection;
  let catalogStream: string;

  beforeAll(async () => {
    setup = await makeStore();
    stack = await startStack({
      sim: { size: SIZE, seed: 15 },
      imageEnv: setup.env,
      gatewayEnv: { HAIER_IMAGE_TIMEOUT_MS: '1000', HAIER_IMAGE_MAX_RETRIES: '1', HAIER_IMAGE_MAX_BYTES: String(2 * 1024 * 1024) },
      env: { SYNC_IMAGES_IN_FULL: 'true', SYNC_PUBLISHER_ENABLED: 'true' },
    });
    store = imageStoreFromEnv(setup.env ?? { IMAGE_STORE: 'filesystem', IMAGE_STORE_DIR: stack.imageDir });
    nc = await stack.nats();
    catalogStream = streamSpecs(stack.prefix).catalog.name;
  });
  afterAll(async () => {
    if (store instanceof S3ImageStore) store.client.destroy();
    await stack?.close();
    await setup?.close();
  });

  const listed = () => stack.sim.control.products(0, SIZE).filter((p) => p.listed);
  const imagesOf = (p: { productImageUrl: string; productLageUrls: string[] }) => (p.productImageUrl ? 1 : 0) + p.productLageUrls.filter(Boolean).length;
  const wantedCount = () => listed().reduce((n, p) => n + imagesOf(p), 0);
  const changeLogMax = async () => count(stack.pg, `select coalesce(max(seq), 0) as n from catalog.change_log`);
  // the stream's last sequence once the publisher has relayed every change recorded so far (an
  // earlier test's changes may still be on their way when the next test starts)
  async function relayed(): Promise<number> {
    const total = await changeLogMax();
    await waitFor(async () => (await lastSeq(nc, catalogStream)) >= total, { timeoutMs: 60_000, intervalMs: 200, what: 'the publisher to relay the change log' });
    return lastSeq(nc, catalogStream);
  }
  async function relayedSince(afterSeq: number) {
    await relayed();
    await new Promise((r) => setTimeout(r, 500));
    return readStream(nc, catalogStream, afterSeq);
  }
  const imageWarnings = async (runId: string) =>
    (await stack.sync.listRunLog({ runId, levels: [sync.LogLevel.WARNING], pageSize: 1000 })).lines.filter((l) => l.endpoint === 'images');

  const imageRequests = () => Object.values(stack.sim.control.stats().images.byOutcome).reduce((n, x) => n + x, 0);

  test(`a FULL run over ${SIZE} products stores every distinct image once, and the records match the bytes`, async () => {
    const streamBefore = await relayed();
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 180_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    expect(run.options?.images).toBe(true);
    expect(run.counts?.failed).toBe(0n);
    expect(run.message).toMatch(/images: \d+ downloaded/);
    expect(await imageWarnings(run.id)).toEqual([]);

    // one record per image of every listed product, all stored
    const records = await stack.pg.query<{ product_code: string; position: number; sha256: string; storage_key: string; bytes: string; content_type: string; width: number; height: number; status: string }>(
      `select product_code, position, sha256, storage_key, bytes::text, content_type, width, height, status from catalog.product_image`,
    );
    expect(records.rows).toHaveLength(wantedCount());
    expect(records.rows.every((r) => r.status === 'stored')).toBe(true);
    // content-addressed: one object per distinct content (the simulator shares pictures, ~30% distinct)
    const distinct = new Set(records.rows.map((r) => r.sha256));
    const keys = await storeKeys(store);
    expect(keys.length).toBe(distinct.size);
    expect(new Set(keys)).toEqual(new Set(records.rows.map((r) => r.storage_key)));
    expect(distinct.size).toBeLessThan(records.rows.length * 0.6);
    // each distinct object's bytes are what its records say (hash, size, type)
    const byKey = new Map(records.rows.map((r) => [r.storage_key, r]));
    for (const [key, r] of byKey) {
      const body = await store.get(key);
      expect(body).toBeDefined();
      expect(sha(body!)).toBe(r.sha256);
      expect(body!.length).toBe(Number(r.bytes));
      expect(r.content_type).toBe('image/png');
      expect(body!.subarray(0, 8).equals(PNG)).toBe(true);
      expect(body!.readUInt32BE(16)).toBe(r.width);
      expect(body!.readUInt32BE(20)).toBe(r.height);
    }

    // one change per product: a single `created` row whose snapshot carries the images, and one event
    const rows = await stack.pg.query<{ product_code: string; kind: string; n: number }>(
      `select product_code, kind, jsonb_array_length(snapshot->'images') as n from catalog.change_log order by seq`,
    );
    expect(rows.rows).toHaveLength(listed().length);
    expect(new Set(rows.rows.map((r) => r.product_code)).size).toBe(listed().length);
    expect(rows.rows.every((r) => r.kind === 'created')).toBe(true);
    const perProduct = new Map(listed().map((p) => [p.productCode, imagesOf(p)]));
    for (const r of rows.rows) expect(r.n).toBe(perProduct.get(r.product_code));
    const versions = await count(stack.pg, `select count(*) as n from catalog.product where version <> 1`);
    expect(versions).toBe(0);
    const events = await relayedSince(streamBefore);
    expect(events).toHaveLength(listed().length);
    expect(run.message).toContain(`${listed().filter((p) => perProduct.get(p.productCode)! > 0).length} products with image changes`);
  });

  test('a second FULL within SYNC_IMAGE_RECHECK_AFTER makes 0 image requests and writes nothing', async () => {
    const requestsBefore = imageRequests();
    const seqBefore = await changeLogMax();
    const checked = await stack.pg.query<{ t: string }>(`select max(checked_at)::text as t from catalog.product_image`);
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 180_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    expect(imageRequests() - requestsBefore).toBe(0);
    expect(await changeLogMax()).toBe(seqBefore);
    expect(run.counts?.updated).toBe(0n);
    // left alone: not even checked_at moves
    expect((await stack.pg.query<{ t: string }>(`select max(checked_at)::text as t from catalog.product_image`)).rows[0]!.t).toBe(checked.rows[0]!.t);
    expect(run.message).toContain(`images: 0 downloaded (0.0 MB), 0 unchanged (304), ${wantedCount()} not due (checked within SYNC_IMAGE_RECHECK_AFTER), 0 failed, 0 products with image changes`);
  });

  test('within the window, a product whose image URLs changed is still fetched, and is one change', async () => {
    const moved = listed().slice(30, 33);
    for (const p of moved) stack.sim.control.moveImages(p.productCode);
    const movedImages = moved.reduce((n, p) => n + imagesOf(p), 0);
    const requestsBefore = imageRequests();
    const seqBefore = await changeLogMax();
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 180_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    // exactly the moved products' images are requested (a new URL is fetched in full: no validators)
    expect(imageRequests() - requestsBefore).toBe(movedImages);
    expect(run.message).toContain(`images: ${movedImages} downloaded`);
    expect(run.message).toContain(`${wantedCount() - movedImages} not due`);
    const recs = await stack.pg.query<{ source_url: string }>(`select source_url from catalog.product_image where product_code = any($1)`, [moved.map((p) => p.productCode)]);
    expect(recs.rows).toHaveLength(movedImages);
    expect(recs.rows.every((r) => r.source_url.endsWith('?v=1'))).toBe(true);
    // the same pictures: the product changed (its URLs), its images did not; one row each
    const rows = await stack.pg.query<{ product_code: string; fields: string }>(`select product_code, fields::text as fields from catalog.change_log where seq > $1`, [seqBefore]);
    expect(rows.rows.map((r) => r.product_code).sort()).toEqual(moved.map((p) => p.productCode).sort());
    expect(rows.rows.every((r) => r.fields.includes('product_image_url') && !r.fields.includes('image.main'))).toBe(true);
  });

  test('recheck_images revalidates every image: changing 5 products\' images changes exactly those products and emits exactly their events', async () => {
    const codes = listed().slice(3, 8).map((p) => p.productCode);
    for (const c of codes) stack.sim.control.changeImage(c);
    const seqBefore = await changeLogMax();
    const streamBefore = await relayed();
    const requestsBefore = imageRequests();
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, options: { recheckImages: true }, startedBy: 'test' }, 180_000);
    expect(run.options?.recheckImages).toBe(true);
    expect(imageRequests() - requestsBefore).toBe(wantedCount());
    const changedImages = listed().filter((p) => codes.includes(p.productCode)).reduce((n, p) => n + imagesOf(p), 0);
    expect(run.message).toContain(`images: ${changedImages} downloaded`);
    expect(run.message).toContain(`${wantedCount() - changedImages} unchanged (304), 0 not due`);
    expect(statusName(run.status)).toBe('SUCCESS');
    const rows = await stack.pg.query<{ product_code: string; fields: string }>(
      `select product_code, fields::text as fields from catalog.change_log where seq > $1 order by seq`,
      [seqBefore],
    );
    expect(rows.rows.map((r) => r.product_code).sort()).toEqual([...codes].sort());
    expect(rows.rows.every((r) => r.fields.includes('image.main'))).toBe(true);
    expect(run.counts?.updated).toBe(5n);
    const events = await relayedSince(streamBefore);
    expect(events.map((e) => e.msgId.split(':')[0]).sort()).toEqual([...codes].sort());
    // the new content is stored and recorded
    const recs = await stack.pg.query<{ storage_key: string }>(`select storage_key from catalog.product_image where product_code = any($1)`, [codes]);
    for (const r of recs.rows) expect(await store.has(r.storage_key)).toBe(true);
  });

  if (storeName !== 'filesystem') return;

  test('a dry run mirrors nothing and writes nothing (the image step is skipped)', async () => {
    const code = listed()[10]!.productCode;
    stack.sim.control.changeImage(code);
    const bytesBefore = stack.sim.control.stats().images.bytesSent;
    const keysBefore = (await storeKeys(store)).length;
    const seqBefore = await changeLogMax();
    const checked = await stack.pg.query<{ t: string }>(`select max(checked_at)::text as t from catalog.product_image`);
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, options: { dryRun: true }, startedBy: 'test' }, 180_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    expect(stack.sim.control.stats().images.bytesSent).toBe(bytesBefore);
    expect((await storeKeys(store)).length).toBe(keysBefore);
    expect(await changeLogMax()).toBe(seqBefore);
    expect((await stack.pg.query<{ t: string }>(`select max(checked_at)::text as t from catalog.product_image`)).rows[0]!.t).toBe(checked.rows[0]!.t);
    const info = await stack.sync.listRunLog({ runId: run.id, levels: [sync.LogLevel.INFO], pageSize: 10 });
    expect(info.lines[0]!.message).toContain('images skipped (dry run)');
  });

  test('faulty images are listed as failed, prices and stock are still right, and the run is SUCCESS (with warnings)', async () => {
    const products = listed();
    const faults = [
      ['not_found', products[20]!.productCode],
      ['server_error', products[21]!.productCode],
      ['slow', products[22]!.productCode],
      ['oversized', products[23]!.productCode],
      ['wrong_type', products[24]!.productCode],
    ] as const;
    const faulty = faults.map(([, c]) => c);
    // their images change too (a fetch is needed), and their prices change
    for (const [kind, c] of faults) {
      stack.sim.control.changeImage(c);
      stack.sim.control.setImageFault(c, kind);
    }
    const m = stack.sim.control.mutate({ priceChangeShare: 0.2, seed: 3 });
    // the same URLs with new content: only a recheck (or the window passing) fetches them
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, options: { stock: true, countyCodes: ['110101'], recheckImages: true }, startedBy: 'test' }, 180_000);
    for (const [, c] of faults) stack.sim.control.setImageFault(c, undefined);

    expect(statusName(run.status)).toBe('SUCCESS');
    expect(run.counts?.failed).toBe(0n);
    expect(run.failedItems).toEqual([]);
    expect(run.message).toMatch(/images: .* [1-9]\d* failed/);
    // every image of the faulty products has a WARNING naming it and its reason
    const warnings = await imageWarnings(run.id);
    expect(new Set(warnings.map((w) => w.productCode))).toEqual(new Set(faulty));
    const perCode = (c: string) => warnings.filter((w) => w.productCode === c);
    for (const c of faulty) {
      const p = products.find((x) => x.productCode === c)!;
      expect(perCode(c)).toHaveLength(1 + p.productLageUrls.length);
      expect(perCode(c).every((w) => new RegExp(`^image \\d+( \\(main\\))? of ${c}: .+`).test(w.message))).toBe(true);
    }
    expect(perCode(faults[0][1]).some((w) => /404/.test(w.message))).toBe(true);
    expect(perCode(faults[1][1]).some((w) => /50\d/.test(w.message))).toBe(true);
    // the catalog keeps the last good copy and records why
    const failedRecs = await stack.pg.query<{ product_code: string; status: string; failure: string; sha256: string | null }>(
      `select product_code, status, failure, sha256 from catalog.product_image where product_code = any($1)`,
      [faulty],
    );
    expect(failedRecs.rows.every((r) => r.status === 'failed' && r.failure !== '' && r.sha256 !== null)).toBe(true);
    expect(await count(stack.pg, `select count(*) as n from catalog.product_image where status = 'failed'`)).toBe(failedRecs.rows.length);
    // prices and stock of every product, the faulty ones included, are Haier's
    const truth = new Map(stack.sim.control.products(0, SIZE).map((p) => [p.productCode, p]));
    const changed = m.priceChanged.filter((c) => truth.get(c)!.listed);
    expect(changed.length).toBeGreaterThan(5);
    for (const c of [...faulty, ...changed]) {
      const p = (await stack.catalog.getProduct({ productCode: c })).product!;
      expect(Number(p.supplyPrice)).toBeCloseTo(Number(truth.get(c)!.supplyPrice), 2);
    }
    const stockRows = await count(stack.pg, `select count(*) as n from catalog.product_stock where product_code = any($1)`, [faulty]);
    expect(stockRows).toBe(faulty.length);
  });

  test('the orphan sweep: a dry run counts, a real sweep deletes only unreferenced objects older than the grace period', async () => {
    const junk = await store.put(Buffer.concat([PNG, randomBytes(64)]), 'image/png'); // referenced by nothing
    const before = await storeKeys(store);
    expect(before).toContain(junk.key);
    const referenced = new Set((await stack.pg.query<{ k: string }>(`select distinct storage_key as k from catalog.product_image where storage_key is not null`)).rows.map((r) => r.k));
    const orphans = before.filter((k) => !referenced.has(k));
    expect(orphans.length).toBeGreaterThan(0);

    // the scheduled job (dry run by default): counts only
    const now = await stack.sync.runScheduleNow({ name: 'image_orphans', requestedBy: 'test' });
    expect(now.message).toMatch(new RegExp(`^image orphan sweep: ${before.length} objects in the store, ${before.length - orphans.length} referenced, 0 orphaned older than 7d .*${orphans.length} unreferenced but younger; 0 would be deleted \\(dry run`));
    expect((await storeKeys(store)).length).toBe(before.length);

    // within the grace period nothing goes, dry run or not
    const young = await sweepOrphans({ store, catalog: stack.catalog, graceMs: 3_600_000, dryRun: false });
    expect(young).toMatchObject({ found: before.length, orphaned: 0, deleted: 0, young: orphans.length });
    const dry = await sweepOrphans({ store, catalog: stack.catalog, graceMs: 1, dryRun: true, now: () => new Date(Date.now() + 1000) });
    expect(dry).toMatchObject({ found: before.length, referenced: before.length - orphans.length, orphaned: orphans.length, deleted: 0 });
    expect((await storeKeys(store)).length).toBe(before.length);
    const real = await sweepOrphans({ store, catalog: stack.catalog, graceMs: 1, dryRun: false, now: () => new Date(Date.now() + 1000) });
    expect(real).toMatchObject({ orphaned: orphans.length, deleted: orphans.length, failed: 0 });
    expect(real.bytes).toBeGreaterThan(0);
    const after = new Set(await storeKeys(store));
    expect(after).toEqual(referenced);
    // what the catalog references is still served
    for (const k of referenced) expect(await store.has(k)).toBe(true);
  });
});

describe('images in runs after SYNC_IMAGE_RECHECK_AFTER (set to 1 s)', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ sim: { size: 60, seed: 16 }, env: { SYNC_IMAGES_IN_FULL: 'true', SYNC_IMAGE_RECHECK_AFTER: '1s' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('once the window has passed, a FULL revalidates every image with conditional requests: all 304, 0 bytes', async () => {
    const first = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 120_000);
    expect(statusName(first.status)).toBe('SUCCESS');
    const images = await count(stack.pg, `select count(*) as n from catalog.product_image where status = 'stored'`);
    expect(images).toBeGreaterThan(60);
    await new Promise((r) => setTimeout(r, 1100)); // every product's window is at most the setting
    const before = stack.sim.control.stats().images;
    const seqBefore = await count(stack.pg, `select coalesce(max(seq), 0) as n from catalog.change_log`);
    const run = await runToEnd(stack, { mode: sync.RunMode.FULL, startedBy: 'test' }, 120_000);
    expect(statusName(run.status)).toBe('SUCCESS');
    const after = stack.sim.control.stats().images;
    expect(after.bytesSent - before.bytesSent).toBe(0);
    expect((after.byOutcome['not_modified'] ?? 0) - (before.byOutcome['not_modified'] ?? 0)).toBe(images);
    expect(run.message).toContain(`images: 0 downloaded (0.0 MB), ${images} unchanged (304), 0 not due`);
    expect(await count(stack.pg, `select coalesce(max(seq), 0) as n from catalog.change_log`)).toBe(seqBefore);
  });
});
