// One Haier account, three gateway processes (built, as deployed) sharing its budget through
// NATS KV, against the simulator in its strict mode (any sliding second, counted at arrival).
// Driven at 3x the limit for 24 s or more: Haier throttles nothing, no sliding second at the simulator
// holds more than the limit, when one gateway is killed the other two take up its share
// (>= 90% of the limit within 5 s), and when a replacement joins under load the others make room
// for it without the sum going over. The simulator runs as its own process too: in the test's
// process, the load this test generates would stall it and bunch up the arrivals it counts.
import { setMaxListeners } from 'node:events';
import { connect, type NatsConnection } from 'nats';
import { busiestWindow, gatewayAccountEnv, type SimProduct, type SimStats } from '@haier-sync/haier-sim';
import { freePort, REPO_ROOT, startAll, startGatewayProcess, startServiceProcess, TEST_NATS_URL, uniqueId, type GatewayProcess, type ServiceProcess } from '@haier-sync/runtime/testing';

async function simGet<T>(url: string, path: string, method = 'GET'): Promise<T> {
  const r = await fetch(`${url}/__sim${path}`, { method });
  if (!r.ok) throw new Error(`simulator ${method} ${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

const LIMIT = 100;
const DRIVE_MS = 24_000; // at least; longer while the replacement is not yet in (it starts 5 s after the kill: start-up takes seconds on a busy machine)
const KILL_AT_MS = 10_000;
const CODES_PER_RPC = 200; // 10 upstream calls (20 codes each)

describe('one budget across 3 gateway processes', () => {
  let sim: ServiceProcess;
  let nc: NatsConnection;
  let gws: GatewayProcess[] = [];
  const bucket = `hs_test_budget_${uniqueId()}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const shareChanges: string[] = [];
  const env = { ...gatewayAccountEnv(), HAIER_RATE_LIMIT: String(LIMIT), NATS_URL: TEST_NATS_URL, HAIER_BUDGET_BUCKET: bucket, HAIER_TIMEOUT_MS: '10000' };
  // each logs its share changes (info): 31 once all three are seen and busy; 46-47 after the kill
  const onLine = (i: number) => (line: string) => {
    if (line.includes('share of the Haier call budget')) shareChanges.push(`gw${i}: ${String((JSON.parse(line) as { share: number }).share)}`);
  };

  beforeAll(async () => {
    const port = await freePort();
    sim = await startServiceProcess({
      root: REPO_ROOT,
      dir: 'tools/haier-sim',
      port,
      env: { SIM_PORT: String(port), SIM_SIZE: '1000', SIM_RATE_LIMIT: String(LIMIT), SIM_RATE_LIMIT_MODE: 'sliding' },
      ready: (url) => simGet(url, '/config'),
    });
    nc = await connect({ servers: TEST_NATS_URL });

    gws = await startAll(...[0, 1, 2].map((i) => startGatewayProcess(sim.url, { env: { ...env, LOG_LEVEL: 'info' }, onLine: onLine(i) })));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(gws.map((g) => g.stop()));
    const jsm = await nc.jetstreamManager();
    await jsm.streams.delete(`KV_${bucket}`).catch(() => undefined);
    await nc.close();
    await sim.stop();
  }, 30_000);

  it(`3 gateways driven at 3x the limit (${3 * LIMIT}/s) for 24 s: 0 throttled, <= ${LIMIT} in every sliding second at Haier; one killed, the other two reach >= 90% within 5 s; a replacement joins under load`, async () => {
    const codes = (await simGet<{ products: SimProduct[] }>(sim.url, `/products?offset=0&limit=${CODES_PER_RPC}`)).products.map((p) => p.productCode);
    // warm: each holds a token and has settled its share (a newcomer waits a window and a heartbeat)
    await Promise.all(gws.map((g) => g.client.getPrices({ productCodes: codes.slice(0, 20) })));
    await new Promise((r) => setTimeout(r, 2500));
    const kv = await (await nc.jetstream().views.kv(bucket)).keys();
    const members: string[] = [];
    for await (const k of kv) members.push(k);
    expect(members).toHaveLength(3); // all three registered in the bucket
    await simGet(sim.url, '/stats/reset', 'POST');

    const abort = new AbortController();
    setMaxListeners(0, abort.signal); // one signal for every call of the drive
    const calls: Array<Promise<unknown>> = [];
    const t0 = Date.now();
    let killedAt = 0;
    let joinAsked = false;
    let joined: GatewayProcess | undefined;
    let joinedAt = 0;
    let sent = 0;
    const perSecondRpcs = (3 * LIMIT) / 10;
    for (;;) {
      const elapsed = Date.now() - t0;
      if (!killedAt && elapsed >= KILL_AT_MS) {
        await gws[2]!.kill(); // SIGKILL: no goodbye, its key expires
        killedAt = Date.now();
      }
      if (!joinAsked && killedAt && Date.now() - killedAt >= 5000) {
        joinAsked = true; // once the survivors' 5 s are over; started without waiting: the drive goes on meanwhile
        void startGatewayProcess(sim.url, { env: { ...env, LOG_LEVEL: 'info' }, onLine: onLine(3) }).then((g) => {
          joined = g;
          joinedAt = Date.now();
          gws.push(g); // stopped with the others
        });
      }
      const due = Math.floor((elapsed * perSecondRpcs) / 1000) + 1;
      const live = !killedAt ? gws : joined ? [gws[0]!, gws[1]!, joined] : gws.slice(0, 2);
      while (sent < due) {
        const g = live[sent % live.length]!;
        sent++;
        calls.push(g.client.getPrices({ productCodes: codes }, { signal: abort.signal }).catch(() => undefined));
      }
      // on until DRIVE_MS, and 4 s of the replacement's (it spends only once its membership held)
      if (elapsed >= DRIVE_MS && joinedAt && Date.now() - joinedAt >= 4000) break;
      if (elapsed >= 60_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const end = Date.now();
    abort.abort(); // the backlog (2/3 of what was offered) is not needed
    await Promise.all(calls);
    await new Promise((r) => setTimeout(r, 500));

    const stats = await simGet<SimStats>(sim.url, '/stats');
    const arrivals = (await simGet<{ arrivals: number[] }>(sim.url, `/arrivals?since=${t0}`)).arrivals;
    const during = (from: number, to: number) => arrivals.filter((t) => t >= from && t < to);
    const perSecond = (from: number, seconds: number) => Array.from({ length: seconds }, (_, i) => during(from + i * 1000, from + (i + 1) * 1000).length);
    const before = during(t0 + 3000, killedAt);
    const afterKill = during(killedAt, killedAt + 5000);
    const settled = during(killedAt + 5000, joinedAt || end);
    // eslint-disable-next-line no-console
    console.log(
      `shared budget: offered ${sent * 10} upstream calls in ${(end - t0) / 1000} s; Haier saw ${stats.total} (throttled ${stats.throttled}); busiest sliding second ${busiestWindow(arrivals)} (limit ${LIMIT}); ` +
        `3 replicas ${((before.length * 1000) / (killedAt - t0 - 3000)).toFixed(1)}/s; after the kill, per second: ${perSecond(killedAt, 5).join(', ')}; busiest second within 5 s ${busiestWindow(afterKill)}; ` +
        `then ${((settled.length * 1000) / ((joinedAt || end) - killedAt - 5000)).toFixed(1)}/s; a replacement ready ${((joinedAt - t0) / 1000).toFixed(1)} s in, then per second: ${joinedAt ? perSecond(joinedAt, Math.floor((end - joinedAt) / 1000)).join(', ') : '-'}; ` +
        `share changes ${shareChanges.join(', ')}`,
    );

    expect(sent * 10).toBeGreaterThanOrEqual((3 * LIMIT * (end - t0)) / 1000 - 10); // really offered 3x all along
    expect(stats.throttled).toBe(0);
    expect([...new Set(shareChanges.filter((c) => c.endsWith(': 47')))].sort()).toEqual(['gw0: 47', 'gw1: 47']); // the survivors took the dead one's share
    expect(joined).toBeDefined();
    expect(shareChanges).toContain('gw3: 31'); // the replacement took an equal share once busy, the others made room (0 throttled, busiest below)
    expect(busiestWindow(arrivals)).toBeLessThanOrEqual(LIMIT);
    expect(stats.maxObservedRps).toBeLessThanOrEqual(LIMIT);
    expect(busiestWindow(afterKill)).toBeGreaterThanOrEqual(0.9 * LIMIT);
  }, 120_000);
});
