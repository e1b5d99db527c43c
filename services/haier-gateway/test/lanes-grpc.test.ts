// Lanes over gRPC: the x-haier-lane request header puts a request's upstream calls in a lane, so
// a live lookup is answered while a bulk request's calls still wait for the budget; a header that
// names no lane is INVALID_ARGUMENT naming it; GetUsage counts each lane's calls.
import { Code } from '@connectrpc/connect';
import { waitFor } from '@haier-sync/runtime/testing';
import { rpcFailure, simCalls, startStack, type Stack } from './harness';

describe('lanes over gRPC', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { size: 1000, rateLimit: 20 }, env: { HAIER_RATE_LIMIT: '20' } }); // 19 calls/s for the gateway
  });
  afterAll(() => s.close());

  it('answers an interactive lookup ahead of the queued calls of a bulk request', async () => {
    await s.client.checkAuth({});
    const codes = s.sim.control.products(0, 1000).map((p) => p.productCode);
    let bulkDone = false;
    const bulk = s.client.getPrices({ productCodes: codes }, { headers: { 'x-haier-lane': 'bulk' } }).then((r) => {
      bulkDone = true; // 50 upstream calls: over 2.5 s of budget
      return r;
    });
    // the bulk request's calls wait at the gate (32 at once, the concurrency cap)
    await waitFor(() => s.gw.client.queued() > 20 || undefined, { timeoutMs: 10_000, intervalMs: 20, what: 'the bulk calls to queue at the gate' });
    const before = simCalls(s.sim, 'prices');
    const lookup = await s.client.getPrices({ productCodes: codes.slice(0, 5) }, { headers: { 'x-haier-lane': 'interactive' } });
    expect(lookup.prices).toHaveLength(5);
    // served next, not after the bulk calls queued before it: first come, first served would put
    // ~30 ahead; the bound leaves room for the lookup's own round trip on a busy machine (at 19
    // calls/s, 12 calls are ~600 ms; an idle machine measures 1-6)
    expect(simCalls(s.sim, 'prices') - before).toBeLessThanOrEqual(12);
    expect(bulkDone).toBe(false); // answered while most of the bulk request still waits
    expect(s.gw.client.queued()).toBeGreaterThan(0);
    expect((await bulk).prices).toHaveLength(1000);
    // each upstream call's log line names its lane
    const lanes = s.logs.lines().filter((l) => l.msg === 'upstream call').map((l) => l.lane);
    expect(lanes.filter((l) => l === 'interactive')).toHaveLength(1);
    expect(lanes.filter((l) => l === 'bulk')).toHaveLength(50);
  }, 30_000);

  it("GetUsage counts each lane's calls and says its floor, cap and the cap in calls a second of this replica's share", async () => {
    const codes = s.sim.control.products(0, 40).map((p) => p.productCode);
    const calls = async () => new Map((await s.client.getUsage({})).lanes.map((l) => [l.lane, Number(l.calls)]));
    // counted from a quiet gate (no call of an earlier test waiting, in flight or in the window)
    await waitFor(async () => (await s.client.getUsage({})).lanes.every((l) => l.waiting === 0 && l.inWindow === 0) || undefined, { timeoutMs: 20_000, intervalMs: 100, what: 'the lanes to be quiet' });
    const before = await calls();
    await s.client.getBalance({}, { headers: { 'x-haier-lane': 'interactive' } }); // 1 call
    await s.client.getPrices({ productCodes: codes.slice(0, 5) }); // 1 call, the default lane
    await s.client.getPrices({ productCodes: codes }, { headers: { 'x-haier-lane': 'bulk' } }); // 2 calls
    const usage = await s.client.getUsage({});
    expect(usage.lanes.map((l) => [l.lane, Number(l.calls) - before.get(l.lane)!])).toEqual([
      ['interactive', 1],
      ['scheduled', 1],
      ['bulk', 2],
    ]);
    expect(usage.limitNowPerSecond).toBe(19);
    expect(usage.lanes.map((l) => [l.lane, l.floorPct, l.capPct, l.capPerSecond])).toEqual([
      ['interactive', 10, 50, 9],
      ['scheduled', 10, 100, 19],
      ['bulk', 20, 100, 19],
    ]);
    expect(usage.lanes.every((l) => l.waiting === 0 && l.inWindow <= l.capPerSecond)).toBe(true);
  });

  it('refuses a header that names no lane', async () => {
    const e = await rpcFailure(s.client.getBalance({}, { headers: { 'x-haier-lane': 'urgent' } }));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.rawMessage).toBe('x-haier-lane: x-haier-lane: expected one of interactive, scheduled, bulk, got "urgent"');
  });
});
