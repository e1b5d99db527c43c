// Secrets never leave the gateway: with distinctive credential values, calls that succeed and
// calls that fail (bad client secret, wrong passwords, revoked tokens, 401s, server faults)
// leave no trace of them in the log, in any span, or in any answer or error a caller gets.
// And every upstream exchange is logged once and counted once (GetUsage agrees with the
// simulator's own counters, endpoint by endpoint and outcome by outcome).
import { ConnectError } from '@connectrpc/connect';
import { startSimulator, type SimHandle } from '@haier-sync/haier-sim';
import { closeGrpcClients } from '@haier-sync/runtime';
import { startTestTracing, type TestTracing } from '@haier-sync/runtime/testing';
import { startGateway, type GatewayUnderTest } from './harness';

const SECRETS = {
  HAIER_CLIENT_SECRET: 'CliSec-7f3a9-ZEBRA',
  HAIER_PASSWORD: 'Pw-q8x2-OKAPI',
  HAIER_SELLER_PASSWORD: 'SellerPw-m4n7-LYNX',
  HAIER_CUSTOMER_PASSWORD: 'CustPw-k9d1-NARWHAL',
};
const WRONG = {
  HAIER_CLIENT_SECRET: 'WrongCliSec-b5b5-IBEX',
  HAIER_PASSWORD: 'WrongPw-c6c6-YAK',
  HAIER_SELLER_PASSWORD: 'WrongSellerPw-d7d7-GNU',
  HAIER_CUSTOMER_PASSWORD: 'WrongCustPw-e8e8-EMU',
};

/** A second account's secret in the gateway's environment, named by a Haier config (wrong for the simulator). */
const PREPROD_SECRET = 'PreprodSec-a1a1-TAPIR';

/** What a caller saw: every answer and every error, as text. */
function collector() {
  const seen: string[] = [];
  const safeStringify = (v: unknown) => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x));
  return {
    seen,
    async call(p: Promise<unknown>): Promise<void> {
      try {
        seen.push(safeStringify(await p));
      } catch (e) {
        const ce = ConnectError.from(e);
        seen.push(`${ce.code} ${ce.rawMessage} ${ce.message} ${safeStringify(ce.metadata)}`);
      }
    },
  };
}

describe('secrets', () => {
  let tracing: TestTracing;
  let sim: SimHandle;
  let good: GatewayUnderTest;
  let badSecret: GatewayUnderTest;
  let badPasswords: GatewayUnderTest;

  beforeAll(async () => {
    tracing = startTestTracing();
    sim = await startSimulator({
      quiet: true,
      size: 100,
      rateLimit: 0,
      credentials: {
        clientSecret: SECRETS.HAIER_CLIENT_SECRET,
        passWord: SECRETS.HAIER_PASSWORD,
        sellerPassword: SECRETS.HAIER_SELLER_PASSWORD,
        customerPassword: SECRETS.HAIER_CUSTOMER_PASSWORD,
      },
    });
    const env = { HAIER_RATE_LIMIT: '1000', HAIER_TIMEOUT_MS: '400' };
    good = await startGateway(sim.url, { ...env, ...SECRETS, HAIER_PREPROD_CLIENT_SECRET: PREPROD_SECRET });
    badSecret = await startGateway(sim.url, { ...env, ...SECRETS, HAIER_CLIENT_SECRET: WRONG.HAIER_CLIENT_SECRET });
    badPasswords = await startGateway(sim.url, { ...env, ...WRONG, HAIER_CLIENT_SECRET: SECRETS.HAIER_CLIENT_SECRET });
  });
  afterAll(async () => {
    closeGrpcClients();
    await Promise.all([good.close(), badSecret.close(), badPasswords.close()]);
    await sim.close();
    await tracing.stop();
  });

  it('appear in no log line, span or answer, through successes and failures', async () => {
    const codes = sim.control.products(0, 30).map((p) => p.productCode);
    const c = collector();
    // successes on every endpoint
    await c.call(good.client.getPrices({ productCodes: codes }));
    await c.call(good.client.getProducts({ productCodes: codes }));
    await c.call(good.client.getStock({ productCode: codes[0]!, countyCode: '110101' }));
    await c.call(good.client.getBalance({}));
    await c.call(good.client.getLogistics({ orderCode: 'SO.20190106.000003' }));
    await c.call(good.client.checkAuth({}));
    // a Haier config's test: its own named secret (refused by Haier), then the gateway's
    await c.call(good.client.checkAuth({ account: { baseUrl: sim.url, clientSecretEnv: 'HAIER_PREPROD_CLIENT_SECRET' } }));
    expect(c.seen.at(-1)).toMatch(/"ok":false,"message":"Haier rejected the client credentials .*: check the config's HAIER_CLIENT_ID and HAIER_PREPROD_CLIENT_SECRET \(and the config's token_url\)"/);
    await c.call(good.client.checkAuth({ account: { baseUrl: sim.url, clientSecretEnv: 'HAIER_CLIENT_SECRET' } }));
    // revoked token and stray 401s (recovered), persistent 401s, server faults, bad requests
    sim.control.revokeTokens();
    await c.call(good.client.getPrices({ productCodes: codes.slice(0, 2) }));
    sim.control.faults({ fail401Next: 50 });
    await c.call(good.client.getBalance({}));
    sim.control.faults({ fail401Next: 0, failNext: { status: 503, count: 10 } });
    await c.call(good.client.getStock({ productCode: codes[1]!, countyCode: '110101' }));
    sim.control.faults({ failNext: { status: 400, count: 1 } });
    await c.call(good.client.getPrices({ productCodes: codes.slice(0, 1) }));
    sim.control.clearFaults();
    // bad client secret: token refused (calls, CheckAuth, health)
    await c.call(badSecret.client.getPrices({ productCodes: codes.slice(0, 1) }));
    await c.call(badSecret.client.checkAuth({}));
    // wrong passwords: Haier's business errors on every endpoint
    await c.call(badPasswords.client.getPrices({ productCodes: codes.slice(0, 1) }));
    await c.call(badPasswords.client.getProducts({ productCodes: codes.slice(0, 1) }));
    await c.call(badPasswords.client.getStock({ productCode: codes[0]!, countyCode: '110101' }));
    await c.call(badPasswords.client.getStocks({ queries: [{ productCode: codes[0]!, countyCode: '110101' }] }));
    await c.call(badPasswords.client.getBalance({}));

    const tokens = [good, badPasswords].map((g) => g.gw.client.tokens.peek()?.value).filter((t): t is string => !!t);
    expect(tokens.length).toBe(2);
    const forbidden = [...Object.values(SECRETS), ...Object.values(WRONG), PREPROD_SECRET, ...tokens];

    const logs = [good, badSecret, badPasswords].map((g) => g.logs.text()).join('\n');
    const spans = JSON.stringify(
      tracing.spans().map((s) => ({ name: s.name, attributes: s.attributes, status: s.status, events: s.events, links: s.links })),
    );
    const answers = c.seen.join('\n');

    // the material is really there: failures happened and were logged, traced and answered
    expect(tracing.spans().length).toBeGreaterThanOrEqual(c.seen.length);
    expect(answers).toMatch(/check HAIER_CLIENT_ID and HAIER_CLIENT_SECRET/);
    expect(answers).toMatch(/"ok":true,"message":"Haier issued an access token for the config's client at 127\.0\.0\.1:\d+/);
    expect(answers).toMatch(/check HAIER_PASSWORD/);
    expect(answers).toMatch(/check HAIER_SELLER_PASSWORD/);
    expect(answers).toMatch(/check HAIER_CUSTOMER_PASSWORD/);
    expect(logs).toMatch(/upstream call failed/);
    expect(spans).toMatch(/Unauthenticated: Haier rejected/);
    expect(spans).toMatch(/FailedPrecondition: Haier refused the call/);
    for (const secret of forbidden) {
      expect({ secret, inLogs: logs.includes(secret) }).toEqual({ secret, inLogs: false });
      expect({ secret, inSpans: spans.includes(secret) }).toEqual({ secret, inSpans: false });
      expect({ secret, inAnswers: answers.includes(secret) }).toEqual({ secret, inAnswers: false });
    }
    // request bodies are logged, with the secret fields masked
    expect(good.logs.lines()).toContainEqual(
      expect.objectContaining({ upstream: 'prices', request: expect.objectContaining({ passWord: '[REDACTED]', customerCode: '8800633175' }) }),
    );
  });
});

describe('every upstream call is logged and counted', () => {
  let sim: SimHandle;
  let g: GatewayUnderTest;
  beforeAll(async () => {
    sim = await startSimulator({ quiet: true, size: 100, rateLimit: 0 });
    g = await startGateway(sim.url, { HAIER_RATE_LIMIT: '1000', HAIER_TIMEOUT_MS: '2000' });
  });
  afterAll(async () => {
    await g.close();
    await sim.close();
  });

  it('GetUsage, the log and the simulator agree call for call, outcome for outcome', async () => {
    const codes = sim.control.products(0, 45).map((p) => p.productCode);
    const ignore = (p: Promise<unknown>) => p.catch(() => undefined);
    await g.client.getPrices({ productCodes: codes }); // 3 calls + the token
    await g.client.getProducts({ productCodes: codes.slice(0, 20) });
    await g.client.getStocks({ queries: codes.slice(0, 4).map((productCode) => ({ productCode, countyCode: '110101' })) });
    await g.client.getBalance({});
    await g.client.getLogistics({ orderCode: 'SO.20190106.000003' });
    sim.control.faults({ failNext: { status: 500, count: 2, endpoint: 'prices' } });
    await g.client.getPrices({ productCodes: codes.slice(0, 5) });
    sim.control.faults({ failNext: { status: 503, count: 1, endpoint: 'stock' } });
    await g.client.getStock({ productCode: codes[0]!, countyCode: '110101' });
    sim.control.faults({ failNext: { status: 400, count: 1, endpoint: 'products' } });
    await ignore(g.client.getProducts({ productCodes: codes.slice(0, 1) }));
    sim.control.faults({ fail401Next: 1 });
    await g.client.getBalance({});
    sim.control.faults({ businessErrorRate: 1 });
    await ignore(g.client.getBalance({}));
    sim.control.clearFaults();
    sim.control.revokeTokens();
    await g.client.getPrices({ productCodes: codes.slice(0, 1) });

    const usage = await g.client.getUsage({});
    const simStats = sim.control.stats();
    const gwCounts: Record<string, Record<string, number>> = {};
    for (const e of usage.endpoints) (gwCounts[e.endpoint] ??= {})[e.outcome] = Number(e.calls);
    expect(gwCounts).toEqual(simStats.byEndpoint); // token requests included (endpoint "token")
    expect(gwCounts['token']).toEqual({ ok: simStats.tokenRequests });
    expect(Number(usage.tokenRequests)).toBe(simStats.tokenRequests);
    expect(simStats.tokenRequests).toBe(3); // first, after the forced 401, after the revocation
    expect(Number(usage.totalCalls)).toBe(simStats.total + simStats.tokenRequests);
    expect(Number(usage.retries)).toBe(3); // two 500s and one 503 (the 401 retries are not back-off retries)

    // one log line per exchange, each naming endpoint, outcome and duration
    const lines = g.logs.lines().filter((l) => l['msg'] === 'upstream call' || l['msg'] === 'upstream call failed');
    expect(lines).toHaveLength(Number(usage.totalCalls));
    for (const l of lines) expect(l).toEqual(expect.objectContaining({ upstream: expect.any(String), outcome: expect.any(String), durationMs: expect.any(Number), attempt: expect.any(Number) }));
    expect(lines.filter((l) => l['outcome'] === 'fault_500')).toHaveLength(2);
    expect(lines.filter((l) => l['level'] === 'warn' && l['upstream'] === 'products' && l['outcome'] === 'bad_request')).toHaveLength(1);
  });
});
