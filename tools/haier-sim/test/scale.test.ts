// Large catalogs without holding them: a 1,000,000-product simulator starts at once and answers its last codes;
// streaming 200,000 products keeps the heap nearly flat.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { BUSINESS_PATHS, startSimulator } from '../src/index';
import { ACCOUNT, call, token } from './client';

// Heap is measured after a full collection: heapUsed alone counts garbage the collector has not
// reached yet, which on a busy machine can be well over 100 MB and says nothing about what is held.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const liveHeap = () => (gc(), process.memoryUsage().heapUsed);

// Generous on a shared 2-core machine: these walk large catalogs over HTTP.
jest.setTimeout(180_000);

it('starts a 1,000,000-product simulator immediately and answers a code near the end', async () => {
  const heapBefore = liveHeap();
  const sim = await startSimulator({ quiet: true, size: 1_000_000, rateLimit: 0 });
  try {
    expect(sim.control.listedCount()).toBe(1_000_000);
    expect(liveHeap() - heapBefore).toBeLessThan(20 * 1024 * 1024);
    const last = sim.control.products(999_998, 5);
    expect(last.map((p) => p.index)).toEqual([999_998, 999_999]);
    const auth = await token(sim.url);
    const r = await call(sim.url, 'products', { ...ACCOUNT.products, productCodes: last.map((p) => p.productCode) }, auth);
    expect(r.json.data.map((p: { productCode: string }) => p.productCode)).toEqual(last.map((p) => p.productCode));
    expect(r.json.data[1].productModel).toBe(last[1]!.productModel);
    const { delisted } = sim.control.mutate({ delistShare: 0.001, seed: 1 });
    expect(delisted).toHaveLength(1000);
    expect(sim.control.products(999_000 - 1, 1)[0]!.index).toBe(999_999);
  } finally {
    await sim.close();
  }
});

it('streams the full list of 200,000 products with a small heap growth', async () => {
  const size = 200_000;
  const sim = await startSimulator({ quiet: true, size, rateLimit: 0 });
  try {
    const auth = await token(sim.url);

    const baseline = liveHeap();
    let peak = baseline;
    let nextSample = 0;
    const res = await fetch(sim.url + BUSINESS_PATHS.products, { method: 'POST', headers: { 'content-type': 'application/json', authorization: auth }, body: JSON.stringify(ACCOUNT.products) });
    expect(res.status).toBe(200);
    // count rows and check the envelope without holding the answer
    const decoder = new TextDecoder();
    let rows = 0;
    let head = '';
    let tail = '';
    let bytes = 0;
    for await (const chunk of res.body!) {
      const text = tail + decoder.decode(chunk as Uint8Array, { stream: true });
      bytes += (chunk as Uint8Array).length;
      if (head.length < 30) head += text.slice(0, 30);
      rows += text.split('{"productCode":').length - 1;
      tail = text.slice(-20); // a marker split across chunks is counted once, in the next chunk
      rows -= tail.split('{"productCode":').length - 1;
      if (bytes >= nextSample) {
        // what is live mid-stream, every ~5 MB: the simulator's buffered output plus ours
        peak = Math.max(peak, liveHeap());
        nextSample = bytes + 5 * 1024 * 1024;
      }
    }
    rows += tail.split('{"productCode":').length - 1;
    const growthMb = (peak - baseline) / 1024 / 1024;
    // the answer is ~75 MB of JSON; holding it (or its rows) would show as far more live heap than this
    expect(bytes).toBeGreaterThan(40 * 1024 * 1024);
    expect(head.startsWith('{"success":true,"data":[')).toBe(true);
    expect(tail.endsWith(']}')).toBe(true);
    expect(rows).toBe(size);
    expect(growthMb).toBeLessThan(24);
    console.log(`streamed ${size} products, ${(bytes / 1024 / 1024).toFixed(1)} MB, live heap growth peak ${growthMb.toFixed(1)} MB`);
  } finally {
    await sim.close();
  }
});
