// The catalog-write coalescer on its own: batches that arrive while a call is in flight go out
// together, each gets exactly its own results, runs and dry runs never mix, a combined call the
// catalog rejects (INVALID_ARGUMENT) falls back to one call per batch so one bad batch cannot fail
// its neighbours, and a combined call that fails because the catalog is away fails them all at once.
// (The end-to-end runs in runs*.test.ts and kill.test.ts go through it against the real catalog.)
import { create } from '@bufbuild/protobuf';
import { Code, ConnectError } from '@connectrpc/connect';
import { catalog } from '@haier-sync/contracts';
import { createUpsertCoalescer, type UpsertFn } from '../src/runs/upsert-coalescer';

const product = (code: string) => create(catalog.ProductInputSchema, { productCode: code });
const batch = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => product(`${prefix}${i}`));

interface Call {
  runId: string;
  dryRun: boolean;
  codes: string[];
}

/** A catalog stand-in answering one CREATED result per product after `ms`; rejects batches holding a code starting with "BAD" (INVALID_ARGUMENT), and is unavailable while `down.now`. */
function fakeCatalog(ms = 20, down = { now: false }): { send: UpsertFn; calls: Call[] } {
  const calls: Call[] = [];
  const send: UpsertFn = async (req) => {
    calls.push({ runId: req.runId, dryRun: req.dryRun, codes: req.products.map((p) => p.productCode) });
    await new Promise((r) => setTimeout(r, ms));
    if (down.now) throw new ConnectError('connect ECONNREFUSED 127.0.0.1:1', Code.Unavailable);
    if (req.products.some((p) => p.productCode.startsWith('BAD')))
      throw new ConnectError(`rejected: ${req.products.find((p) => p.productCode.startsWith('BAD'))!.productCode}`, Code.InvalidArgument);
    return req.products.map((p) => create(catalog.ItemResultSchema, { productCode: p.productCode, outcome: catalog.ItemOutcome.CREATED, reason: req.runId }));
  };
  return { send, calls };
}

it('sends a lone batch at once, and batches arriving meanwhile together, each getting its own results in order', async () => {
  const { send, calls } = fakeCatalog();
  const c = createUpsertCoalescer(send, { maxInFlight: 1 });
  const first = c.upsert({ runId: 'r1', dryRun: false, products: batch('A', 20) });
  expect(calls).toHaveLength(1); // not held back
  const rest = ['B', 'C', 'D', 'E'].map((p) => c.upsert({ runId: 'r1', dryRun: false, products: batch(p, 20) }));
  const all = await Promise.all([first, ...rest]);
  expect(calls.map((x) => x.codes.length)).toEqual([20, 80]);
  all.forEach((results, i) => {
    expect(results.map((r) => r.productCode)).toEqual(batch('ABCDE'[i]!, 20).map((p) => p.productCode));
  });
  expect(c.stats()).toEqual({ flushes: 2, items: 5, fallbacks: 0 });
});

it('never mixes runs or dry runs in one call, and caps a call at maxProducts', async () => {
  const { send, calls } = fakeCatalog();
  const c = createUpsertCoalescer(send, { maxInFlight: 1, maxProducts: 40 });
  const blocker = c.upsert({ runId: 'r0', dryRun: false, products: batch('Z', 1) });
  const waiting = [
    c.upsert({ runId: 'r1', dryRun: false, products: batch('A', 20) }),
    c.upsert({ runId: 'r2', dryRun: false, products: batch('B', 20) }),
    c.upsert({ runId: 'r1', dryRun: true, products: batch('C', 20) }),
    c.upsert({ runId: 'r1', dryRun: false, products: batch('D', 20) }),
    c.upsert({ runId: 'r1', dryRun: false, products: batch('E', 20) }),
  ];
  const results = await Promise.all([blocker, ...waiting]);
  for (const call of calls) {
    expect(call.codes.length).toBeLessThanOrEqual(40);
  }
  const groups = calls.slice(1).map((x) => `${x.runId}/${x.dryRun}:${[...new Set(x.codes.map((code) => code[0]))].join('')}`);
  expect(groups).toEqual(['r1/false:AD', 'r2/false:B', 'r1/true:C', 'r1/false:E']);
  // each answer came from a call of its own run
  results.slice(1).forEach((r, i) => expect(new Set(r.map((x) => x.reason))).toEqual(new Set([['r1', 'r2', 'r1', 'r1', 'r1'][i]])));
});

it('a combined call that fails is retried batch by batch: only the bad batch fails', async () => {
  const { send, calls } = fakeCatalog();
  const c = createUpsertCoalescer(send, { maxInFlight: 1 });
  const blocker = c.upsert({ runId: 'r1', dryRun: false, products: batch('Z', 1) });
  const good1 = c.upsert({ runId: 'r1', dryRun: false, products: batch('A', 3) });
  const bad = c.upsert({ runId: 'r1', dryRun: false, products: [product('B0'), product('BAD1')] });
  const good2 = c.upsert({ runId: 'r1', dryRun: false, products: batch('C', 3) });
  await blocker;
  await expect(bad).rejects.toThrow('rejected: BAD1');
  expect((await good1).map((r) => r.productCode)).toEqual(['A0', 'A1', 'A2']);
  expect((await good2).map((r) => r.productCode)).toEqual(['C0', 'C1', 'C2']);
  // the combined call, then each batch alone
  expect(calls.slice(1).map((x) => x.codes.length)).toEqual([8, 3, 2, 3]);
  expect(c.stats().fallbacks).toBe(1);
});

it('a combined call failing because the catalog is unavailable fails its batches at once, without a call per batch', async () => {
  const down = { now: false };
  const { send, calls } = fakeCatalog(20, down);
  const c = createUpsertCoalescer(send, { maxInFlight: 1 });
  const blocker = c.upsert({ runId: 'r1', dryRun: false, products: batch('Z', 1) });
  const waiting = ['A', 'B', 'C'].map((p) => c.upsert({ runId: 'r1', dryRun: false, products: batch(p, 3) }));
  await blocker;
  down.now = true;
  for (const w of waiting) await expect(w).rejects.toMatchObject({ code: Code.Unavailable });
  expect(calls.slice(1).map((x) => x.codes.length)).toEqual([9]); // the combined call only
  expect(c.stats().fallbacks).toBe(0);
});

it('keeps at most maxInFlight calls going', async () => {
  let inFlight = 0;
  let most = 0;
  const send: UpsertFn = async (req) => {
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    return req.products.map((p) => create(catalog.ItemResultSchema, { productCode: p.productCode }));
  };
  const c = createUpsertCoalescer(send, { maxInFlight: 2 });
  const all = await Promise.all(Array.from({ length: 40 }, (_, i) => c.upsert({ runId: 'r', dryRun: false, products: batch(`P${i}-`, 20) })));
  expect(most).toBe(2);
  expect(all.flat()).toHaveLength(800);
  expect(c.stats().flushes).toBeLessThan(40);
});
