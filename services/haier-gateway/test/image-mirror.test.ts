// The image mirror against the simulator's image host, with the filesystem store and with a real
// S3-compatible server (s3rver on a free port): bytes stored once per content and byte-exact, a
// held copy answered by a 304 with nothing downloaded, and each fault reported with its reason
// (retried only when it may heal).
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, type SimHandle } from '@haier-sync/haier-sim';
import { FilesystemImageStore, S3ImageStore, sha256Hex, type ImageStore } from '@haier-sync/runtime/image-store';
import { ImageMirror, type MirrorResult } from '../src/images/mirror';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const S3rver = require('s3rver');

jest.setTimeout(120_000);

type Setup = { store: ImageStore; close: () => Promise<void> };

async function filesystem(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'mirror-fs-'));
  return { store: new FilesystemImageStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
}

async function s3(): Promise<Setup> {
  const dir = await mkdtemp(join(tmpdir(), 'mirror-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
  const address: AddressInfo = await server.run();
  const store = new S3ImageStore({ bucket: 'images', prefix: 'shop/', endpoint: `http://127.0.0.1:${address.port}`, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
  await store.ensureBucket();
  return {
    store,
    close: async () => {
      store.client.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const stored = (r: MirrorResult) => {
  if (r.status !== 'stored') throw new Error(`expected stored, got ${JSON.stringify(r)}`);
  return r;
};

describe.each([
  ['filesystem', filesystem],
  ['s3 (s3rver)', s3],
] as const)('image mirror: %s store', (_name, make) => {
  let sim: SimHandle;
  let setup: Setup;
  let mirror: ImageMirror;

  beforeAll(async () => {
    sim = await startSimulator({ quiet: true, size: 200, seed: 11, rateLimit: 0 });
    setup = await make();
    mirror = new ImageMirror(setup.store, { maxBytes: 1024 * 1024, timeoutMs: 1500, concurrency: 4, ratePerSecond: 0, maxRetries: 2, retryDelayMs: 20 });
  });
  afterAll(async () => {
    await mirror?.close();
    await setup?.close();
    await sim?.close();
  });

  test('stores the bytes byte-exact under their content key, with type, size and dimensions', async () => {
    const p = sim.control.products(0, 1)[0]!;
    const r = stored(await mirror.mirror(p.productImageUrl));
    const original = Buffer.from(await (await fetch(p.productImageUrl)).arrayBuffer());
    expect(r.sha256).toBe(sha256Hex(original));
    expect(r.bytes).toBe(original.length);
    expect(r.contentType).toBe('image/png');
    expect(r.width).toBeGreaterThan(0);
    expect(r.height).toBeGreaterThan(0);
    expect(r.etag).toMatch(/^"/);
    expect((await setup.store.get(r.key))!.equals(original)).toBe(true);
  });

  test('the same content from two products is stored once', async () => {
    // ten neighbours share three variants: among the first ten main images two share content
    const results = await Promise.all(sim.control.products(0, 10).map((p) => mirror.mirror(p.productImageUrl)));
    const bySha = new Map<string, MirrorResult[]>();
    for (const r of results.map(stored)) bySha.set(r.sha256, [...(bySha.get(r.sha256) ?? []), r]);
    expect(bySha.size).toBeLessThan(10);
    const objects: string[] = [];
    for await (const o of setup.store.list()) objects.push(o.key);
    for (const [, rs] of bySha) expect(objects.filter((k) => k === stored(rs[0]!).key)).toHaveLength(1);
  });

  test('a held copy is answered 304: nothing downloaded; a changed image is fetched again', async () => {
    const p = sim.control.products(20, 1)[0]!;
    const first = stored(await mirror.mirror(p.productImageUrl));
    sim.control.resetStats();
    const again = await mirror.mirror(p.productImageUrl, { etag: first.etag, lastModified: first.lastModified, sha256: first.sha256 });
    expect(again.status).toBe('unchanged');
    expect(sim.control.stats().images.bytesSent).toBe(0);
    expect(sim.control.stats().images.byOutcome['not_modified']).toBe(1);
    sim.control.changeImage(p.productCode);
    const changed = stored(await mirror.mirror(p.productImageUrl, { etag: first.etag, lastModified: first.lastModified, sha256: first.sha256 }));
    expect(changed.sha256).not.toBe(first.sha256);
  });

  test('faults are failures with a reason; only those that may heal are retried', async () => {
    const [a, b, c, d, e] = sim.control.products(40, 5);
    sim.control.imageFaults({ slowMs: 4000, oversizedBytes: 3 * 1024 * 1024 });
    sim.control.setImageFault(a!.productCode, 'not_found');
    sim.control.setImageFault(b!.productCode, 'server_error', 1);
    sim.control.setImageFault(c!.productCode, 'slow');
    sim.control.setImageFault(d!.productCode, 'wrong_type');
    sim.control.setImageFault(e!.productCode, 'oversized');
    try {
      const gone = await mirror.mirror(a!.productImageUrl);
      expect(gone).toMatchObject({ status: 'failed', httpStatus: 404, attempts: 1 });
      expect((gone as { reason: string }).reason).toMatch(/404/);
      // one 503, then healed by the retry
      expect(stored(await mirror.mirror(b!.productImageUrl)).attempts).toBe(2);
      const slow = await mirror.mirror(c!.productImageUrl);
      expect(slow).toMatchObject({ status: 'failed', attempts: 3 });
      expect((slow as { reason: string }).reason).toMatch(/1500 ms/);
      const html = await mirror.mirror(d!.productImageUrl);
      expect(html).toMatchObject({ status: 'failed', attempts: 1 });
      expect((html as { reason: string }).reason).toMatch(/not an image.*text\/html/);
      const big = await mirror.mirror(e!.productImageUrl);
      expect(big).toMatchObject({ status: 'failed', attempts: 1 });
      expect((big as { reason: string }).reason).toMatch(/over the limit of 1048576/);
    } finally {
      sim.control.clearImageFaults();
    }
  });

  test('a URL that is not http(s) or not on an allowed host is refused without a request', async () => {
    expect(await mirror.mirror('ftp://img.example/a.png')).toMatchObject({ status: 'failed', attempts: 0, reason: expect.stringMatching(/only http/) });
    const strict = new ImageMirror(setup.store, { maxBytes: 1024, timeoutMs: 1000, concurrency: 1, ratePerSecond: 0, maxRetries: 0, allowedHosts: ['img.haier.example'] });
    try {
      const r = await strict.mirror(sim.control.products(0, 1)[0]!.productImageUrl);
      expect(r).toMatchObject({ status: 'failed', attempts: 0, reason: expect.stringMatching(/HAIER_IMAGE_HOSTS/) });
    } finally {
      await strict.close();
    }
  });
});
