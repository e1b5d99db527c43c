import { isSecretName, maskSecretSettings, SETTINGS_MASK } from '../src/index';

// The one secret-name rule: every service (logs, audit, configs, gateway) asks it, so its
// verdicts are the product's verdicts. A table keeps them visible.
const SECRET = [
  'secret', 'password', 'passwd', 'pwd', 'private_key', 'privateKey', 'token', 'access_token',
  'api_key', 'apikey', 'x-api-key', 'access_key', 'credential', 'client_secret', 'authorization',
  'HAIER_CLIENT_SECRET', 'EDGE_BOOTSTRAP_ADMIN_KEY', 'signingKey', 'auth', 'cookie',
];
const NOT_SECRET = [
  'password_env', 'client_secret_env', 'token_url', 'HAIER_TOKEN_TTL', 'token_ttl_seconds', 'token_type',
  'EDGE_KEY_CACHE_MS', 'product_code', 'county_code', 'base_url', 'author', 'monkey_business',
];

describe('isSecretName', () => {
  test.each(SECRET)('%s is a secret name', (name) => expect(isSecretName(name)).toBe(true));
  test.each(NOT_SECRET)('%s is not a secret name', (name) => expect(isSecretName(name)).toBe(false));
});

describe('maskSecretSettings', () => {
  test('masks values under secret names, keeps variable references, masks URLs with credentials and non-variable *_env values', () => {
    const masked = maskSecretSettings({
      base_url: 'https://b2b.example.com',
      client_id: 'shop-1',
      client_secret: 'literal-secret',
      password_env: 'HAIER_PASSWORD',
      token_env: 'not a variable name: s3cr3t',
      proxy: 'https://user:pw@proxy.example.com',
      nested: { pwd: 'x', timeout_ms: 500 },
      empty_secret: '',
    });
    expect(masked).toEqual({
      base_url: 'https://b2b.example.com',
      client_id: 'shop-1',
      client_secret: SETTINGS_MASK,
      password_env: 'HAIER_PASSWORD',
      token_env: SETTINGS_MASK,
      proxy: SETTINGS_MASK,
      nested: { pwd: SETTINGS_MASK, timeout_ms: 500 },
      empty_secret: '',
    });
  });
});
