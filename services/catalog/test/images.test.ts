// The catalog's image records over gRPC on a real database: new content is a product change
// (version, one change-log row naming each image, the product and its snapshot carry the
// images), a 304 moves only checked_at, a failed fetch keeps the last good copy with its reason,
// dropped pages go, and bad input fails only its product.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { catalog } from '@haier-sync/contracts';
import { createHash } from 'node:crypto';
import { count, product, startHarness, type Harness } from './harness';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await h.client.upsertProducts({ products: ['IM1', 'IM2', 'IM3'].map((c) => product(c)), runId: 'seed' });
});
afterAll(() => h?.stop());

const O = catalog.ImageInput_Outcome;
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const keyOf = (hex: string) => `sha256/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex}.png`;

function stored(code: string, position: number, content: string, extra: Omit<MessageInitShape<typeof catalog.ImageInputSchema>, '$typeName'> = {}): catalog.ImageInput {
  const hex = sha(content);
  return create(catalog.ImageInputSchema, {
    productCode: code, position, sourceUrl: `https://img.example/${code}/${position}.png`, outcome: O.STORED,
    sha256: hex, storageKey: keyOf(hex), contentType: 'image/png', bytes: 100 + position, width: 96, height: 72, etag: `"${hex.slice(0, 8)}"`, lastModified: 'Thu, 01 Jan 2026 00:00:00 GMT',
    ...extra,
  });
}

const changesOf = async (code: string) =>
  (await h.pg.query<{ version: string; kind: string; fields: Array<{ field: string }>; snapshot: { images: unknown[] } }>(
    'select version::text as version, kind, fields, snapshot from catalog.change_log where product_code = $1 order by seq',
    [code],
  )).rows;

test('first images: the product changes once, its change names each image, product and snapshot carry them', async () => {
  const before = (await h.client.getProduct({ productCode: 'IM1' })).product!;
  const r = await h.client.upsertImages({ images: [stored('IM1', 0, 'a'), stored('IM1', 1, 'b')], runId: 'run-img-1' });
  expect(r.updated).toBe(1);
  expect(r.results[0]).toMatchObject({ productCode: 'IM1', outcome: catalog.ItemOutcome.UPDATED, changedFields: ['image.main', 'image.page.1'] });
  const after = (await h.client.getProduct({ productCode: 'IM1' })).product!;
  expect(after.version).toBe(before.version + 1n);
  expect(after.images.map((i) => [i.position, i.sha256, i.storageKey, i.width])).toEqual([
    [0, sha('a'), keyOf(sha('a')), 96],
    [1, sha('b'), keyOf(sha('b')), 96],
  ]);
  const log = await changesOf('IM1');
  const last = log[log.length - 1]!;
  expect(last.kind).toBe('updated');
  expect(last.version).toBe(String(after.version));
  expect(last.fields.map((f) => f.field)).toEqual(['image.main', 'image.page.1']);
  expect(last.snapshot.images).toHaveLength(2);
});

test('a 304 moves only checked_at: no version, no change-log row', async () => {
  const v = (await h.client.getProduct({ productCode: 'IM1' })).product!.version;
  const logs = (await changesOf('IM1')).length;
  const held = (await h.client.listImages({ productCodes: ['IM1'] })).images;
  await new Promise((r) => setTimeout(r, 20));
  const r = await h.client.upsertImages({
    images: held.map((i) => create(catalog.ImageInputSchema, { productCode: 'IM1', position: i.position, sourceUrl: i.sourceUrl, outcome: O.UNCHANGED })),
    runId: 'run-img-2',
  });
  expect(r.unchanged).toBe(1);
  expect((await h.client.getProduct({ productCode: 'IM1' })).product!.version).toBe(v);
  expect((await changesOf('IM1')).length).toBe(logs);
  const again = (await h.client.listImages({ productCodes: ['IM1'] })).images;
  expect(again.map((i) => i.sha256)).toEqual(held.map((i) => i.sha256));
  expect(again[0]!.etag).toBe(held[0]!.etag);
  expect(again[0]!.checkedAt!.nanos + Number(again[0]!.checkedAt!.seconds) * 1e9).toBeGreaterThan(held[0]!.checkedAt!.nanos + Number(held[0]!.checkedAt!.seconds) * 1e9);
});

test('new bytes at one position change that image only; a dropped page goes', async () => {
  const r = await h.client.upsertImages({ images: [stored('IM1', 0, 'a2')], runId: 'run-img-3' });
  expect(r.results[0]!.changedFields).toEqual(['image.main', 'image.page.1']);
  const p = (await h.client.getProduct({ productCode: 'IM1' })).product!;
  expect(p.images.map((i) => i.sha256)).toEqual([sha('a2')]);
  expect(await count(h.pg, "select count(*) as n from catalog.product_image where product_code = 'IM1'")).toBe(1);
  const last = (await changesOf('IM1')).at(-1)!;
  expect(JSON.stringify(last.fields)).toContain('"after":"null"');
});

test('a failed fetch keeps the last good copy, records the reason, and is not a product change', async () => {
  await h.client.upsertImages({ images: [stored('IM2', 0, 'x')], runId: 'run-img-4' });
  const v = (await h.client.getProduct({ productCode: 'IM2' })).product!.version;
  const r = await h.client.upsertImages({
    images: [create(catalog.ImageInputSchema, { productCode: 'IM2', position: 0, sourceUrl: 'https://img.example/IM2/0.png', outcome: O.FAILED, failure: 'the image host answered HTTP 503' })],
    runId: 'run-img-5',
  });
  expect(r).toMatchObject({ unchanged: 1, imagesFailed: 1 });
  const p = (await h.client.getProduct({ productCode: 'IM2' })).product!;
  expect(p.version).toBe(v);
  expect(p.images[0]!.sha256).toBe(sha('x'));
  const [rec] = (await h.client.listImages({ productCodes: ['IM2'] })).images;
  expect(rec).toMatchObject({ status: catalog.ImageStatus.FAILED, failure: 'the image host answered HTTP 503', sha256: sha('x') });
});

test('bad input fails only its product, with the reason; an unknown product is named', async () => {
  const r = await h.client.upsertImages({
    images: [
      stored('IM3', 0, 'ok'),
      stored('IM1', 0, 'y', { storageKey: 'sha256/00/00/nope.png' }),
      stored('NOPE1', 0, 'z'),
      create(catalog.ImageInputSchema, { productCode: 'IM2', position: 0, sourceUrl: 'https://img.example/a.png', outcome: O.UNSPECIFIED }),
    ],
    runId: 'run-img-6',
  });
  const by = new Map(r.results.map((x) => [x.productCode, x]));
  expect(by.get('IM3')!.outcome).toBe(catalog.ItemOutcome.UPDATED);
  expect(by.get('IM1')!.reason).toMatch(/storage_key .* is not the content key/);
  expect(by.get('NOPE1')!.reason).toMatch(/unknown product_code "NOPE1": upsert the product before its images/);
  expect(by.get('IM2')!.reason).toMatch(/outcome must be STORED, UNCHANGED or FAILED/);
  expect(r.failed).toBe(3);
  // IM1 kept what it had
  expect((await h.client.getProduct({ productCode: 'IM1' })).product!.images[0]!.sha256).toBe(sha('a2'));
});

test('ImageKeysInUse answers the referenced keys among those asked', async () => {
  const r = await h.client.imageKeysInUse({ storageKeys: [keyOf(sha('a2')), keyOf(sha('x')), keyOf(sha('never'))] });
  expect(r.storageKeys.sort()).toEqual([keyOf(sha('a2')), keyOf(sha('x'))].sort());
});

test('dry run computes the outcome and writes nothing', async () => {
  const v = (await h.client.getProduct({ productCode: 'IM3' })).product!.version;
  const r = await h.client.upsertImages({ images: [stored('IM3', 0, 'dry')], runId: 'dry', dryRun: true });
  expect(r.updated).toBe(1);
  expect((await h.client.getProduct({ productCode: 'IM3' })).product!.version).toBe(v);
  expect((await h.client.getProduct({ productCode: 'IM3' })).product!.images[0]!.sha256).toBe(sha('ok'));
});

describe('UpsertProducts with the images (has_images): the product and its images are one change', () => {
  const withImages = (code: string, images: catalog.ImageInput[], extra: Parameters<typeof product>[1] = {}) =>
    create(catalog.ProductInputSchema, { ...product(code, extra), images, hasImages: true });

  test('a new product with images: one `created` row (snapshot with the images), version 1, the records written', async () => {
    const r = await h.client.upsertProducts({ products: [withImages('IMP1', [stored('IMP1', 0, 'p1'), stored('IMP1', 1, 'p1b')])], runId: 'run-p1' });
    expect(r.results[0]).toMatchObject({ productCode: 'IMP1', outcome: catalog.ItemOutcome.CREATED, version: 1n, reason: '' });
    const log = await changesOf('IMP1');
    expect(log.map((l) => [l.kind, l.version, l.snapshot.images.length])).toEqual([['created', '1', 2]]);
    expect(await count(h.pg, `select count(*) as n from catalog.product_image where product_code = 'IMP1'`)).toBe(2);
    expect((await h.client.getProduct({ productCode: 'IMP1' })).product!.images).toHaveLength(2);
  });

  test('a changed product whose images changed too: one `updated` row naming both, one version step', async () => {
    const r = await h.client.upsertProducts({ products: [withImages('IMP1', [stored('IMP1', 0, 'p1-new'), stored('IMP1', 1, 'p1b')], { productName: 'renamed' })], runId: 'run-p2' });
    expect(r.results[0]).toMatchObject({ outcome: catalog.ItemOutcome.UPDATED, version: 2n });
    expect(r.results[0]!.changedFields).toEqual(expect.arrayContaining(['name', 'image.main']));
    const log = await changesOf('IMP1');
    expect(log).toHaveLength(2);
    expect(log[1]!.version).toBe('2');
    expect(log[1]!.fields.map((f) => f.field)).toEqual(expect.arrayContaining(['name', 'image.main']));
    expect(JSON.stringify(log[1]!.snapshot.images)).toContain(sha('p1-new'));
  });

  test('an unchanged product whose images changed: one `updated` row with the image fields; unchanged images: no row', async () => {
    const r = await h.client.upsertProducts({ products: [withImages('IMP1', [stored('IMP1', 0, 'p1-new'), stored('IMP1', 1, 'p1c')], { productName: 'renamed' })], runId: 'run-p3' });
    expect(r.results[0]).toMatchObject({ outcome: catalog.ItemOutcome.UPDATED, changedFields: ['image.page.1'], version: 3n });
    const same = await h.client.upsertProducts({ products: [withImages('IMP1', [stored('IMP1', 0, 'p1-new'), stored('IMP1', 1, 'p1c')], { productName: 'renamed' })], runId: 'run-p4' });
    expect(same.results[0]).toMatchObject({ outcome: catalog.ItemOutcome.UNCHANGED, version: 3n });
    expect(await changesOf('IMP1')).toHaveLength(3);
  });

  test('an empty set drops every image; a bad set is a warning, the product is still written', async () => {
    const r = await h.client.upsertProducts({ products: [withImages('IMP1', [], { productName: 'renamed' })], runId: 'run-p5' });
    expect(r.results[0]).toMatchObject({ outcome: catalog.ItemOutcome.UPDATED, changedFields: ['image.main', 'image.page.1'] });
    expect(await count(h.pg, `select count(*) as n from catalog.product_image where product_code = 'IMP1'`)).toBe(0);
    const bad = await h.client.upsertProducts({ products: [withImages('IMP2N', [stored('IMP2N', 0, 'x', { storageKey: 'sha256/no' })])], runId: 'run-p6' });
    expect(bad.results[0]).toMatchObject({ productCode: 'IMP2N', outcome: catalog.ItemOutcome.CREATED });
    expect(bad.results[0]!.reason).toMatch(/^images not recorded: image 0: storage_key/);
    expect(await count(h.pg, `select count(*) as n from catalog.product_image where product_code = 'IMP2N'`)).toBe(0);
  });
});
