import { BatchError, chunk, dedupeCodes, mapSettled, runBatches } from '../src/batching';
import { checkChunkSize } from '../src/validation';

describe('batching', () => {
  it('dedupes keeping first-seen order and splits into batches of at most 20', () => {
    expect(dedupeCodes(['b', 'a', ' b ', '', 'c', 'a'])).toEqual(['b', 'a', 'c']);
    const codes = Array.from({ length: 45 }, (_, i) => `C${i}`);
    expect(chunk(codes, 20).map((c) => c.length)).toEqual([20, 20, 5]);
  });
  it('merges results in batch order whatever order batches finish in', async () => {
    const codes = Array.from({ length: 45 }, (_, i) => `C${i}`);
    const r = await runBatches(codes, 20, async (batch, i) => {
      await new Promise((res) => setTimeout(res, (3 - i) * 10));
      return { items: batch, errors: [] as string[] };
    });
    expect(r.items).toEqual(codes);
  });
  it('fails with the first failing batch named, never a partial answer', async () => {
    const codes = Array.from({ length: 45 }, (_, i) => `C${i}`);
    const p = runBatches(codes, 20, async (batch, i) => {
      if (i === 1) throw new Error('boom');
      return { items: batch, errors: [] };
    });
    await expect(p).rejects.toBeInstanceOf(BatchError);
    await expect(p).rejects.toThrow('batch 2 of 3 (20 codes: C20…C39) failed');
  });
  it('mapSettled keeps order and bounds concurrency', async () => {
    let inFlight = 0;
    let peak = 0;
    const r = await mapSettled([1, 2, 3, 4, 5, 6], 2, async (x) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((res) => setTimeout(res, 5));
      inFlight--;
      if (x === 3) throw new Error('three');
      return x * 10;
    });
    expect(peak).toBe(2);
    expect(r.map((s) => (s.status === 'fulfilled' ? s.value : 'x'))).toEqual([10, 20, 'x', 40, 50, 60]);
  });
});

describe('validation', () => {
  // product codes, order codes, county codes and list sizes: the rulebook, tested in http-edge/test/input-rules.test.ts
  it('checks chunk sizes', () => {
    expect(checkChunkSize(0)).toBe(500);
    expect(() => checkChunkSize(5001)).toThrow(/maximum of 5000/);
  });
});
