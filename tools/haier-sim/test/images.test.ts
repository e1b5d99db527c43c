// The simulator's image host as a client sees it over HTTP: the catalog's image URLs answer
// deterministic PNGs with validators, conditional GETs get 304, families share content (~30%
// distinct), a change gives new bytes to exactly that product, and each fault answers as named.
import { createHash } from 'node:crypto';
import { PNG } from 'pngjs';
import { startSimulator, type SimHandle, type SimProduct } from '../src/index';
import { control } from './client';

jest.setTimeout(120_000);

let sim: SimHandle;

beforeAll(async () => {
  sim = await startSimulator({ quiet: true, size: 400, seed: 7, rateLimit: 0 });
});
afterAll(() => sim.close());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const urlsOf = (p: SimProduct) => [p.productImageUrl, ...p.productLageUrls];

async function get(url: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { headers });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

test("the catalog's image URLs point at the simulator and answer PNGs with ETag and Last-Modified", async () => {
  const [p] = sim.control.products(0, 1);
  expect(p!.productImageUrl).toBe(`${sim.url}/images/main/${p!.productCode}.png`);
  for (const url of urlsOf(p!)) {
    const r = await get(url);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('image/png');
    expect(r.headers.get('etag')).toMatch(/^"[0-9a-f]{32}"$/);
    expect(r.headers.get('etag')).toBe(`"${sha(r.body).slice(0, 32)}"`);
    expect(Date.parse(r.headers.get('last-modified')!)).toBeGreaterThan(0);
    const png = PNG.sync.read(r.body);
    expect(png.width).toBeGreaterThan(0);
    expect(png.height).toBeGreaterThan(0);
    // deterministic: the same bytes again
    expect(sha((await get(url)).body)).toBe(sha(r.body));
  }
});

test('If-None-Match and If-Modified-Since get 304 with no body; a stale ETag gets the image', async () => {
  const url = sim.control.products(3, 1)[0]!.productImageUrl;
  const first = await get(url);
  const etag = first.headers.get('etag')!;
  const byTag = await get(url, { 'if-none-match': etag });
  expect(byTag.status).toBe(304);
  expect(byTag.body.length).toBe(0);
  expect(byTag.headers.get('etag')).toBe(etag);
  expect((await get(url, { 'if-modified-since': first.headers.get('last-modified')! })).status).toBe(304);
  expect((await get(url, { 'if-none-match': '"0000"' })).status).toBe(200);
});

test('models of a family share pictures: about 30% of the images are distinct content', async () => {
  const urls = sim.control.products(0, 400).flatMap((p) => urlsOf(p));
  const hashes = new Set<string>();
  for (let i = 0; i < urls.length; i += 25) {
    for (const r of await Promise.all(urls.slice(i, i + 25).map((u) => get(u)))) hashes.add(sha(r.body));
  }
  const ratio = hashes.size / urls.length;
  expect(ratio).toBeGreaterThan(0.2);
  expect(ratio).toBeLessThan(0.45);
});

test('a change gives new content to exactly the changed products, with a later Last-Modified', async () => {
  const products = sim.control.products(0, 60);
  const before = new Map<string, { etag: string; lastModified: string }>();
  for (const p of products) {
    for (const u of urlsOf(p)) {
      const r = await get(u);
      before.set(u, { etag: r.headers.get('etag')!, lastModified: r.headers.get('last-modified')! });
    }
  }
  const m = (await control(sim.url, 'POST', '/mutate', { imageChangeShare: 0.05, seed: 3 })).json as { imagesChanged: string[] };
  expect(m.imagesChanged.length).toBe(Math.round(0.05 * sim.control.listedCount()));
  const changed = new Set(m.imagesChanged);
  for (const p of products) {
    for (const u of urlsOf(p)) {
      const r = await get(u, { 'if-none-match': before.get(u)!.etag });
      if (changed.has(p.productCode)) {
        expect(r.status).toBe(200);
        expect(Date.parse(r.headers.get('last-modified')!)).toBeGreaterThan(Date.parse(before.get(u)!.lastModified));
      } else expect(r.status).toBe(304);
    }
  }
  const code = products.find((p) => !changed.has(p.productCode))!.productCode;
  const url = products.find((p) => p.productCode === code)!.productImageUrl;
  expect((await control(sim.url, 'POST', `/products/${code}/images/change`, {})).status).toBe(200);
  expect((await get(url, { 'if-none-match': before.get(url)!.etag })).status).toBe(200);
});

test("a move gives a product's images new URLs (a changed URL list) with the same pictures; other products keep theirs", async () => {
  const [p, other] = sim.control.products(200, 2) as [SimProduct, SimProduct];
  const before = await Promise.all(urlsOf(p).map((u) => get(u)));
  expect((await control(sim.url, 'POST', `/products/${p.productCode}/images/move`, {})).status).toBe(200);
  const moved = sim.control.products(200, 2) as [SimProduct, SimProduct];
  expect(urlsOf(moved[0])).toEqual(urlsOf(p).map((u) => `${u}?v=1`));
  expect(urlsOf(moved[1])).toEqual(urlsOf(other));
  const after = await Promise.all(urlsOf(moved[0]).map((u) => get(u)));
  expect(after.map((r) => sha(r.body))).toEqual(before.map((r) => sha(r.body)));
});

test('each image fault answers as named, per product and for a count of answers', async () => {
  const [a, b, c, d, e] = sim.control.products(100, 5).map((p) => p.productCode) as [string, string, string, string, string];
  const main = (code: string) => `${sim.url}/images/main/${code}.png`;
  await control(sim.url, 'POST', '/image-faults', { slowMs: 300, oversizedBytes: 3 * 1024 * 1024 });
  await control(sim.url, 'POST', `/products/${a}/images/fault`, { kind: 'not_found' });
  await control(sim.url, 'POST', `/products/${b}/images/fault`, { kind: 'server_error', count: 1 });
  await control(sim.url, 'POST', `/products/${c}/images/fault`, { kind: 'slow' });
  await control(sim.url, 'POST', `/products/${d}/images/fault`, { kind: 'wrong_type' });
  await control(sim.url, 'POST', `/products/${e}/images/fault`, { kind: 'oversized' });
  try {
    expect((await get(main(a))).status).toBe(404);
    expect((await get(main(b))).status).toBe(503);
    expect((await get(main(b))).status).toBe(200); // count 1: healed
    const t0 = Date.now();
    const slow = await get(main(c));
    expect(slow.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    const html = await get(main(d));
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    const big = await get(main(e));
    expect(big.headers.get('content-type')).toBe('image/png');
    expect(big.body.length).toBe(3 * 1024 * 1024);
    const stats = sim.control.stats().images;
    for (const k of ['not_found', 'server_error', 'slow', 'wrong_type', 'oversized']) expect(stats.byOutcome[k]).toBeGreaterThanOrEqual(1);
  } finally {
    await control(sim.url, 'DELETE', '/image-faults');
  }
  expect((await get(main(a))).status).toBe(200);
});

test('fault rates are rolled once per URL: the same URLs fail on every try', async () => {
  await control(sim.url, 'POST', '/image-faults', { notFoundRate: 0.2 });
  try {
    const urls = sim.control.products(0, 100).map((p) => p.productImageUrl);
    const failing = async () => {
      const out: string[] = [];
      for (const u of urls) if ((await get(u)).status === 404) out.push(u);
      return out;
    };
    const first = await failing();
    expect(first.length).toBeGreaterThan(5);
    expect(first.length).toBeLessThan(40);
    expect(await failing()).toEqual(first);
  } finally {
    await control(sim.url, 'DELETE', '/image-faults');
  }
});

test('unknown images and bad control requests say what is wrong', async () => {
  expect((await get(`${sim.url}/images/main/XX0000000.png`)).status).toBe(404);
  const [p] = sim.control.products(0, 1);
  expect((await get(`${sim.url}/images/detail/${p!.productCode}/${p!.productLageUrls.length + 1}.png`)).status).toBe(404);
  const bad = await control(sim.url, 'POST', `/products/${p!.productCode}/images/fault`, { kind: 'melted' });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.json)).toMatch(/kind/);
  const rate = await control(sim.url, 'POST', '/image-faults', { notFoundRate: 2 });
  expect(rate.status).toBe(400);
  // image requests are not business calls: nothing counted against the API limit
  expect(sim.control.stats().total).toBe(0);
});
