// Batching, retries and fault mapping against the simulator, through the real gRPC server:
// code lists split into calls of 20 and merged in order; 500/503/timeouts/dropped connections
// retried until they succeed; 400/403/404 not retried; Retry-After honoured; and faults that
// persist reach the caller as gRPC codes with messages an operator can act on.
import { Code, ConnectError } from '@connectrpc/connect';
import { waitFor } from '@haier-sync/runtime/testing';
import { freePort } from '@haier-sync/runtime/testing';
import { rpcFailure, simCalls, startGateway, startStack, type Stack } from './harness';

const TIMEOUT_MS = 400;

describe('batching and retries', () => {
  let s: Stack;
  let codes: string[];
  beforeAll(async () => {
    s = await startStack({ sim: { size: 500, rateLimit: 0 }, env: { HAIER_RATE_LIMIT: '1000', HAIER_TIMEOUT_MS: String(TIMEOUT_MS) } });
    // 45 codes in an order that is not the catalog's: the answer must follow the request
    codes = s.sim.control
      .products(0, 45)
      .map((p) => p.productCode)
      .reverse();
    await s.client.checkAuth({});
  });
  afterAll(() => s.close());
  beforeEach(() => {
    s.sim.control.clearFaults();
    s.sim.control.configure({ rateLimit: 0 });
    s.sim.control.resetStats();
  });

  it('45 codes make 3 upstream calls and come back in the order asked', async () => {
    const retriesBefore = Number((await s.client.getUsage({})).retries);
    const prices = await s.client.getPrices({ productCodes: codes });
    expect(prices.prices.map((p) => p.productCode)).toEqual(codes);
    expect(prices.errors).toEqual([]);
    // 3 calls of at most 20 codes; a retry (a 400 ms timeout on a starved machine) is a 4th call, not a 4th batch
    const retries = Number((await s.client.getUsage({})).retries) - retriesBefore;
    expect(simCalls(s.sim, 'prices') - retries).toBe(3);

    const products = await s.client.getProducts({ productCodes: codes });
    expect(products.products.map((p) => p.productCode)).toEqual(codes);
    expect(simCalls(s.sim, 'products')).toBe(3);
  });

  it('injected 500 and 503 answers are retried and the call succeeds', async () => {
    const retriesBefore = (await s.client.getUsage({})).retries;
    s.sim.control.faults({ failNext: { status: 500, count: 2, endpoint: 'prices' } });
    const a = await s.client.getPrices({ productCodes: codes });
    expect(a.prices.map((p) => p.productCode)).toEqual(codes);
    expect(simCalls(s.sim, 'prices', 'fault_500')).toBe(2);
    expect(simCalls(s.sim, 'prices', 'ok')).toBe(3);

    s.sim.control.faults({ failNext: { status: 503, count: 2, endpoint: 'products' } });
    const b = await s.client.getProducts({ productCodes: codes.slice(0, 5) });
    expect(b.products).toHaveLength(5);
    expect(simCalls(s.sim, 'products', 'fault_503')).toBe(2); // the same call failed twice, third attempt answered
    expect(simCalls(s.sim, 'products', 'ok')).toBe(1);
    expect((await s.client.getUsage({})).retries - retriesBefore).toBe(4n);
  });

  it('a call Haier does not answer in time is abandoned and retried', async () => {
    // the next call hangs 3 s (longer than HAIER_TIMEOUT_MS); the retry finds Haier healthy again
    s.sim.control.faults({ timeoutRate: 1, timeoutMs: 3000, timeoutAction: 'respond504' });
    const t0 = Date.now();
    const call = s.client.getPrices({ productCodes: codes.slice(0, 3) });
    await waitFor(() => s.sim.control.stats().total >= 1, { what: 'the first attempt to reach the simulator' });
    s.sim.control.clearFaults();
    const r = await call;
    expect(r.prices.map((p) => p.productCode)).toEqual(codes.slice(0, 3));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(Date.now() - t0).toBeLessThan(2500); // did not wait for the hung answer
    expect(s.logs.lines()).toContainEqual(expect.objectContaining({ upstream: 'prices', outcome: 'timeout', attempt: 1 }));
  });

  it('a dropped connection is retried and the call succeeds', async () => {
    s.sim.control.faults({ timeoutRate: 1, timeoutMs: 10, timeoutAction: 'drop' });
    const call = s.client.getPrices({ productCodes: codes.slice(0, 2) });
    await waitFor(() => s.sim.control.stats().total >= 1, { what: 'the first attempt' });
    s.sim.control.clearFaults();
    expect((await call).prices).toHaveLength(2);
    expect(s.logs.lines()).toContainEqual(expect.objectContaining({ upstream: 'prices', outcome: 'network_error' }));
  });

  it.each([
    [400, Code.InvalidArgument, /Haier rejected the request as invalid \(HTTP 400 from prices.*\): check the codes and parameters sent/],
    [403, Code.PermissionDenied, /Haier refused the call \(HTTP 403 from prices\): the account lacks permission or this server's IP is not allow-listed/],
    [404, Code.FailedPrecondition, /Haier has no such endpoint \(HTTP 404 for prices\): check HAIER_BASE_URL/],
  ])('HTTP %i is not retried and maps to %s', async (status, code, message) => {
    s.sim.control.faults({ failNext: { status, count: 5, endpoint: 'prices' } });
    const err = await rpcFailure(s.client.getPrices({ productCodes: codes.slice(0, 1) }));
    expect(err.code).toBe(code);
    expect(err.rawMessage).toMatch(message);
    await new Promise((r) => setTimeout(r, 300)); // a retry would have happened by now
    expect(simCalls(s.sim, 'prices')).toBe(1);
  });

  it('Retry-After is honoured', async () => {
    // 1 call/s at the simulator: the second call is throttled with Retry-After: 1. The gateway's
    // own back-off here is 20-200 ms, so only honouring Retry-After lets the call through.
    s.sim.control.configure({ rateLimit: 1 });
    const t0 = Date.now();
    const [a, b] = await Promise.all([s.client.getPrices({ productCodes: [codes[0]!] }), s.client.getPrices({ productCodes: [codes[1]!] })]);
    const elapsed = Date.now() - t0;
    expect([a.prices[0]?.productCode, b.prices[0]?.productCode]).toEqual([codes[0], codes[1]]);
    expect(simCalls(s.sim, 'prices', 'throttled')).toBe(1);
    expect(simCalls(s.sim, 'prices', 'ok')).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(950);
  });
});

describe('persistent faults reach the caller as gRPC codes an operator understands', () => {
  let s: Stack;
  let code: string;
  beforeAll(async () => {
    s = await startStack({ sim: { size: 100, rateLimit: 0 }, env: { HAIER_RATE_LIMIT: '1000', HAIER_TIMEOUT_MS: String(TIMEOUT_MS) } });
    code = s.sim.control.products(0, 1)[0]!.productCode;
  });
  afterAll(() => s.close());
  beforeEach(() => {
    s.sim.control.clearFaults();
    s.sim.control.resetStats();
  });

  it('Haier unavailable (503 after 3 retries) -> UNAVAILABLE', async () => {
    s.sim.control.faults({ failNext: { status: 503, count: 10 } });
    const err = await rpcFailure(s.client.getPrices({ productCodes: [code] }));
    expect(err.code).toBe(Code.Unavailable);
    expect(err.rawMessage).toMatch(/Haier is unavailable \(HTTP 503 from prices after 3 retries\): try again later/);
    expect(simCalls(s.sim, 'prices', 'fault_503')).toBe(4);
  });

  it('throttled (429 after 3 retries) -> RESOURCE_EXHAUSTED', async () => {
    s.sim.control.faults({ failNext: { status: 429, count: 10 } });
    const err = await rpcFailure(s.client.getBalance({}));
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toMatch(/Haier throttled the call \(HTTP 429 from balance after 3 retries\): lower HAIER_RATE_LIMIT or try again later/);
  });

  it('no answer in time (after 3 retries) -> DEADLINE_EXCEEDED', async () => {
    s.sim.control.faults({ timeoutRate: 1, timeoutMs: 2000, timeoutAction: 'respond504' });
    const err = await rpcFailure(s.client.getStock({ productCode: code, countyCode: '110101' }));
    expect(err.code).toBe(Code.DeadlineExceeded);
    expect(err.rawMessage).toMatch(new RegExp(`Haier did not answer within ${TIMEOUT_MS} ms \\(stock after 3 retries\\): try again later, or raise HAIER_TIMEOUT_MS`));
  });

  it('the access token refused even after a fresh one -> UNAUTHENTICATED', async () => {
    s.sim.control.faults({ fail401Next: 100 });
    const err = await rpcFailure(s.client.getProducts({ productCodes: [code] }));
    expect(err.code).toBe(Code.Unauthenticated);
    expect(err.rawMessage).toMatch(/Haier rejected the access token \(HTTP 401 from products even after fetching a fresh token\)/);
  });

  it('a business error under HTTP 200 (success: false) -> FAILED_PRECONDITION with Haier\'s words', async () => {
    s.sim.control.faults({ businessErrorRate: 1 });
    const err = await rpcFailure(s.client.getBalance({}));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toMatch(/Haier refused the call \(balance, business error SYSTEM_BUSY: 系统繁忙/);
  });

  it('Haier unreachable -> UNAVAILABLE naming the address to check', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const g = await startGateway(nowhere, { HAIER_TIMEOUT_MS: String(TIMEOUT_MS) });
    try {
      const err = await rpcFailure(g.client.getPrices({ productCodes: [code] }));
      expect(err.code).toBe(Code.Unavailable);
      expect(err.rawMessage).toMatch(new RegExp(`Could not reach Haier at ${nowhere.replace(/[.]/g, '\\.')} \\(ECONNREFUSED on token after 3 retries\\): check HAIER_BASE_URL and the network`));
    } finally {
      await g.close();
    }
  });

  it('calls still waiting for the budget when the gateway shuts down -> UNAVAILABLE, retry elsewhere', async () => {
    const g = await startGateway(s.sim.url, { HAIER_RATE_LIMIT: '1', HAIER_TIMEOUT_MS: '2000' });
    try {
      await g.client.checkAuth({});
      // 1 call/s: the first starts at once, the other two wait for their turn
      const calls = [0, 1, 2].map(() => rpcFailure(g.client.getPrices({ productCodes: [code] })).catch((e: unknown) => e));
      await waitFor(() => g.gw.client.queued() >= 2, { what: 'calls waiting for the rate budget' });
      await g.gw.close();
      const errors = (await Promise.all(calls)).filter((e): e is ConnectError => e instanceof ConnectError);
      expect(errors.length).toBeGreaterThanOrEqual(2);
      for (const e of errors) {
        expect(e.code).toBe(Code.Unavailable);
        expect(e.rawMessage).toMatch(/the gateway is shutting down; the upstream call was not made: retry the call/);
      }
    } finally {
      await g.close();
    }
  });

  it('bad input is INVALID_ARGUMENT before any upstream call', async () => {
    const err = await rpcFailure(s.client.getPrices({ productCodes: [] }));
    expect(err.code).toBe(Code.InvalidArgument);
    const err2 = await rpcFailure(s.client.getStock({ productCode: code, countyCode: '11' }));
    expect(err2.code).toBe(Code.InvalidArgument);
    expect(err2.rawMessage).toMatch(/county/i);
    expect(s.sim.control.stats().total).toBe(0);
  });
});
