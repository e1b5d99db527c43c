// MirrorImages over gRPC: one result per image in request order (stored, unchanged, failed with
// its reason), the bytes in the configured store, none of Haier's call budget spent, and a
// request over the per-call limit refused with what to do.
import { Code } from '@connectrpc/connect';
import { gateway } from '@haier-sync/contracts';
import { FilesystemImageStore } from '@haier-sync/runtime/image-store';
import { rpcFailure, simCalls, startStack, type Stack } from './harness';

jest.setTimeout(60_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ sim: { size: 100, seed: 3, rateLimit: 0 }, env: { HAIER_IMAGE_MAX_RETRIES: '1' } });
});
afterAll(() => stack?.close());

test('answers each image in order: stored, then unchanged with its validators, failed with the reason', async () => {
  const [a, b] = stack.sim.control.products(0, 2);
  stack.sim.control.setImageFault(b!.productCode, 'not_found');
  const first = await stack.client.mirrorImages({ images: [{ url: a!.productImageUrl }, { url: b!.productImageUrl }] });
  expect(first.images.map((i) => gateway.MirrorStatus[i.status])).toEqual(['STORED', 'FAILED']);
  const got = first.images[0]!;
  expect(got.url).toBe(a!.productImageUrl);
  expect(got.contentType).toBe('image/png');
  expect(got.width).toBeGreaterThan(0);
  const bytes = await new FilesystemImageStore(stack.config.IMAGE_STORE_DIR!).get(got.storageKey);
  expect(bytes?.length).toBe(Number(got.bytes));
  expect(first.images[1]!.reason).toMatch(/404/);
  expect(first.images[1]!.httpStatus).toBe(404);

  const again = await stack.client.mirrorImages({ images: [{ url: a!.productImageUrl, etag: got.etag, lastModified: got.lastModified, sha256: got.sha256 }] });
  expect(again.images[0]!.status).toBe(gateway.MirrorStatus.UNCHANGED);
  // image hosts are not the API: no business call, no budget
  expect(simCalls(stack.sim, 'products') + simCalls(stack.sim, 'prices')).toBe(0);
  expect(stack.sim.control.stats().total).toBe(0);
  stack.sim.control.clearImageFaults();
});

test('more than 500 images in one call is INVALID_ARGUMENT saying the limit', async () => {
  const url = stack.sim.control.products(0, 1)[0]!.productImageUrl;
  const err = await rpcFailure(stack.client.mirrorImages({ images: Array.from({ length: 501 }, () => ({ url })) }));
  expect(err.code).toBe(Code.InvalidArgument);
  expect(err.rawMessage).toMatch(/at most 500/);
});
