// A Haier config's CheckAuth: which token URL and credentials it resolves to, and what the
// gateway refuses (credentials to a host it does not know, variables that are not HAIER_*,
// variables that are not set). Pure; the end-to-end test is in sync-orchestrator's configs test.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { gateway } from '@haier-sync/contracts';
import { ConfigError } from '@haier-sync/runtime';
import { allowedHosts, resolveAccount } from '../src/account-check';
import { loadGatewayConfig } from '../src/config';

const own = loadGatewayConfig({
  HAIER_BASE_URL: 'https://openapi.haier.example',
  HAIER_TOKEN_URL: 'https://auth.haier.example/oauth2/auth',
  HAIER_CLIENT_ID: 'own-client',
  HAIER_CLIENT_SECRET: 'own-secret',
  HAIER_CUSTOMER_CODE: '8800000001',
  HAIER_SEND_TO_CODE: '8800000002',
  HAIER_PASSWORD: 'own-password',
  HAIER_SELLER_PASSWORD: 'own-seller-password',
  HAIER_CUSTOMER_PASSWORD: 'own-customer-password',
  HAIER_ALLOWED_HOSTS: 'openapi-pre.haier.example, 127.0.0.1:9099',
});
const env = { HAIER_PRE_SECRET: 'pre-secret', HAIER_PRE_CLIENT: 'pre-client', DATABASE_URL: 'postgres://x' };
type AccountInit = MessageInitShape<typeof gateway.AccountToCheckSchema>;
const account = (a: AccountInit) => create(gateway.AccountToCheckSchema, a);

test('hosts credentials may go to: the own base and token URLs, and HAIER_ALLOWED_HOSTS', () => {
  expect([...allowedHosts(own)].sort()).toEqual(['127.0.0.1:9099', 'auth.haier.example', 'openapi-pre.haier.example', 'openapi.haier.example']);
});

test('an empty account is the gateway own; a base URL gives its /oauth2/auth; names resolve from the environment', () => {
  const mine = resolveAccount(account({}), own, {});
  expect(mine).toEqual({ ok: true, account: { tokenUrl: new URL('https://auth.haier.example/oauth2/auth'), clientId: 'own-client', clientSecret: 'own-secret' } });

  const pre = resolveAccount(account({ baseUrl: 'https://openapi-pre.haier.example/', clientIdEnv: 'HAIER_PRE_CLIENT', clientSecretEnv: 'HAIER_PRE_SECRET' }), own, env);
  expect(pre).toEqual({ ok: true, account: { tokenUrl: new URL('https://openapi-pre.haier.example/oauth2/auth'), clientId: 'pre-client', clientSecret: 'pre-secret' } });

  const literalId = resolveAccount(account({ tokenUrl: 'http://127.0.0.1:9099/oauth2/token', clientId: 'given', clientSecretEnv: 'HAIER_PRE_SECRET' }), own, env);
  expect(literalId).toMatchObject({ ok: true, account: { clientId: 'given', clientSecret: 'pre-secret' } });
});

test('refusals say what is wrong and what to do', () => {
  const why = (a: AccountInit) => {
    const r = resolveAccount(account(a), own, env);
    return r.ok ? 'accepted' : r.message;
  };
  expect(why({ tokenUrl: 'https://collector.evil.example/t' })).toMatch(/does not send credentials to collector\.evil\.example .*add collector\.evil\.example to HAIER_ALLOWED_HOSTS/);
  expect(why({ baseUrl: 'https://openapi.haier.example:8443' })).toMatch(/does not send credentials to openapi\.haier\.example:8443/);
  expect(why({ tokenUrl: 'https://u:p@openapi.haier.example/t' })).toMatch(/carries a user or password/);
  expect(why({ tokenUrl: 'ftp://openapi.haier.example/t' })).toMatch(/^token_url "ftp:\/\/openapi\.haier\.example\/t" is not an http\(s\) URL/);
  expect(why({ baseUrl: 'not a url' })).toMatch(/^base_url "not a url" is not an http\(s\) URL/);
  expect(why({ clientSecretEnv: 'DATABASE_URL' })).toMatch(/names "DATABASE_URL", but a config test reads only HAIER_\* variables/);
  expect(why({ clientIdEnv: 'HAIER_NOPE' })).toMatch(/^HAIER_NOPE \(client_id_env\) is not set in the gateway's environment; set it there/);
});

test('HAIER_ALLOWED_HOSTS takes host names with an optional port; anything else stops the start naming it', () => {
  const base = { HAIER_BASE_URL: 'http://127.0.0.1:9090' };
  expect(loadGatewayConfig(base).HAIER_ALLOWED_HOSTS).toEqual([]);
  expect(() => loadGatewayConfig({ ...base, HAIER_ALLOWED_HOSTS: 'https://openapi-pre.haier.example' })).toThrow(ConfigError);
  expect(() => loadGatewayConfig({ ...base, HAIER_ALLOWED_HOSTS: 'a.example,b/c' })).toThrow(/HAIER_ALLOWED_HOSTS: expected host names .* got "b\/c"/);
});
