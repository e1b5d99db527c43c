// Pure domain modules of the edge: API keys, role ranks, audit sanitizing, error mapping,
// config masking and code lists.
import { inputProblem, MAX_JSON_DEPTH } from '../src/domain/input-check';
import { Code, ConnectError } from '@connectrpc/connect';
import { rules } from '@haier-sync/contracts';
import { invalidArgument, registerSecret } from '@haier-sync/runtime';
import { displayPrefix, generateApiKey, hashApiKey, isWellFormedKey, keyFromHeaders, roleAllows } from '../src/domain/api-keys';
import { EdgeError, mapError, mapValidationError } from '../src/domain/errors';
import { REMOVED, sanitizeParams, storable } from '../src/domain/sanitize';
import { maskSettings, MASK } from '../src/routes/configs';
import { parseCodes } from '../src/routes/live';

describe('api keys', () => {
  test('generated keys are well formed, distinct, and only their sha256 is kept', () => {
    const keys = new Set(Array.from({ length: 200 }, () => generateApiKey()));
    expect(keys.size).toBe(200);
    for (const k of keys) expect(isWellFormedKey(k)).toBe(true);
    const k = [...keys][0]!;
    expect(hashApiKey(k)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashApiKey(k)).not.toContain(k.slice(3, 12));
    expect(displayPrefix(k)).toBe(`${k.slice(0, 7)}…`);
    expect(isWellFormedKey('hs_short')).toBe(false);
    expect(isWellFormedKey(`${k} `)).toBe(false);
  });

  test('roles rank viewer < operator < admin', () => {
    expect(roleAllows('admin', 'viewer')).toBe(true);
    expect(roleAllows('operator', 'operator')).toBe(true);
    expect(roleAllows('operator', 'admin')).toBe(false);
    expect(roleAllows('viewer', 'operator')).toBe(false);
  });

  test('the key comes from Authorization: Bearer or X-API-Key', () => {
    expect(keyFromHeaders({ authorization: 'Bearer hs_abc' })).toBe('hs_abc');
    expect(keyFromHeaders({ authorization: 'bearer   hs_abc  ' })).toBe('hs_abc');
    expect(keyFromHeaders({ 'x-api-key': ' hs_xyz ' })).toBe('hs_xyz');
    expect(keyFromHeaders({})).toBeUndefined();
    expect(keyFromHeaders({ 'x-api-key': '   ' })).toBeUndefined();
  });
});

describe('audit sanitizing', () => {
  test('secret-named fields are removed and key-looking values masked, at any depth', () => {
    const key = generateApiKey();
    const out = sanitizeParams({
      query: { product_codes: 'A,B', token: 'abc' },
      body: { settings: { client_secret: 's3cr3t', password: 'p', client_secret_env: 'HAIER_CLIENT_SECRET', note: `my key is ${key}` } },
    });
    const text = JSON.stringify(out);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain(key);
    expect(out).toEqual({
      query: { product_codes: 'A,B', token: REMOVED },
      body: { settings: { client_secret: REMOVED, password: REMOVED, client_secret_env: 'HAIER_CLIENT_SECRET', note: `my key is ${REMOVED}` } },
    });
  });

  test('registered secrets are redacted from values; sizes are bounded', () => {
    registerSecret('a-registered-secret-value');
    const out = sanitizeParams({ query: { q: 'x a-registered-secret-value y', long: 'z'.repeat(5000), list: Array.from({ length: 500 }, (_, i) => i) } });
    const text = JSON.stringify(out);
    expect(text).not.toContain('a-registered-secret-value');
    expect(text.length).toBeLessThan(2000);
    expect(sanitizeParams({ query: {}, params: undefined })).toEqual({});
  });
});

describe('audit storability', () => {
  test('NUL and lone surrogates become U+FFFD, in values and names; pairs and the rest stay', () => {
    expect(storable('a\u0000b')).toBe('a\uFFFDb');
    expect(storable('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz');
    expect(storable('冰箱 😀 ok')).toBe('冰箱 😀 ok');
    expect(sanitizeParams({ query: { 'k\u0000': 'v\uD83D' } })).toEqual({ query: { 'k\uFFFD': 'v\uFFFD' } });
    // cutting a long value must not leave half a surrogate pair behind
    const cut = sanitizeParams({ query: { q: `${'a'.repeat(199)}😀😀` } }) as { query: { q: string } };
    expect(cut.query.q.startsWith(`${'a'.repeat(199)}\uFFFD…`)).toBe(true);
  });
});

describe('error mapping', () => {
  test('Connect codes map to fitting HTTP statuses, never 500', () => {
    const cases: Array<[Code, number]> = [
      [Code.InvalidArgument, 400],
      [Code.NotFound, 404],
      [Code.AlreadyExists, 409],
      [Code.FailedPrecondition, 409],
      [Code.Unauthenticated, 502],
      [Code.PermissionDenied, 502],
      [Code.Unavailable, 503],
      [Code.ResourceExhausted, 503],
      [Code.DeadlineExceeded, 504],
      [Code.Internal, 502],
      [Code.Unknown, 502],
    ];
    for (const [code, status] of cases) {
      const m = mapError(new ConnectError('boom', code), 'catalog');
      expect([Code[code], m.status]).toEqual([Code[code], status]);
      expect(m.body.success).toBe(false);
      expect(m.body.error.message.length).toBeGreaterThan(3);
    }
  });

  test('INVALID_ARGUMENT from a service keeps the field it names', () => {
    const m = mapError(invalidArgument('not a cursor', 'cursor'), 'catalog');
    expect(m).toMatchObject({ status: 400, body: { error: { code: 'INVALID_ARGUMENT', field: 'cursor' } } });
  });

  test('throttling upstream carries Retry-After', () => {
    const e = new ConnectError('budget', Code.ResourceExhausted, { 'retry-after': '7' });
    expect(mapError(e, 'gateway').retryAfter).toBe(7);
  });

  test('validation errors name the field; client faults stay 4xx; only unknown errors are 500', () => {
    expect(mapValidationError([{ instancePath: '/scope/product_codes/3', keyword: 'pattern', message: 'must match pattern' }], 'body').body.error.field).toBe('scope.product_codes[3]');
    expect(mapValidationError([{ instancePath: '', keyword: 'required', params: { missingProperty: 'order_code' } }], 'querystring').body.error).toMatchObject({ field: 'order_code', message: 'query parameter order_code is required' });
    // a schema derived from the rulebook answers in the rulebook's words, as the gRPC services do
    const derived = { instancePath: '/scope/product_codes/0', keyword: 'pattern', message: 'must match pattern', parentSchema: { pattern: rules.productCode.pattern }, data: 'GA0 SZC00U' };
    expect(mapValidationError([derived], 'body').body.error).toMatchObject({ field: 'scope.product_codes[0]', message: `field scope.product_codes[0] ${rules.checkText(rules.productCode, 'GA0 SZC00U')}` });
    // run ids and config ids share a pattern: the schema's description tells which rule it is
    const configPath = { instancePath: '/id', keyword: 'pattern', message: 'must match pattern', parentSchema: rules.jsonSchema(rules.configId), data: 'abc' };
    expect(mapValidationError([configPath], 'params').body.error.message).toBe(`path parameter id ${rules.checkText(rules.configId, 'abc')}`);
    expect(rules.checkText(rules.configId, 'abc')).toContain('is not a config id');
    // another pattern says what a good value is, not the regular expression; an enum lists its values
    const sort = { instancePath: '/sort', keyword: 'pattern', message: 'must match pattern "^x$"', parentSchema: { pattern: '^x$', description: 'One of code, name; prefix "-" for descending' }, data: 'price;drop' };
    expect(mapValidationError([sort], 'querystring').body.error.message).toBe('query parameter sort "price;drop" is not valid: One of code, name; prefix "-" for descending');
    const status = { instancePath: '/status', keyword: 'enum', message: 'must be equal to one of the allowed values', params: { allowedValues: ['SUCCESS', 'FAILED'] }, data: 'SOMETIMES' };
    expect(mapValidationError([status], 'querystring').body.error.message).toBe('query parameter status "SOMETIMES" is not one of SUCCESS, FAILED');
    expect(mapError({ statusCode: 413, code: 'FST_ERR_CTP_BODY_TOO_LARGE', message: 'x' }).status).toBe(413);
    expect(mapError(new EdgeError(409, 'RUN_ACTIVE', 'busy', undefined, { runId: '7' })).body.error.run_id).toBe('7');
    expect(mapError(new TypeError('bug')).status).toBe(500);
  });
});

describe('config masking', () => {
  test('secret values are masked; env-var references and plain settings stay', () => {
    expect(
      maskSettings({ base_url: 'https://x', client_secret: 'abc', client_secret_env: 'HAIER_CLIENT_SECRET', nested: { password: 'p', token_url: 'https://t' }, list: [{ api_key: 'k' }], empty_secret: '' }),
    ).toEqual({ base_url: 'https://x', client_secret: MASK, client_secret_env: 'HAIER_CLIENT_SECRET', nested: { password: MASK, token_url: 'https://t' }, list: [{ api_key: MASK }], empty_secret: '' });
    // an *_env key holding something that is not a variable name is treated as a secret
    expect(maskSettings({ password_env: 'hunter2 literally' })).toEqual({ password_env: MASK });
    // a URL carrying credentials is masked
    expect(maskSettings({ token_url: 'https://user:pw@t.example/oauth' })).toEqual({ token_url: MASK });
  });
});

describe('code lists', () => {
  test('comma-separated codes are trimmed, de-duplicated and validated with the field named', () => {
    expect(parseCodes(' A1, B2,,A1 ', 'product_codes', false)).toEqual(['A1', 'B2']);
    expect(parseCodes(undefined, 'product_codes', false)).toEqual([]);
    expect(() => parseCodes('', 'product_codes', true)).toThrow(/at least one/);
    expect(() => parseCodes('ok,bad code', 'product_codes', false)).toThrow('"bad code" is not a Haier product code');
    expect(() => parseCodes('ok,bad code', 'product_codes', false)).toThrow(expect.objectContaining({ field: 'product_codes[1]' }));
    expect(() => parseCodes(Array.from({ length: 1001 }, (_, i) => `C${i}`).join(','), 'product_codes', false)).toThrow(/1001 items, more than the 1000 allowed/);
  });
});

describe('edge configuration', () => {
  test('the key cache setting is no secret (old name accepted); the bootstrap key is one', () => {
    const { loadEdgeConfig } = require('../src/config') as typeof import('../src/config');
    const { redact } = require('@haier-sync/runtime') as typeof import('@haier-sync/runtime');
    const base = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/x', EDGE_BOOTSTRAP_ADMIN_KEY: 'hs_ConfigTestBootstrapKey0123456789abcdefXYZ' };
    expect(loadEdgeConfig({ ...base, EDGE_KEY_CACHE_MS: '61234' }).keyCacheMs).toBe(61234);
    expect(loadEdgeConfig({ ...base, EDGE_AUTH_CACHE_MS: '5', EDGE_KEY_CACHE_MS: '61234' }).keyCacheMs).toBe(5);
    expect(loadEdgeConfig(base).keyCacheMs).toBe(2000);
    expect(redact('cache 61234 ms')).toBe('cache 61234 ms');
    expect(redact('key hs_ConfigTestBootstrapKey0123456789abcdefXYZ')).not.toContain('ConfigTestBootstrapKey');
    expect(() => loadEdgeConfig({ ...base, EDGE_KEY_CACHE_MS: 'soon' })).toThrow(/EDGE_KEY_CACHE_MS/);
  });
});

describe('inputProblem: what the schemas cannot say', () => {
  test('NUL, lone surrogates (values and keys), depth and non-finite numbers, with the field named', () => {
    expect(inputProblem({ q: 'a\u0000b' })).toMatchObject({ field: 'q' });
    expect(inputProblem({ scope: { product_codes: ['A', 'B\ud800'] } })).toMatchObject({ field: 'scope.product_codes[1]' });
    expect(inputProblem({ settings: { 'k\u0000': 1 } })).toMatchObject({ field: 'settings' });
    expect(inputProblem({ limit: Infinity })).toMatchObject({ field: 'limit' });
    let deep: unknown = 'x';
    for (let i = 0; i < 200; i++) deep = { a: deep };
    const found = inputProblem({ settings: deep });
    expect(found?.field).toMatch(/^settings(\.a)+$/);
    expect(found?.problem).toContain(`${MAX_JSON_DEPTH} levels`);
    expect(inputProblem({ q: '海尔 😀', settings: { a: { b: [1, 'ok'] } } })).toBeUndefined();
  });
});
