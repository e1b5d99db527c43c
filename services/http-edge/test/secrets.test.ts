// Secrets stay secret: with distinctive values for the Haier client secret and the three account
// passwords (gateway and simulator), the Postgres password (every service's DATABASE_URL), the
// bootstrap admin key and API keys made through the API, the whole stack is exercised — configs
// (including one that tries to store a secret), live calls, catalog reads, pins, sync runs and
// their SSE, keys and audit, bad requests that carry secrets, and upstream failures (401s, 5xx,
// business errors, token refusals). No answer body or header, no log line or output of any
// service (the edge here, the others as processes), and no row the services stored contains any
// of the values.
import { startEdgeStack, type EdgeStack, type StackResponse } from './stack';

jest.setTimeout(300_000);

const SECRETS = {
  clientSecret: 'ClientSecret-7Qz9xK2mW4',
  password: 'PassWord-3Lp8vN1cR6',
  sellerPassword: 'SellerPw-9Hd2sT5yB0',
  customerPassword: 'CustomerPw-4Jf7kM3nX8',
  dbPassword: 'PgPassw0rd-6Tg1wE9qZ5',
  bootstrapKey: `hs_BootstrapAdminKey${'9x8Y7w6V5u4T3s2R'.repeat(2)}`,
  // values a client sends under secret-looking names the edge does not take (audited, never kept)
  pwd: 'PwdValue-8Ty3qL6vB1',
  privateKey: 'PrivateKeyValue-2Wm7xC4nJ9',
};

let stack: EdgeStack;
/** Every answer the test saw, with what it was for. */
const seen: Array<{ what: string; r: StackResponse }> = [];
/** Keys made through the API during the test: secrets too, after the one answer that shows them. */
const madeKeys: string[] = [];

async function call(what: string, method: string, path: string, opts: Parameters<EdgeStack['request']>[2] = {}): Promise<StackResponse> {
  const r = await stack.request(method, path, { key: SECRETS.bootstrapKey, ...opts });
  seen.push({ what, r });
  return r;
}

async function simControl(method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(`${stack.sim.url}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
  expect(res.status).toBe(200);
}

/** Every place a secret could leak to, as text, with a label. */
function exposures(): Array<{ where: string; text: string }> {
  const out: Array<{ where: string; text: string }> = [];
  for (const { what, r } of seen) {
    out.push({ where: `${what}: body`, text: r.text });
    const headers: string[] = [];
    r.headers.forEach((v, k) => headers.push(`${k}: ${v}`));
    out.push({ where: `${what}: headers`, text: headers.join('\n') });
  }
  out.push({ where: 'logs of edge, gateway, catalog and orchestrator', text: stack.logs.text() });
  out.push({ where: 'everything the gateway, catalog and orchestrator processes printed', text: stack.processOutput() });
  out.push({ where: 'printed by the edge at start', text: stack.printed.join('\n') });
  return out;
}

/** Every row of every table in the services' schemas, as text. */
async function storedRows(): Promise<string> {
  const tables = await stack.pg.query<{ s: string; t: string }>(
    `select table_schema as s, table_name as t from information_schema.tables where table_schema in ('edge', 'catalog', 'sync') and table_type = 'BASE TABLE'`,
  );
  expect(tables.rows.length).toBeGreaterThan(5);
  const parts: string[] = [];
  for (const { s, t } of tables.rows) {
    const rows = await stack.pg.query<{ j: string }>(`select coalesce(json_agg(x)::text, '') as j from "${s}"."${t}" x`);
    parts.push(rows.rows[0]?.j ?? '');
  }
  return parts.join('\n');
}

beforeAll(async () => {
  stack = await startEdgeStack({
    sim: {
      size: 120,
      credentials: { clientSecret: SECRETS.clientSecret, passWord: SECRETS.password, sellerPassword: SECRETS.sellerPassword, customerPassword: SECRETS.customerPassword },
    },
    gatewayEnv: {
      HAIER_CLIENT_SECRET: SECRETS.clientSecret,
      HAIER_PASSWORD: SECRETS.password,
      HAIER_SELLER_PASSWORD: SECRETS.sellerPassword,
      HAIER_CUSTOMER_PASSWORD: SECRETS.customerPassword,
    },
    dbPassword: SECRETS.dbPassword,
    edgeEnv: { EDGE_BOOTSTRAP_ADMIN_KEY: SECRETS.bootstrapKey },
  });
});

afterAll(async () => {
  await stack?.close();
});

test('no secret in any answer, header, log line or stored row, across configs, live calls, runs, keys, audit and failures', async () => {
  expect(stack.adminKey).toBe(SECRETS.bootstrapKey);

  // --- configs: by reference works; a literal secret is refused without being echoed
  const created = await call('create config', 'POST', '/api/haier/config/', {
    body: { name: 'secrets-check', environment: 'test', settings: { base_url: stack.sim.url, client_id: 'sim-client', client_secret_env: 'HAIER_CLIENT_SECRET', password_env: 'HAIER_PASSWORD', seller_password_env: 'HAIER_SELLER_PASSWORD', customer_password_env: 'HAIER_CUSTOMER_PASSWORD' } },
  });
  expect(created.status).toBe(201);
  const id = created.json.data.id as number;
  for (const [field, value] of [['client_secret', SECRETS.clientSecret], ['password', SECRETS.password], ['sellerPassword', SECRETS.sellerPassword], ['nested', { customer_password: SECRETS.customerPassword }]] as const) {
    const r = await call(`config with a literal ${field}`, 'POST', '/api/haier/config/', { body: { name: `leak-${field}`, environment: 'test', settings: { [field]: value } } });
    expect(r.status).toBe(400);
  }
  const put = await call('update config with a literal secret', 'PUT', `/api/haier/config/${id}/`, { body: { name: 'secrets-check', environment: 'test', settings: { client_secret: SECRETS.clientSecret } } });
  expect(put.status).toBe(400);
  expect((await call('list configs', 'GET', '/api/haier/config/')).status).toBe(200);
  expect((await call('get config', 'GET', `/api/haier/config/${id}/`)).status).toBe(200);
  const tested = await call('test config', 'POST', `/api/haier/config/${id}/test/`);
  expect(tested.status).toBe(200);
  expect(tested.json.success).toBe(true);

  // --- live calls, each recorded in the log
  const products = await call('live products', 'GET', '/api/haier/products/');
  expect(products.status).toBe(200);
  const codes = (products.json.data as Array<{ productCode: string }>).slice(0, 25).map((p) => p.productCode);
  expect(codes.length).toBeGreaterThan(20);
  expect((await call('live products by code', 'GET', `/api/haier/products/?product_codes=${codes.join(',')}`)).status).toBe(200);
  expect((await call('live prices', 'GET', `/api/haier/prices/?product_codes=${codes.join(',')}`)).status).toBe(200);
  expect((await call('live stock', 'GET', `/api/haier/stock/?product_code=${codes[0]}&county_code=110101`)).status).toBe(200);
  expect((await call('live balance', 'GET', '/api/haier/balance/')).status).toBe(200);
  expect((await call('live logistics', 'GET', '/api/haier/logistics/?order_code=SO.20190106.000003&member_id=42')).status).toBe(200);

  // --- a sync run, followed to its end, then catalog reads and a pin
  const run = await call('start a full sync', 'POST', '/api/haier/sync/', { body: { mode: 'FULL', options: { prices: true, stock: true, county_codes: ['110101'] } } });
  expect([202, 409]).toContain(run.status);
  const runId = (run.status === 202 ? run.json.data.id : run.json.error.run_id) as string;
  const sse = await fetch(`${stack.baseUrl}/api/haier/sync/${runId}/events/`, { headers: { authorization: `Bearer ${SECRETS.bootstrapKey}` } });
  const sseText = await sse.text();
  seen.push({ what: 'run events (SSE)', r: { status: sse.status, headers: sse.headers, text: sseText, json: undefined } });
  expect(sseText).toContain('event: end');
  expect((await call('catalog list', 'GET', '/api/haier/catalog/products/?page_size=10')).status).toBe(200);
  expect((await call('catalog product', 'GET', `/api/haier/catalog/products/${codes[1]}/`)).status).toBe(200);
  expect((await call('pin a price', 'PUT', `/api/haier/catalog/products/${codes[1]}/pinned-price/`, { body: { price: '1999.00' } })).status).toBe(200);
  expect((await call('sync one price', 'POST', `/api/haier/catalog/products/${codes[1]}/sync-price/`)).status).toBe(200);
  expect((await call('sync one stock', 'POST', `/api/haier/catalog/products/${codes[1]}/sync-stock/`, { body: { county_code: '110101' } })).status).toBe(200);
  expect((await call('run list', 'GET', '/api/haier/sync/')).status).toBe(200);
  expect((await call('sync log', 'GET', '/api/haier/logs/')).status).toBe(200);

  // --- keys: shown once at creation, then never again (not in lists, audit, logs)
  const k = await stack.request('POST', '/api/haier/keys/', { key: SECRETS.bootstrapKey, body: { name: 'secret-check-op', role: 'operator' } });
  expect(k.status).toBe(201);
  madeKeys.push(k.json.key as string);
  expect(madeKeys[0]).toMatch(/^hs_/);
  seen.push({ what: 'create key (headers only: the body shows the key once, by design)', r: { ...k, text: '' } });
  expect((await call('use the new key', 'GET', '/api/haier/catalog/brands/', { key: madeKeys[0] })).status).toBe(200);
  expect((await call('list keys', 'GET', '/api/haier/keys/')).status).toBe(200);
  expect((await call('revoke key', 'DELETE', '/api/haier/keys/secret-check-op/')).status).toBeLessThan(300);
  expect((await call('use the revoked key', 'GET', '/api/haier/catalog/brands/', { key: madeKeys[0] })).status).toBe(401);

  // --- bad requests that carry secrets: refused, not echoed. A value typed into a non-secret field
  // (a product code, a county) can only be masked by a service that holds it: Haier's secrets are
  // the gateway's alone (as deployed, each service in its own process), so these cases use the
  // edge's own bootstrap key.
  expect((await call('key in the query', 'GET', `/api/haier/logs/?api_key=${SECRETS.bootstrapKey}`)).status).toBe(400);
  expect((await call('password in the query', 'GET', `/api/haier/balance/?customerPassword=${SECRETS.customerPassword}`)).status).toBe(400);
  expect((await call('secret as a product code', 'GET', `/api/haier/prices/?product_codes=${encodeURIComponent(`${codes[0]},${SECRETS.bootstrapKey}!`)}`)).status).toBe(400);
  expect((await call('secret in a sync body', 'POST', '/api/haier/sync/', { body: { mode: 'FULL', password: SECRETS.password } })).status).toBe(400);
  expect((await call('secret as a county', 'GET', `/api/haier/stock/?product_code=${codes[0]}&county_code=${SECRETS.bootstrapKey}`)).status).toBe(400);
  // fields named pwd / private_key (the one list of secret names: isSecretName) are audited without their values
  expect((await call('pwd in a sync body', 'POST', '/api/haier/sync/', { body: { mode: 'FULL', pwd: SECRETS.pwd, nested: { private_key: SECRETS.privateKey } } })).status).toBe(400);
  expect((await call('private_key in the query', 'GET', `/api/haier/logs/?private_key=${SECRETS.privateKey}&pwd=${SECRETS.pwd}`)).status).toBe(400);
  expect((await call('pwd in a config body', 'POST', '/api/haier/config/', { body: { name: 'pwd-check', environment: 'test', settings: { pwd: SECRETS.pwd, private_key: SECRETS.privateKey } } })).status).toBe(400);
  expect((await call('wrong key that looks like one', 'GET', '/api/haier/logs/', { key: `${SECRETS.bootstrapKey.slice(0, -4)}AAAA` })).status).toBe(401);
  expect((await call('key as x-api-key to a wrong role', 'GET', '/api/haier/audit/', { key: null, headers: { 'x-api-key': stack.keys.viewer } })).status).toBe(403);

  // --- upstream failures: Haier refuses tokens and calls, fails, answers business errors
  await simControl('POST', '/__sim/revoke-tokens');
  expect((await call('after tokens were revoked', 'GET', `/api/haier/prices/?product_codes=${codes[2]}`)).status).toBe(200);
  await simControl('POST', '/__sim/faults', { fail401Next: 50 });
  const refused = await call('Haier answers 401 to everything', 'GET', `/api/haier/prices/?product_codes=${codes[3]}`);
  expect(refused.status).toBeGreaterThanOrEqual(500);
  expect((await call('config test while Haier refuses', 'POST', `/api/haier/config/${id}/test/`)).status).toBe(200);
  await simControl('DELETE', '/__sim/faults');
  await simControl('POST', '/__sim/faults', { rate500: 1 });
  const failing = await call('Haier fails', 'GET', '/api/haier/balance/');
  expect(failing.status).toBeGreaterThanOrEqual(500);
  await simControl('DELETE', '/__sim/faults');
  await simControl('POST', '/__sim/faults', { businessErrorRate: 1 });
  const business = await call('Haier answers success:false', 'GET', `/api/haier/stock/?product_code=${codes[4]}&county_code=110101`);
  expect(business.status).toBeGreaterThanOrEqual(400);
  await simControl('DELETE', '/__sim/faults');
  await simControl('POST', '/__sim/faults', { failNext: { status: 403, count: 20 } });
  const forbidden = await call('Haier forbids the account', 'GET', '/api/haier/balance/');
  expect(forbidden.status).toBe(502);
  await simControl('DELETE', '/__sim/faults');

  // --- the audit log, read back (after the edge wrote its buffer)
  await stack.flushAudit();
  const audit = await call('audit log', 'GET', '/api/haier/audit/?limit=1000');
  expect(audit.status).toBe(200);
  expect(audit.json.count).toBeGreaterThan(30);

  // the checks: every secret value, nowhere
  const values: Array<[string, string]> = [...Object.entries(SECRETS), ...madeKeys.map((key, i): [string, string] => [`made key ${i}`, key]), ...Object.entries(stack.keys).map(([role, key]): [string, string] => [`${role} key`, key])];
  const leaks: string[] = [];
  for (const { where, text } of exposures()) {
    for (const [name, value] of values) if (text.includes(value)) leaks.push(`${name} in ${where}`);
  }
  const rows = await storedRows();
  for (const [name, value] of values) if (rows.includes(value)) leaks.push(`${name} in a stored row`);
  expect(leaks).toEqual([]);
  // positive control: the scan sees real content (codes in answers and logs, the config in its row)
  expect(exposures().some((e) => e.text.includes(codes[0] as string))).toBe(true);
  // the lines where the values would have been are there, masked: the token request and a business call
  expect(stack.logs.text()).toContain('"client_secret":"[REDACTED]"');
  expect(stack.logs.text()).toContain('"passWord":"[REDACTED]"');
  expect(rows).toContain('secrets-check');
  // the audit rows of the pwd / private_key requests are there, with the fields and without the values
  const audited = await stack.pg.query<{ params: string }>(`select params::text as params from edge.audit_log where params::text like '%pwd%'`);
  expect(audited.rows.length).toBeGreaterThanOrEqual(2);
  for (const r of audited.rows) expect(r.params).toContain('[REMOVED]');

  // and the checks looked at something: answers, log lines of all four services, stored rows
  expect(seen.length).toBeGreaterThan(40);
  const services = new Set(stack.logs.lines().map((l) => String(l.service ?? l.name ?? '')));
  for (const s of ['http-edge', 'haier-gateway', 'catalog', 'sync-orchestrator']) expect([...services].some((x) => x.includes(s))).toBe(true);
  expect(stack.logs.lines().length).toBeGreaterThan(100);
  expect(rows.length).toBeGreaterThan(10_000);
});
