// CheckAuth for a Haier config: where its token request goes and with which credentials. The
// config names its secrets; their values come from this gateway's own environment, and only
// from HAIER_* variables. Credentials go only to hosts the gateway may send them to: those of
// HAIER_BASE_URL and HAIER_TOKEN_URL, and HAIER_ALLOWED_HOSTS. Otherwise a config (which an
// admin can write) could name HAIER_CLIENT_SECRET and a token URL of its own, and the test would
// hand the secret to that host. Pure but for the environment passed in.
import { rules, type gateway } from '@haier-sync/contracts';
import type { GatewayConfig } from './config';
import type { TokenAccount } from './upstream-client';

/** The variables a config test may read. */
export const ACCOUNT_VARIABLE = /^HAIER_[A-Z0-9_]+$/;

export type ResolvedAccount = { ok: true; account: TokenAccount } | { ok: false; message: string };

/** Where a config's client id and secret come from (the variables, defaults included), for hints. */
export function credentialSources(req: gateway.AccountToCheck): { clientIdEnv: string | undefined; clientSecretEnv: string } {
  return {
    clientIdEnv: req.clientId.trim() ? undefined : req.clientIdEnv.trim() || 'HAIER_CLIENT_ID',
    clientSecretEnv: req.clientSecretEnv.trim() || 'HAIER_CLIENT_SECRET',
  };
}

type Own = Pick<GatewayConfig, 'HAIER_BASE_URL' | 'HAIER_TOKEN_URL' | 'HAIER_CLIENT_ID' | 'HAIER_CLIENT_SECRET' | 'HAIER_ALLOWED_HOSTS'>;

/** Hosts (host[:port], lower case) the gateway may send credentials to. */
export function allowedHosts(own: Own): Set<string> {
  const hosts = new Set([new URL(own.HAIER_BASE_URL).host, new URL(own.HAIER_TOKEN_URL).host]);
  for (const h of own.HAIER_ALLOWED_HOSTS) hosts.add(h.toLowerCase());
  return hosts;
}

function httpUrl(text: string, field: string): URL | string {
  return rules.httpUrl(text) ?? `${field} "${text}" is not an http(s) URL; fix it in the config`;
}

/** The token request a config asks for, or why it cannot be made. */
export function resolveAccount(req: gateway.AccountToCheck, own: Own, env: NodeJS.ProcessEnv): ResolvedAccount {
  const fail = (message: string): ResolvedAccount => ({ ok: false, message });
  // the gateway's own values stand for its variables (they include the simulator defaults)
  const ownValues: Record<string, string> = { HAIER_CLIENT_ID: own.HAIER_CLIENT_ID, HAIER_CLIENT_SECRET: own.HAIER_CLIENT_SECRET };
  const variable = (name: string, field: string): string | { problem: string } => {
    if (!ACCOUNT_VARIABLE.test(name)) {
      return { problem: `${field} names "${name}", but a config test reads only HAIER_* variables of the gateway's environment; name one of those` };
    }
    const value = env[name]?.trim() || ownValues[name];
    if (!value) return { problem: `${name} (${field}) is not set in the gateway's environment; set it there to test this config` };
    return value;
  };

  let tokenUrl: URL;
  if (req.tokenUrl.trim()) {
    const u = httpUrl(req.tokenUrl.trim(), 'token_url');
    if (typeof u === 'string') return fail(u);
    tokenUrl = u;
  } else if (req.baseUrl.trim()) {
    const u = httpUrl(req.baseUrl.trim(), 'base_url');
    if (typeof u === 'string') return fail(u);
    tokenUrl = new URL(`${u.href.replace(/\/+$/, '')}/oauth2/auth`);
  } else {
    tokenUrl = new URL(own.HAIER_TOKEN_URL);
  }
  if (tokenUrl.username || tokenUrl.password) return fail('the token URL carries a user or password; put credentials in HAIER_* variables instead');
  if (!allowedHosts(own).has(tokenUrl.host.toLowerCase())) {
    return fail(
      `the gateway does not send credentials to ${tokenUrl.host} (not the host of HAIER_BASE_URL or HAIER_TOKEN_URL); to test this config, add ${tokenUrl.host} to HAIER_ALLOWED_HOSTS in the gateway's environment`,
    );
  }

  const sources = credentialSources(req);
  let clientId = req.clientId.trim();
  if (sources.clientIdEnv !== undefined) {
    const v = variable(sources.clientIdEnv, 'client_id_env');
    if (typeof v !== 'string') return fail(v.problem);
    clientId = v;
  }
  const secret = variable(sources.clientSecretEnv, 'client_secret_env');
  if (typeof secret !== 'string') return fail(secret.problem);
  return { ok: true, account: { tokenUrl, clientId, clientSecret: secret } };
}
