import { z } from 'zod';
import { ConfigError, env, loadConfig, redact } from '../src/index';

const schema = z.object({
  CATALOG_PORT: env.port('CATALOG_PORT', 50052),
  HAIER_RATE_LIMIT: env.positiveInt(100),
  HAIER_BASE_URL: env.url(),
  HAIER_PASSWORD: env.string(),
  FEATURE_X: env.bool(false),
  SCOPES: env.csv(['a']),
  LOG_LEVEL: env.logLevel(),
});

const good = { HAIER_BASE_URL: 'http://127.0.0.1:9090', HAIER_PASSWORD: 'hunter2-config' };

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies defaults and parses values', () => {
    const cfg = loadConfig(schema, { ...good, FEATURE_X: 'YES', SCOPES: ' x, ,y ' });
    expect(cfg).toEqual({
      CATALOG_PORT: 50052,
      HAIER_RATE_LIMIT: 100,
      HAIER_BASE_URL: 'http://127.0.0.1:9090',
      HAIER_PASSWORD: 'hunter2-config',
      FEATURE_X: true,
      SCOPES: ['x', 'y'],
      LOG_LEVEL: 'info',
    });
  });

  it('treats an empty variable as unset (default applies)', () => {
    expect(loadConfig(schema, { ...good, HAIER_RATE_LIMIT: '' }).HAIER_RATE_LIMIT).toBe(100);
  });

  it('names the bad variable, what was wrong, the value and what to do', () => {
    const e = configError(() => loadConfig(schema, { ...good, HAIER_RATE_LIMIT: 'abc' }));
    expect(e.message).toBe(
      'Invalid configuration: HAIER_RATE_LIMIT: expected a positive integer, got "abc". Set it in the environment (see README, Configuration).',
    );
    expect(e.variables).toEqual(['HAIER_RATE_LIMIT']);
  });

  it('names every bad variable at once, including missing required ones', () => {
    const e = configError(() => loadConfig(schema, { CATALOG_PORT: '70000', FEATURE_X: 'maybe' }));
    expect(e.variables.sort()).toEqual(['CATALOG_PORT', 'FEATURE_X', 'HAIER_BASE_URL', 'HAIER_PASSWORD']);
    expect(e.message).toContain('CATALOG_PORT: expected a TCP port number 0-65535');
    expect(e.message).toContain('got "70000"');
    expect(e.message).toContain('HAIER_BASE_URL: is required');
    expect(e.message).toContain('but it is not set');
    expect(e.message).toContain('FEATURE_X: expected true or false, got "maybe"');
    expect(e.message).toMatch(/Set them in the environment/);
  });

  it('never echoes the value of a secret-looking variable, and registers it for redaction', () => {
    const s = z.object({ HAIER_CLIENT_SECRET: env.positiveInt(), API_KEY: env.url(), HAIER_TOKEN_TTL: env.positiveInt(1) });
    const e = configError(() => loadConfig(s, { HAIER_CLIENT_SECRET: 'very-secret-value-1', API_KEY: 'sk_live_zz9', HAIER_TOKEN_TTL: 'x' }));
    expect(e.message).not.toContain('very-secret-value-1');
    expect(e.message).not.toContain('sk_live_zz9');
    expect(e.message).toContain('HAIER_CLIENT_SECRET: expected a positive integer, got (value hidden)');
    expect(e.message).toContain('API_KEY: expected an absolute URL such as http://host:port, got (value hidden)');
    expect(e.message).toContain('HAIER_TOKEN_TTL: expected a positive integer, got "x"');
    expect(redact('login with very-secret-value-1')).toBe('login with [REDACTED]');
  });

  it('durations: 90s, 5m, 1h, 500ms, a bare number of seconds; the default when unset; anything else named', () => {
    const d = z.object({ SYNC_DEPENDENCY_PATIENCE: env.durationMs(300_000) });
    const ms = (v?: string) => loadConfig(d, v === undefined ? {} : { SYNC_DEPENDENCY_PATIENCE: v }).SYNC_DEPENDENCY_PATIENCE;
    expect([ms(), ms('90s'), ms('5m'), ms('1h'), ms('500ms'), ms('45'), ms(' 2M ')]).toEqual([300_000, 90_000, 300_000, 3_600_000, 500, 45_000, 120_000]);
    for (const bad of ['5 minutes', '-5s', '0', '1.5m']) {
      expect(configError(() => ms(bad)).message).toContain('SYNC_DEPENDENCY_PATIENCE: expected a duration such as 90s, 5m, 1h or 7d (a bare number is seconds)');
    }
  });

  it('an optional port (<SERVICE>_METRICS_PORT): unset or empty is off, 1-65535 is a port, anything else is named', () => {
    const s = z.object({ GATEWAY_METRICS_PORT: env.optionalPort('GATEWAY_METRICS_PORT') });
    expect(loadConfig(s, {}).GATEWAY_METRICS_PORT).toBeUndefined();
    expect(loadConfig(s, { GATEWAY_METRICS_PORT: ' ' }).GATEWAY_METRICS_PORT).toBeUndefined();
    expect(loadConfig(s, { GATEWAY_METRICS_PORT: '9464' }).GATEWAY_METRICS_PORT).toBe(9464);
    for (const bad of ['0', '70000', 'metrics']) {
      const e = configError(() => loadConfig(s, { GATEWAY_METRICS_PORT: bad }));
      expect(e.message).toBe(
        `Invalid configuration: GATEWAY_METRICS_PORT: expected a TCP port number 1-65535 for GATEWAY_METRICS_PORT (or leave it unset to turn it off), got "${bad}". Set it in the environment (see README, Configuration).`,
      );
    }
  });

  it('works with plain zod schemas too', () => {
    const s = z.object({ MODE: z.enum(['full', 'delta']), NAME: z.string().default('x') });
    expect(loadConfig(s, { MODE: 'full' })).toEqual({ MODE: 'full', NAME: 'x' });
    const e = configError(() => loadConfig(s, {}));
    expect(e.message).toContain('MODE: is required, but it is not set');
  });
});
