// The service-token mechanism on a real gRPC server on loopback: what a forged, expired,
// misdirected or malformed token gets, how a policy table is checked at start, and what a
// missing key tells the operator. (Each service's own rpc-auth test covers its policy RPC by RPC.)
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { catalog, gateway } from '@haier-sync/contracts';
import { SignJWT } from 'jose';
import {
  closeGrpcClients,
  ConfigError,
  createGrpcClient,
  createLogger,
  grpcClientTlsFromEnv,
  grpcListenFromEnv,
  loadServiceCredentials,
  loadTrustedCallers,
  rpcPolicy,
  serviceCredentials,
  startGrpcServer,
  trustedCallers,
  type GrpcServer,
} from '../src/index';
import { ensureServiceKeys } from '../src/service-auth';

const dir = mkdtempSync(join(tmpdir(), 'hs-auth-unit-'));
const keys = ensureServiceKeys(dir, ['http-edge', 'sync-orchestrator']);
const trusted = loadTrustedCallers({ SERVICE_AUTH_TRUSTED_KEYS_DIR: keys.trustedDir });
const edge = loadServiceCredentials('http-edge', { SERVICE_AUTH_PRIVATE_KEY_FILE: keys.privateKeyFile['http-edge'] });
const policy = rpcPolicy(
  { 'haiersync.gateway.v1.HaierGatewayService': Object.fromEntries(gateway.HaierGatewayService.methods.map((m) => [m.name, m.name === 'GetUsage' ? ['http-edge'] : []])) },
  [gateway.HaierGatewayService],
);
let server: GrpcServer;

beforeAll(async () => {
  server = await startGrpcServer({
    service: 'test',
    port: 0,
    host: '127.0.0.1',
    logger: createLogger('test', { level: 'silent' }),
    auth: { trusted, policy },
    routes: (router) => router.service(gateway.HaierGatewayService, { getUsage: () => ({ totalCalls: 7n }) }),
  });
});
afterAll(async () => {
  closeGrpcClients();
  await server.close(1000);
});

/** GetUsage with this authorization header (undefined: none), as the code name and message it ended with. */
async function withHeader(authorization: string | undefined): Promise<{ code: string; message: string }> {
  const client = createClient(gateway.HaierGatewayService, createGrpcTransport({ baseUrl: server.url }));
  try {
    const r = await client.getUsage({}, { headers: authorization ? { authorization } : {} });
    return { code: 'OK', message: String(r.totalCalls) };
  } catch (err) {
    const ce = ConnectError.from(err);
    return { code: Code[ce.code]!, message: ce.rawMessage };
  }
}

it('answers a caller the policy lists, signing once per target service (the token is reused)', async () => {
  const client = createGrpcClient(gateway.HaierGatewayService, { baseUrl: server.url, credentials: edge });
  expect((await client.getUsage({})).totalCalls).toBe(7n);
  const t1 = await edge.token(gateway.HaierGatewayService.typeName);
  await client.getUsage({});
  expect(await edge.token(gateway.HaierGatewayService.typeName)).toBe(t1);
  expect(await edge.token(catalog.CatalogService.typeName)).not.toBe(t1);
});

it('refuses a missing, malformed, misdirected, forged, expired or unknown caller\'s token with UNAUTHENTICATED saying why', async () => {
  expect(await withHeader(undefined)).toEqual({ code: 'Unauthenticated', message: expect.stringContaining('needs a service token: send "authorization: Bearer <token>"') });
  expect(await withHeader('Basic abc')).toEqual({ code: 'Unauthenticated', message: expect.stringContaining('is not "Bearer <token>"') });
  expect(await withHeader('Bearer not.a.jwt')).toMatchObject({ code: 'Unauthenticated' });
  // a token for the catalog is no token for the gateway
  expect(await withHeader(`Bearer ${await edge.token(catalog.CatalogService.typeName)}`)).toEqual({ code: 'Unauthenticated', message: expect.stringContaining('"aud" claim') });
  // the right name, the wrong key
  const impostor = serviceCredentials('http-edge', generateKeyPairSync('ed25519').privateKey);
  expect(await withHeader(`Bearer ${await impostor.token(gateway.HaierGatewayService.typeName)}`)).toEqual({ code: 'Unauthenticated', message: expect.stringContaining('signature does not match') });
  // a caller nobody registered
  const stranger = serviceCredentials('stranger', generateKeyPairSync('ed25519').privateKey);
  expect(await withHeader(`Bearer ${await stranger.token(gateway.HaierGatewayService.typeName)}`)).toEqual({ code: 'Unauthenticated', message: expect.stringContaining('caller "stranger" is not one this service trusts') });
  // expired an hour ago, properly signed
  const key = createPrivateKey(readFileSync(keys.privateKeyFile['http-edge']!));
  const now = Math.floor(Date.now() / 1000);
  const old = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'http-edge' }).setIssuer('http-edge').setAudience(gateway.HaierGatewayService.typeName).setIssuedAt(now - 7200).setExpirationTime(now - 3600).sign(key);
  expect(await withHeader(`Bearer ${old}`)).toEqual({ code: 'Unauthenticated', message: expect.stringContaining('expired') });
  // signed by the edge's key but claiming to be the orchestrator
  const lying = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'http-edge' }).setIssuer('sync-orchestrator').setAudience(gateway.HaierGatewayService.typeName).setIssuedAt(now).setExpirationTime(now + 60).sign(key);
  expect(await withHeader(`Bearer ${lying}`)).toEqual({ code: 'Unauthenticated', message: expect.stringContaining('is not the caller whose key signed it') });
});

it('answers PERMISSION_DENIED to a trusted caller the policy does not list, naming caller and RPC', async () => {
  const orch = loadServiceCredentials('sync-orchestrator', { SERVICE_AUTH_PRIVATE_KEY_FILE: keys.privateKeyFile['sync-orchestrator'] });
  const r = await withHeader(`Bearer ${await orch.token(gateway.HaierGatewayService.typeName)}`);
  expect(r).toEqual({ code: 'PermissionDenied', message: 'caller "sync-orchestrator" may not call haiersync.gateway.v1.HaierGatewayService/GetUsage: only http-edge may (the service\'s rpc-policy.json)' });
});

it('checks a policy table against the services offered: every RPC needs a rule, no rule for an RPC that does not exist', () => {
  expect(() => rpcPolicy({ 'haiersync.gateway.v1.HaierGatewayService': { GetUsage: ['http-edge'] } }, [gateway.HaierGatewayService])).toThrow(/GetPrices has no rule/);
  const all = Object.fromEntries(gateway.HaierGatewayService.methods.map((m) => [m.name, []]));
  expect(() => rpcPolicy({ 'haiersync.gateway.v1.HaierGatewayService': { ...all, GetPrice: [] } }, [gateway.HaierGatewayService])).toThrow(/GetPrice is not an RPC/);
  expect(() => rpcPolicy({ 'haiersync.gateway.v1.HaierGatewayService': { ...all, GetUsage: 'http-edge' } }, [gateway.HaierGatewayService])).toThrow(/must list caller names/);
  expect(() => rpcPolicy({ 'haiersync.gateway.v1.HaierGatewayService': all }, [gateway.HaierGatewayService])).not.toThrow();
});

it('a missing or unusable key is a ConfigError that says which variable and what to do', () => {
  expect(() => loadServiceCredentials('cli', {})).toThrow(ConfigError);
  expect(() => loadServiceCredentials('cli', {})).toThrow(/SERVICE_AUTH_PRIVATE_KEY_FILE is required.*npm start/);
  const notAKey = join(dir, 'not-a-key.pem');
  writeFileSync(notAKey, 'hello');
  expect(() => loadServiceCredentials('cli', { SERVICE_AUTH_PRIVATE_KEY_FILE: notAKey })).toThrow(/cannot use .*not-a-key.pem as the cli service key/);
  expect(() => loadTrustedCallers({})).toThrow(/SERVICE_AUTH_TRUSTED_KEYS_DIR is required/);
  expect(() => loadTrustedCallers({ SERVICE_AUTH_TRUSTED_KEYS_DIR: dir })).toThrow(/holds no <caller>.pub.pem/);
  expect(trustedCallers({}).callers).toEqual([]);
});

it('<SERVICE>_HOST and <SERVICE>_TLS_*: defaults, both-or-neither, unreadable files named', () => {
  expect(grpcListenFromEnv('CATALOG', {})).toEqual({ host: '0.0.0.0' });
  expect(grpcListenFromEnv('CATALOG', { CATALOG_HOST: '127.0.0.1' })).toEqual({ host: '127.0.0.1' });
  expect(() => grpcListenFromEnv('CATALOG', { CATALOG_TLS_CERT_FILE: '/x.pem' })).toThrow(/CATALOG_TLS_KEY_FILE is required when CATALOG_TLS_CERT_FILE is set/);
  expect(() => grpcListenFromEnv('SYNC', { SYNC_TLS_CERT_FILE: join(dir, 'none.pem'), SYNC_TLS_KEY_FILE: join(dir, 'none.pem') })).toThrow(/SYNC_TLS_CERT_FILE: cannot read .*none.pem \(ENOENT\)/);
  expect(grpcClientTlsFromEnv('GATEWAY', {})).toBeUndefined();
  expect(() => grpcClientTlsFromEnv('GATEWAY', { GATEWAY_TLS_CA_FILE: join(dir, 'none.pem') })).toThrow(/GATEWAY_TLS_CA_FILE: cannot read/);
});
