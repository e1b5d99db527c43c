// Mirrored product images through the edge, over the real stack: the gateway mirrors a synced
// product's images into the store (MirrorImages), the catalog records them (UpsertImages), and
// the edge lists them and serves the bytes byte-exact with immutable cache headers and the
// SHA-256 as ETag (304 on a match); from an S3-compatible store (s3rver) it redirects to a
// presigned URL. Bad and unknown keys say what to do; a key is needed like any other read.
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { catalog, gateway } from '@haier-sync/contracts';
import { CALLERS, createLogger } from '@haier-sync/runtime';
import { S3ImageStore, sha256Hex } from '@haier-sync/runtime/image-store';
import { testAuth, testClient, waitFor } from '@haier-sync/runtime/testing';
import { startEdge } from '../src/app';
import { startEdgeStack, type EdgeStack } from './stack';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

jest.setTimeout(240_000);

let stack: EdgeStack;
let code: string;
let urls: string[];

beforeAll(async () => {
  stack = await startEdgeStack({ sim: { size: 20, seed: 9, rateLimit: 0 } });
  const started = await stack.request('POST', '/api/haier/sync/', { key: stack.keys.operator, body: { mode: 'FULL', sync_type: 'PRODUCTS' } });
  expect(started.status).toBe(202);
  await waitFor(async () => ((await stack.request('GET', `/api/haier/sync/${started.json.data.id}/`, { key: stack.keys.viewer })).json.data.finished ? true : undefined), {
    timeoutMs: 120_000,
    what: 'the first sync',
  });
  const p = stack.sim.control.products(0, 20).find((x) => x.productLageUrls.length > 0)!;
  code = p.productCode;
  urls = [p.productImageUrl, ...p.productLageUrls];
  // what the orchestrator does per batch: mirror through the gateway, record in the catalog
  const gw = testClient(gateway.HaierGatewayService, stack.gateway.url, { as: CALLERS.orchestrator });
  const cat = testClient(catalog.CatalogService, stack.catalog.url, { as: CALLERS.orchestrator });
  const mirrored = await gw.mirrorImages({ images: urls.map((url) => ({ url })) });
  const r = await cat.upsertImages({
    runId: 'images-test',
    images: mirrored.images.map((m, position) =>
      create(catalog.ImageInputSchema, {
        productCode: code, position, sourceUrl: m.url, outcome: catalog.ImageInput_Outcome.STORED, sha256: m.sha256, storageKey: m.storageKey,
        contentType: m.contentType, bytes: Number(m.bytes), width: m.width, height: m.height, etag: m.etag, lastModified: m.lastModified,
      }),
    ),
  });
  expect(r.updated).toBe(1);
});
afterAll(() => stack?.close());

test("a product's image list: main first, then pages, each with its mirrored url, hash, type and size", async () => {
  const r = await stack.request('GET', `/api/haier/catalog/products/${code}/images/`, { key: stack.keys.viewer });
  expect(r.status).toBe(200);
  expect(r.json.count).toBe(urls.length);
  expect(r.json.results.map((i: { position: number; role: string; source_url: string }) => [i.position, i.role, i.source_url])).toEqual(
    urls.map((u, n) => [n, n === 0 ? 'main' : 'page', u]),
  );
  for (const i of r.json.results) {
    expect(i).toMatchObject({ status: 'stored', content_type: 'image/png', failure: '' });
    expect(i.url).toBe(`/api/haier/images/${i.storage_key}`);
    expect(i.width).toBeGreaterThan(0);
  }
  // and the product itself carries them
  const p = await stack.request('GET', `/api/haier/catalog/products/${code}/`, { key: stack.keys.viewer });
  expect(p.json.data.images.map((i: { sha256: string }) => i.sha256)).toEqual(r.json.results.map((i: { sha256: string }) => i.sha256));
});

test('a sync run with options.images mirrors the products\' images: the edge then lists them', async () => {
  const p = stack.sim.control.products(0, 20).find((x) => x.listed && x.productLageUrls.length > 0 && x.productCode !== code)!;
  const before = await stack.request('GET', `/api/haier/catalog/products/${p.productCode}/images/`, { key: stack.keys.viewer });
  expect(before.json.count).toBe(0); // the FULL run above was asked without images
  const started = await stack.request('POST', '/api/haier/sync/', { key: stack.keys.operator, body: { scope: { product_codes: [p.productCode] }, options: { prices: true, images: true } } });
  expect(started.status).toBe(202);
  expect(started.json.data.options.images).toBe(true);
  const done = await waitFor(
    async () => {
      const r = await stack.request('GET', `/api/haier/sync/${started.json.data.id}/`, { key: stack.keys.viewer });
      return r.json.data.finished ? r.json.data : undefined;
    },
    { timeoutMs: 60_000, what: 'the images run' },
  );
  expect(done.status).toBe('SUCCESS');
  expect(done.message).toContain(`images: ${1 + p.productLageUrls.length} downloaded`);
  const r = await stack.request('GET', `/api/haier/catalog/products/${p.productCode}/images/`, { key: stack.keys.viewer });
  expect(r.json.results.map((i: { source_url: string; status: string }) => `${i.status} ${i.source_url}`)).toEqual([p.productImageUrl, ...p.productLageUrls].map((u) => `stored ${u}`));
});

test('the bytes are served byte-exact, immutable, with the SHA-256 as ETag; a match is 304', async () => {
  const list = (await stack.request('GET', `/api/haier/catalog/products/${code}/images/`, { key: stack.keys.viewer })).json.results;
  for (const [n, i] of list.entries()) {
    const res = await fetch(`${stack.baseUrl}${i.url}`, { headers: { authorization: `Bearer ${stack.keys.viewer}` } });
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    const original = Buffer.from(await (await fetch(urls[n]!)).arrayBuffer());
    expect(body.equals(original)).toBe(true);
    expect(sha256Hex(body)).toBe(i.sha256);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(res.headers.get('etag')).toBe(`"${i.sha256}"`);
    const again = await fetch(`${stack.baseUrl}${i.url}`, { headers: { authorization: `Bearer ${stack.keys.viewer}`, 'if-none-match': `"${i.sha256}"` } });
    expect(again.status).toBe(304);
    expect((await again.arrayBuffer()).byteLength).toBe(0);
  }
});

test('a bad key is 400 saying where keys come from; an unknown one 404; without an API key 401', async () => {
  const bad = await stack.request('GET', '/api/haier/images/../../etc/passwd', { key: stack.keys.viewer });
  expect([400, 404]).toContain(bad.status);
  const notKey = await stack.request('GET', '/api/haier/images/sha256/00/00/nothex.png', { key: stack.keys.viewer });
  expect(notKey.status).toBe(400);
  expect(notKey.json.error.message).toMatch(/not an image key.*image list/);
  const hex = 'ab'.repeat(32);
  const missing = await stack.request('GET', `/api/haier/images/sha256/ab/ab/${hex}.png`, { key: stack.keys.viewer });
  expect(missing.status).toBe(404);
  expect(missing.json.error.message).toMatch(/No image .* Re-sync/);
  const list = (await stack.request('GET', `/api/haier/catalog/products/${code}/images/`, { key: stack.keys.viewer })).json.results;
  expect((await stack.request('GET', list[0].url, { key: null })).status).toBe(401);
  expect((await stack.request('GET', '/api/haier/catalog/products/ZZ0000000/images/', { key: stack.keys.viewer })).status).toBe(404);
});

test('from an S3-compatible store (s3rver) the edge redirects to a presigned URL that serves the same bytes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'edge-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  const address: AddressInfo = await server.run();
  const s3env = { IMAGE_STORE: 's3', IMAGE_S3_BUCKET: 'images', IMAGE_S3_PREFIX: 'shop/', IMAGE_S3_ENDPOINT: `http://127.0.0.1:${address.port}`, IMAGE_S3_ACCESS_KEY_ID: 'S3RVER', IMAGE_S3_SECRET_ACCESS_KEY: 'S3RVER' };
  const store = new S3ImageStore({ bucket: 'images', prefix: 'shop/', endpoint: s3env.IMAGE_S3_ENDPOINT, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
  await store.ensureBucket();
  const bytes = Buffer.from(await (await fetch(urls[0]!)).arrayBuffer());
  const put = await store.put(bytes, 'image/png');
  const edge = await startEdge({
    env: { DATABASE_URL: stack.db.url, GATEWAY_URL: stack.gateway.url, CATALOG_URL: stack.catalog.url, SYNC_URL: 'http://127.0.0.1:9', EDGE_AUTH_CACHE_MS: '0', ...testAuth().env(CALLERS.edge), ...s3env },
    logger: createLogger('edge-s3', { level: 'silent' }),
    port: 0,
    host: '127.0.0.1',
    print: () => undefined,
  });
  try {
    const res = await fetch(`${edge.url}/api/haier/images/${put.key}`, { headers: { authorization: `Bearer ${stack.keys.viewer}` }, redirect: 'manual' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location).toContain(`127.0.0.1:${address.port}`);
    const served = Buffer.from(await (await fetch(location)).arrayBuffer());
    expect(served.equals(bytes)).toBe(true);
    const hex = 'cd'.repeat(32);
    expect((await fetch(`${edge.url}/api/haier/images/sha256/cd/cd/${hex}.png`, { headers: { authorization: `Bearer ${stack.keys.viewer}` }, redirect: 'manual' })).status).toBe(404);
  } finally {
    await edge.close();
    store.client.destroy();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
