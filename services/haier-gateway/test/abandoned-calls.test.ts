// Abandoned calls stop (issue 17, item 5): the RPC's abort signal reaches the calls waiting for a
// slot or the rate budget and the HTTP exchange itself, so a cancelled or dead caller stops
// spending Haier's budget. And Haier's own unavailability reaches the caller marked as such
// (x-upstream-fault: haier), with a stock pair's transient fault failing the whole call.
import { Code } from '@connectrpc/connect';
import { UPSTREAM_FAULT_HEADER } from '@haier-sync/runtime';
import { CallSlots } from '../src/call-slots';
import { RateGate } from '../src/rate-gate';
import { rpcFailure, simCalls, startStack, type Stack } from './harness';

jest.setTimeout(30_000);

describe('waiting for a slot or the budget', () => {
  it('a call whose signal aborts leaves the slot queue; the others keep their turn', async () => {
    const slots = new CallSlots(1);
    let release!: () => void;
    const first = slots.run(() => new Promise<void>((r) => (release = r)));
    const ac = new AbortController();
    const ran: string[] = [];
    const abandoned = slots.run(async () => void ran.push('abandoned'), ac.signal);
    const next = slots.run(async () => void ran.push('next'));
    expect(slots.waiting()).toBe(2);
    ac.abort(new Error('caller gone'));
    await expect(abandoned).rejects.toThrow('caller gone');
    expect(slots.waiting()).toBe(1);
    release();
    await first;
    await next;
    expect(ran).toEqual(['next']);
    expect(slots.running()).toBe(0);
  });

  it('a call whose signal aborts leaves the rate gate without spending a token', async () => {
    const gate = new RateGate({ limit: 2, burst: 1 });
    const ended = await gate.take(); // the only token
    const ac = new AbortController();
    const abandoned = gate.take(ac.signal);
    expect(gate.waiting()).toBe(1);
    ac.abort(new Error('caller gone'));
    await expect(abandoned).rejects.toThrow('caller gone');
    expect(gate.waiting()).toBe(0);
    await expect(gate.take(AbortSignal.abort(new Error('already gone')))).rejects.toThrow('already gone');
    ended();
    expect(gate.inWindow()).toBe(1); // only the call that started counts
    gate.close();
  });
});

describe('over gRPC against the simulator', () => {
  let s: Stack;
  beforeAll(async () => {
    // 4 calls a second and a slow Haier: 200 codes are 10 calls, about 2.5 s of budget
    s = await startStack({ sim: { size: 400, latencyMs: 200 }, env: { HAIER_RATE_LIMIT: '4', HAIER_MAX_RETRIES: '0' } });
  });
  afterAll(() => s?.close());

  it('a cancelled GetPrices stops: Haier serves only the calls that had started', async () => {
    const codes = s.sim.control.products(0, 200).map((p) => p.productCode);
    await s.client.getPrices({ productCodes: codes.slice(0, 1) }); // the token, outside the count
    s.sim.control.resetStats();
    const ac = new AbortController();
    const call = s.client.getPrices({ productCodes: codes }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 300));
    ac.abort();
    const err = await rpcFailure(call);
    expect(err.code).toBe(Code.Canceled);
    await new Promise((r) => setTimeout(r, 3_000)); // the time the 10 calls would have taken
    const served = simCalls(s.sim, 'prices');
    expect(served).toBeGreaterThan(0);
    expect(served).toBeLessThanOrEqual(2); // the burst that had started; not 10
    expect(s.gw.client.queued()).toBe(0);
  });

  it("Haier's 503 on one stock pair fails the whole GetStocks as UNAVAILABLE, marked as Haier's", async () => {
    const codes = s.sim.control.products(0, 3).map((p) => p.productCode);
    await new Promise((r) => setTimeout(r, 1_000)); // the budget refills
    s.sim.control.faults({ failNext: { status: 503, count: 1, endpoint: 'stock' } });
    const err = await rpcFailure(s.client.getStocks({ queries: codes.map((productCode) => ({ productCode, countyCode: '110101' })) }));
    s.sim.control.clearFaults();
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/Haier is unavailable \(HTTP 503 from stock\)/);
    expect(err.metadata.get(UPSTREAM_FAULT_HEADER)).toBe('haier');
    const ok = await s.client.getStocks({ queries: codes.map((productCode) => ({ productCode, countyCode: '110101' })) });
    expect(ok.stocks).toHaveLength(3);
    expect(ok.errors).toHaveLength(0);
  });
});
