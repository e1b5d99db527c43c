// The call budget's configuration: defaults, and a bad value stops the gateway with a message
// naming the variable (what it expects, what it got).
import { ConfigError } from '@haier-sync/runtime';
import { budgetFor } from '../src/budget';
import { loadGatewayConfig } from '../src/config';

const base = { HAIER_BASE_URL: 'http://127.0.0.1:9090' };

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadGatewayConfig({ ...base, ...env });
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('call budget configuration', () => {
  it('defaults: the whole account limit less 5%, no NATS (a single gateway), bucket haier_gateway_budget, 500 ms heartbeat', () => {
    const c = loadGatewayConfig(base);
    expect(c).toMatchObject({ HAIER_RATE_LIMIT: 100, HAIER_RATE_MARGIN_PCT: 5, HAIER_BUDGET_BUCKET: 'haier_gateway_budget', HAIER_BUDGET_HEARTBEAT_MS: 500 });
    expect(c.NATS_URL).toBeUndefined();
    expect(c.HAIER_LANES).toEqual({ interactive: { floorPct: 10, capPct: 50 }, scheduled: { floorPct: 10, capPct: 100 }, bulk: { floorPct: 20, capPct: 100 } });
    expect(budgetFor(c, undefined as never).limit()).toBe(95); // no NATS: nothing to log, nothing to share
    expect(budgetFor(loadGatewayConfig({ ...base, HAIER_RATE_LIMIT: '40', HAIER_RATE_MARGIN_PCT: '10' }), undefined as never).limit()).toBe(36);
  });

  it.each([
    [{ HAIER_RATE_MARGIN_PCT: '60' }, 'HAIER_RATE_MARGIN_PCT', /expected the percent of HAIER_RATE_LIMIT held back, 0 to 50 \(default 5\), got 60/],
    [{ HAIER_RATE_MARGIN_PCT: 'five' }, 'HAIER_RATE_MARGIN_PCT', /HAIER_RATE_MARGIN_PCT: expected a non-negative integer, got "five"/],
    [{ NATS_URL: 'http://nats:4222' }, 'NATS_URL', /NATS_URL: expected a NATS URL such as nats:\/\/nats:4222 \(or leave it unset for a single gateway\), got "http:\/\/nats:4222"/],
    [{ HAIER_BUDGET_BUCKET: 'a.b' }, 'HAIER_BUDGET_BUCKET', /HAIER_BUDGET_BUCKET: expected a NATS KV bucket name \(letters, digits, - and _\), got "a.b"/],
    [{ HAIER_BUDGET_HEARTBEAT_MS: '10' }, 'HAIER_BUDGET_HEARTBEAT_MS', /HAIER_BUDGET_HEARTBEAT_MS: expected 50 to 10000 ms \(default 500\), got 10/],
    [{ HAIER_LANES: 'bulk=90:100,interactive=20:50' }, 'HAIER_LANES', /HAIER_LANES: the floors add up to 120%, more than the whole budget/],
  ])('refuses %j, naming %s', (env, name, message) => {
    const e = refusal(env);
    expect(e.variables).toEqual([name]);
    expect(e.message).toMatch(message);
  });

  it('takes a NATS URL when several gateways share the account', () => {
    expect(loadGatewayConfig({ ...base, NATS_URL: 'nats://nats:4222' }).NATS_URL).toBe('nats://nats:4222');
  });
});
