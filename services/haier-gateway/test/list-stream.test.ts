import { Readable } from 'node:stream';
import { isLosslessNumber } from 'lossless-json';
import { ListBusinessError, ListStreamError, streamListBatches } from '../src/list-stream';

function body(text: string, pieceSize = 7): Readable {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += pieceSize) pieces.push(text.slice(i, i + pieceSize));
  return Readable.from(pieces.map((p) => Buffer.from(p)));
}

async function collect(text: string, size: number): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for await (const b of streamListBatches(body(text), size)) out.push(b);
  return out;
}

describe('streamListBatches', () => {
  it('streams the envelope data in batches with exact numbers', async () => {
    const items = Array.from({ length: 7 }, (_, i) => `{"productCode":"P${i}","price":12345678901234.5678,"urls":["a","b"],"n":null}`);
    const batches = await collect(`{"success":true,"code":"200","data":[${items.join(',')}],"timeStamp":"20260101000000"}`, 3);
    expect(batches.map((b) => b.length)).toEqual([3, 3, 1]);
    const first = batches[0]![0] as Record<string, unknown>;
    expect(first['productCode']).toBe('P0');
    expect(isLosslessNumber(first['price']) && (first['price'] as { value: string }).value).toBe('12345678901234.5678');
    expect(first['urls']).toEqual(['a', 'b']);
  });
  it('streams a bare list', async () => {
    expect(await collect('[{"a":1},{"a":2}]', 10)).toHaveLength(1);
    expect(await collect('[]', 10)).toHaveLength(0);
  });
  it('reports success:false as a business error and junk as unreadable', async () => {
    await expect(collect('{"success":false,"code":"E1","description":"密码错误","data":null}', 5)).rejects.toBeInstanceOf(ListBusinessError);
    await expect(collect('[{"a":1},', 5)).rejects.toBeInstanceOf(ListStreamError);
    await expect(collect('{"success":true,"data":"nope"}', 5)).rejects.toBeInstanceOf(ListStreamError);
  });
  it('reads a 100,000-record list incrementally in batches of the requested size', async () => {
    const count = 100_000;
    const gen = (function* () {
      yield '{"success":true,"data":[';
      for (let i = 0; i < count; i++) yield `${i ? ',' : ''}{"productCode":"P${i}","supplyPrice":${i}.25,"productLageUrls":["https://x/${i}.jpg"]}`;
      yield ']}';
    })();
    let seen = 0;
    let maxBatch = 0;
    for await (const b of streamListBatches(Readable.from(gen), 1000)) {
      seen += b.length;
      maxBatch = Math.max(maxBatch, b.length);
    }
    expect(seen).toBe(count);
    expect(maxBatch).toBe(1000);
  });
});
