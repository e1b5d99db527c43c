// Haier configs over real gRPC (the config RPCs of SyncService) with real Postgres and a real
// gateway process in front of the simulator: CRUD, one active, secrets only as env-var names,
// activation (and new settings on the active config) start a FULL run, test = does it authenticate.
import { Code, type Client } from '@connectrpc/connect';
import { sync } from '@haier-sync/contracts';
import { createGrpcClient, createLogger, FIELD_HEADER, startGrpcServer, type GrpcServer } from '@haier-sync/runtime';
import { createTestDatabase, rpcFailure, startGatewayProcess, type GatewayProcess, type TestDatabase } from '@haier-sync/runtime/testing';
import { gatewayAccountEnv, startSimulator } from '@haier-sync/haier-sim';
import type { MikroORM } from '@mikro-orm/postgresql';
import { ACTOR_HEADER, configHandlers } from '../src/configs';
import { recordingStartRun, type RecordingStartRun } from './support/fake-start-run';
import { syncOrm } from './support/sync-db';

jest.setTimeout(180_000);

type SimHandle = Awaited<ReturnType<typeof startSimulator>>;
const SIM_ACCOUNT = gatewayAccountEnv();
const WRONG_SECRET = 'wrong-secret-Zq81xK';

let db: TestDatabase;
let orm: MikroORM;
let sim: SimHandle;
let good: GatewayProcess;
let bad: GatewayProcess;
let startRun: RecordingStartRun;
let server: GrpcServer;
let client: Client<typeof sync.SyncService>;
let badServer: GrpcServer;
let badClient: Client<typeof sync.SyncService>;

const logger = createLogger('configs-test', { level: 'silent' });

beforeAll(async () => {
  db = await createTestDatabase('hs_sync_configs');
  sim = await startSimulator({ quiet: true, size: 50, seed: 7 });
  [orm, good, bad] = await Promise.all([
    syncOrm(db.url),
    // a second account's secret in the gateway's environment, as a pre-production one would be
    startGatewayProcess(sim.url, { env: { ...SIM_ACCOUNT, HAIER_PREPROD_CLIENT_SECRET: WRONG_SECRET } }),
    startGatewayProcess(sim.url, { env: { ...SIM_ACCOUNT, HAIER_CLIENT_SECRET: WRONG_SECRET } }),
  ]);
  startRun = recordingStartRun();
  server = await startGrpcServer({
    service: 'sync',
    port: 0,
    host: '127.0.0.1',
    logger,
    routes: (r) => r.service(sync.SyncService, configHandlers({ orm, gateway: good.client, startRun, logger, counties: ['110101'] })),
  });
  client = createGrpcClient(sync.SyncService, { baseUrl: server.url });
  badServer = await startGrpcServer({
    service: 'sync',
    port: 0,
    host: '127.0.0.1',
    logger,
    routes: (r) => r.service(sync.SyncService, configHandlers({ orm, gateway: bad.client, startRun, logger })),
  });
  badClient = createGrpcClient(sync.SyncService, { baseUrl: badServer.url });
});

afterAll(async () => {
  await server?.close(1000);
  await badServer?.close(1000);
  await Promise.all([good?.stop(), bad?.stop()]);
  await sim?.close();
  await orm?.close(true);
  await db?.drop();
});


const settings = (over: Record<string, unknown> = {}) => ({
  base_url: 'https://openapi.haier.example',
  token_url: 'https://openapi.haier.example/oauth2/auth',
  customer_code: '8800633175',
  supplier_code: '1001',
  client_id_env: 'HAIER_CLIENT_ID',
  client_secret_env: 'HAIER_CLIENT_SECRET',
  password_env: 'HAIER_PASSWORD',
  ...over,
});

describe('Haier configs', () => {
  test('create, get, list, update, delete; names unique; bad input is INVALID_ARGUMENT naming the field', async () => {
    const created = (await client.createConfig({ name: 'crud-test', environment: 'test', settings: settings() })).config!;
    expect(created.id).toBeGreaterThan(0n);
    expect(created.active).toBe(false);
    expect(created.settings).toEqual(settings());
    expect(created.createdAt).toBeDefined();

    expect((await client.getConfig({ id: created.id })).config?.name).toBe('crud-test');
    expect((await client.listConfigs({})).configs.map((c) => c.name)).toContain('crud-test');

    const dup = await rpcFailure(client.createConfig({ name: 'crud-test', environment: 'test', settings: settings() }));
    expect(dup.code).toBe(Code.AlreadyExists);
    expect(dup.rawMessage).toMatch(/already exists/);

    const badEnv = await rpcFailure(client.createConfig({ name: 'x-env', environment: 'staging', settings: {} }));
    expect(badEnv.code).toBe(Code.InvalidArgument);
    expect(badEnv.rawMessage).toMatch(/environment must be one of test, pre-production, production/);
    const badName = await rpcFailure(client.createConfig({ name: '  ', environment: 'test', settings: {} }));
    expect(badName.code).toBe(Code.InvalidArgument);
    expect(badName.rawMessage).toMatch(/^name: /);

    const badUrl = await rpcFailure(client.createConfig({ name: 'x-url', environment: 'test', settings: settings({ token_url: 'not a url' }) }));
    expect(badUrl.code).toBe(Code.InvalidArgument);
    expect(badUrl.rawMessage).toMatch(/^settings\.token_url: token_url must be an http\(s\) URL/);
    const credUrl = await rpcFailure(client.createConfig({ name: 'x-url2', environment: 'test', settings: settings({ base_url: 'https://user:pw@haier.example' }) }));
    expect(credUrl.code).toBe(Code.InvalidArgument);
    expect(credUrl.rawMessage).not.toContain('pw@');

    const updated = (await client.updateConfig({ id: created.id, name: '', environment: 'pre-production', settings: settings({ supplier_code: '88001234' }) })).config!;
    expect(updated.name).toBe('crud-test');
    expect(updated.environment).toBe('pre-production');
    expect(updated.settings?.supplier_code).toBe('88001234');

    await client.deleteConfig({ id: created.id });
    expect((await rpcFailure(client.getConfig({ id: created.id }))).code).toBe(Code.NotFound);
    expect((await rpcFailure(client.deleteConfig({ id: created.id }))).code).toBe(Code.NotFound);
    expect((await rpcFailure(client.getConfig({ id: 0n }))).code).toBe(Code.InvalidArgument);
    // nothing of this started a run
    expect(startRun.calls).toHaveLength(0);
  });

  // (a lone surrogate cannot arrive over gRPC: protobuf strings are UTF-8 on the wire, the client sends U+FFFD)
  test('a NUL anywhere (settings values and keys, name) is INVALID_ARGUMENT naming the field, before any statement', async () => {
    const before = (await client.listConfigs({})).configs.length;
    for (const [req, field] of [
      [{ name: 'nul-value', environment: 'test', settings: settings({ customer_code: 'x\u0000y' }) }, 'settings.customer_code'],
      [{ name: 'nul-nested', environment: 'test', settings: settings({ extra: { note: ['ok', 'a\u0000'] } }) }, 'settings.extra.note[1]'],
      [{ name: 'nul-key', environment: 'test', settings: settings({ 'k\u0000': 'v' }) }, 'settings'],
      [{ name: 'nul\u0000name', environment: 'test', settings: settings() }, 'name'],
    ] as const) {
      const e = await rpcFailure(client.createConfig(req as never));
      expect([field, e.code]).toEqual([field, Code.InvalidArgument]);
      expect(e.metadata.get(FIELD_HEADER)).toBe(field);
      expect(e.rawMessage).toContain('cannot be stored');
    }
    expect((await client.listConfigs({})).configs.length).toBe(before);
  });

  test('secrets only by environment-variable name: a literal secret is refused without echoing it, and never stored', async () => {
    const literal = 'S3cr3t-Literal-Value';
    const e = await rpcFailure(client.createConfig({ name: 'leaky', environment: 'production', settings: settings({ client_secret: literal }) }));
    expect(e.code).toBe(Code.InvalidArgument);
    expect(e.rawMessage).toContain('client_secret');
    expect(e.rawMessage).toContain('"client_secret_env"');
    expect(e.rawMessage).not.toContain(literal);
    // nested and camelCase too
    const nested = await rpcFailure(client.createConfig({ name: 'leaky2', environment: 'production', settings: { account: { sellerPassword: literal } } }));
    expect(nested.code).toBe(Code.InvalidArgument);
    expect(nested.rawMessage).toContain('account.sellerPassword');
    expect(nested.rawMessage).toContain('"sellerPasswordEnv"');
    expect(nested.rawMessage).not.toContain(literal);
    // an *_env key must hold a variable name, not a value
    const value = await rpcFailure(client.createConfig({ name: 'leaky3', environment: 'production', settings: { password_env: 'my password!' } }));
    expect(value.code).toBe(Code.InvalidArgument);
    expect(value.rawMessage).not.toContain('my password!');
    const rows = await orm.em.getConnection().execute<{ n: string }[]>(`select count(*)::text as n from sync.haier_configs where settings::text like ?`, [`%${literal}%`]);
    expect(rows[0]?.n).toBe('0');

    // a secret-looking literal that reached the table some other way is masked in every answer
    await orm.em.getConnection().execute(`insert into sync.haier_configs (name, environment, settings) values ('legacy', 'test', ?::jsonb)`, [JSON.stringify({ passWord: literal, customer_code: '1' })]);
    const listed = (await client.listConfigs({})).configs.find((c) => c.name === 'legacy')!;
    expect(listed.settings).toEqual({ passWord: '********', customer_code: '1' });
    expect(JSON.stringify((await client.getConfig({ id: listed.id })).config?.settings)).not.toContain(literal);
    await client.deleteConfig({ id: listed.id });
  });

  test('one active config; activating a different one starts a FULL run (CONFIG_CHANGE); re-activating does not', async () => {
    startRun.calls.length = 0;
    startRun.finishAll();
    const a = (await client.createConfig({ name: 'prod-a', environment: 'production', settings: settings() })).config!;
    const b = (await client.createConfig({ name: 'prod-b', environment: 'production', settings: settings({ customer_code: '8800000001' }) })).config!;

    const first = await client.activateConfig({ id: a.id }, { headers: { [ACTOR_HEADER]: 'alice' } });
    expect(first.config?.active).toBe(true);
    expect(first.triggeredRunId).toBe('run-1');
    expect(startRun.calls).toHaveLength(1);
    const req = startRun.calls[0]!;
    expect(req.mode).toBe(sync.RunMode.FULL);
    expect(req.trigger).toBe(sync.RunTrigger.CONFIG_CHANGE);
    expect(req.syncType).toBe(sync.SyncType.PRODUCTS);
    expect(req.options?.prices).toBe(true);
    expect(req.options?.countyCodes).toEqual(['110101']);
    expect(req.startedBy).toBe('alice');

    // the same config again: no change, no run
    const again = await client.activateConfig({ id: a.id });
    expect(again.triggeredRunId).toBe('');
    expect(startRun.calls).toHaveLength(1);

    // another config: a change -> FULL (the engine answers the active FULL while run-1 is going)
    startRun.finishAll();
    const second = await client.activateConfig({ id: b.id });
    expect(second.triggeredRunId).toBe('run-2');
    expect(startRun.calls).toHaveLength(2);
    expect(startRun.calls[1]!.trigger).toBe(sync.RunTrigger.CONFIG_CHANGE);
    expect(startRun.calls[1]!.startedBy).toBe('config:prod-b');
    const all = (await client.listConfigs({})).configs;
    expect(all.filter((c) => c.active).map((c) => c.name)).toEqual(['prod-b']);

    // the active config cannot be deleted
    const del = await rpcFailure(client.deleteConfig({ id: b.id }));
    expect(del.code).toBe(Code.FailedPrecondition);
    expect(del.rawMessage).toMatch(/activate another config before deleting it/);

    // new settings on the active config are a change of the active config; a rename is not
    await client.updateConfig({ id: b.id, name: 'prod-b2', environment: '', settings: undefined });
    expect(startRun.calls).toHaveLength(2);
    await client.updateConfig({ id: b.id, name: '', environment: '', settings: settings({ customer_code: '8800000002' }) });
    expect(startRun.calls).toHaveLength(3);
    expect(startRun.calls[2]!.trigger).toBe(sync.RunTrigger.CONFIG_CHANGE);
    // same settings in another key order: no change
    const same = Object.fromEntries(Object.entries(settings({ customer_code: '8800000002' })).reverse());
    await client.updateConfig({ id: b.id, name: '', environment: '', settings: same });
    expect(startRun.calls).toHaveLength(3);

    // two activations racing: still exactly one active row
    await Promise.all([client.activateConfig({ id: a.id }), client.activateConfig({ id: b.id }), client.activateConfig({ id: a.id })]);
    const actives = (await client.listConfigs({})).configs.filter((c) => c.active);
    expect(actives).toHaveLength(1);
  });

  test('activation stands but says so clearly when the FULL run cannot be started', async () => {
    const c = (await client.createConfig({ name: 'prod-c', environment: 'production', settings: settings() })).config!;
    startRun.failWith(new Error('the runs engine is not ready'));
    try {
      const e = await rpcFailure(client.activateConfig({ id: c.id }));
      expect(e.code).toBe(Code.FailedPrecondition);
      expect(e.rawMessage).toMatch(/config "prod-c" is now active, but the FULL sync it needs could not be started .*haier-sync sync --full/);
    } finally {
      startRun.failWith(undefined);
    }
    expect((await client.getConfig({ id: c.id })).config?.active).toBe(true);
  });

  test('test: does this config authenticate? The gateway asks Haier (the simulator) with the config\'s token URL and named secrets', async () => {
    const onSim = (over: Record<string, unknown> = {}) => settings({ base_url: sim.url, token_url: `${sim.url}/oauth2/auth`, ...over });
    const tokenRequests = async () => (await fetch(`${sim.url}/__sim/stats`).then((r) => r.json() as Promise<{ tokenRequests: number }>)).tokenRequests;

    // not active, and still tested on its own settings
    const c = (await client.createConfig({ name: 'auth-check', environment: 'test', settings: onSim() })).config!;
    const ok = await client.testConfig({ id: c.id });
    expect(ok).toMatchObject({ success: true });
    expect(ok.message).toMatch(/^config "auth-check": Haier issued an access token for the config's client at 127\.0\.0\.1:\d+; it expires in \d+ s$/);

    // the secret it names is the wrong one: Haier refuses, and the answer does not show it
    const pre = (await client.createConfig({ name: 'auth-preprod', environment: 'pre-production', settings: onSim({ client_secret_env: 'HAIER_PREPROD_CLIENT_SECRET' }) })).config!;
    const refused = await client.testConfig({ id: pre.id });
    expect(refused.success).toBe(false);
    expect(refused.message).toMatch(/^config "auth-preprod": /);
    expect(refused.message).not.toContain(WRONG_SECRET);

    // the same config through a gateway whose own secret is wrong still uses the named variable's
    const viaBad = await badClient.testConfig({ id: c.id });
    expect(viaBad.success).toBe(false);
    expect(viaBad.message).not.toContain(WRONG_SECRET);

    // what the gateway will not do, each said plainly, and nothing sent to Haier for it
    const before = await tokenRequests();
    const cases: Array<[string, ReturnType<typeof settings>, RegExp]> = [
      ['auth-unset', onSim({ client_secret_env: 'HAIER_NOT_SET_ANYWHERE' }), /HAIER_NOT_SET_ANYWHERE \(client_secret_env\) is not set in the gateway's environment/],
      ['auth-foreign-var', onSim({ client_secret_env: 'DATABASE_URL' }), /names "DATABASE_URL", but a config test reads only HAIER_\* variables/],
      ['auth-other-host', settings(), /does not send credentials to openapi\.haier\.example .*HAIER_ALLOWED_HOSTS/],
    ];
    for (const [name, s, why] of cases) {
      const cfg = (await client.createConfig({ name, environment: 'test', settings: s })).config!;
      const r = await client.testConfig({ id: cfg.id });
      expect({ name, success: r.success }).toEqual({ name, success: false });
      expect(r.message).toMatch(why);
    }
    expect(await tokenRequests()).toBe(before);

    expect((await rpcFailure(client.testConfig({ id: 999_999n }))).code).toBe(Code.NotFound);
  });
});
