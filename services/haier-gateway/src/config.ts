// The gateway's configuration from the environment (validated at start; a bad variable stops
// the process with a message naming it). Secrets default to the simulator's demo values ONLY
// when HAIER_BASE_URL is the local simulator default; against any other upstream they are required.
import { z } from 'zod';
import { ConfigError, env, loadConfig, registerSecret } from '@haier-sync/runtime';
import { imageStoreEnv } from '@haier-sync/runtime/image-store';
import { parseLanes, type LanePolicies } from './lanes';

export const SIMULATOR_BASE_URL = 'http://127.0.0.1:9090';

/** The simulator's demo account (tools/haier-sim defaults); never used against a real Haier. */
export const SIMULATOR_ACCOUNT = {
  HAIER_CLIENT_ID: 'sim-client',
  HAIER_CLIENT_SECRET: 'sim-secret',
  HAIER_CUSTOMER_CODE: '8800633175',
  HAIER_SEND_TO_CODE: '8800633175',
  HAIER_PASSWORD: 'sim-password',
  HAIER_SELLER_PASSWORD: 'sim-seller-password',
  HAIER_CUSTOMER_PASSWORD: 'sim-customer-password',
} as const;

type AccountVar = keyof typeof SIMULATOR_ACCOUNT;
const ACCOUNT_VARS = Object.keys(SIMULATOR_ACCOUNT) as AccountVar[];
const SECRET_VARS: AccountVar[] = ['HAIER_CLIENT_SECRET', 'HAIER_PASSWORD', 'HAIER_SELLER_PASSWORD', 'HAIER_CUSTOMER_PASSWORD'];

const mainSchema = z.object({
  HAIER_BASE_URL: env.url(SIMULATOR_BASE_URL),
  HAIER_CLIENT_ID: env.optionalString(),
  HAIER_CLIENT_SECRET: env.optionalString(),
  HAIER_CUSTOMER_CODE: env.optionalString(),
  HAIER_SEND_TO_CODE: env.optionalString(),
  HAIER_SUPPLIER_CODE: env.string('1001'),
  HAIER_PASSWORD: env.optionalString(),
  HAIER_SELLER_PASSWORD: env.optionalString(),
  HAIER_CUSTOMER_PASSWORD: env.optionalString(),
  HAIER_RATE_LIMIT: env.positiveInt(100),
  HAIER_RATE_MARGIN_PCT: env.nonNegativeInt(5),
  NATS_URL: env.optionalString(),
  HAIER_BUDGET_BUCKET: env.string('haier_gateway_budget'),
  HAIER_BUDGET_HEARTBEAT_MS: env.positiveInt(500),
  HAIER_LANES: env.optionalString(),
  HAIER_INTERACTIVE_MAX_WAIT_MS: env.nonNegativeInt(2000),
  HAIER_MAX_CONCURRENCY: env.positiveInt(32),
  HAIER_TIMEOUT_MS: env.positiveInt(30_000),
  HAIER_MAX_RETRIES: env.nonNegativeInt(3),
  HAIER_AUTH_SCHEME: env.optionalString(),
  HAIER_ALLOWED_HOSTS: env.optionalString(),
  GATEWAY_PORT: env.port('GATEWAY_PORT', 50051),
  GATEWAY_METRICS_PORT: env.optionalPort('GATEWAY_METRICS_PORT'),
  GATEWAY_CALL_SUMMARY_INTERVAL: env.durationMs(60_000),
  // product images (MirrorImages): image hosts are not the API, so their own limits
  HAIER_IMAGE_CONCURRENCY: env.positiveInt(8),
  HAIER_IMAGE_RATE: env.nonNegativeInt(50),
  HAIER_IMAGE_MAX_BYTES: env.positiveInt(5 * 1024 * 1024),
  HAIER_IMAGE_TIMEOUT_MS: env.positiveInt(15_000),
  HAIER_IMAGE_MAX_RETRIES: env.nonNegativeInt(2),
  HAIER_IMAGE_HOSTS: env.csv([]),
  ...imageStoreEnv,
});

// These two names contain "TOKEN" but hold no secret: they are validated here rather than by
// loadConfig(), which would register their values ("600", the URL) as secrets to mask in logs.
const tokenSchema = z.object({
  HAIER_TOKEN_URL: z.string().url().optional(),
  HAIER_TOKEN_REFRESH_MARGIN_S: z
    .string()
    .regex(/^\d+$/, 'expected a whole number of seconds (0 or more)')
    .optional(),
});

export type GatewayConfig = Omit<z.infer<typeof mainSchema>, AccountVar | 'HAIER_AUTH_SCHEME' | 'HAIER_ALLOWED_HOSTS' | 'HAIER_LANES'> &
  Record<AccountVar, string> & {
    HAIER_AUTH_SCHEME: string;
    /** Further hosts (host[:port]) a Haier config's test may send credentials to. */
    HAIER_ALLOWED_HOSTS: string[];
    HAIER_TOKEN_URL: string;
    HAIER_TOKEN_REFRESH_MARGIN_S: number;
    /** Floors and caps of the lanes (percent of the budget). */
    HAIER_LANES: LanePolicies;
  };

function blankToUndefined(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Reads and checks the gateway's environment; throws ConfigError naming every bad variable. */
export function loadGatewayConfig(source: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const main = loadConfig(mainSchema, source);
  const tokenVars = tokenSchema.safeParse({
    HAIER_TOKEN_URL: blankToUndefined(source['HAIER_TOKEN_URL']),
    HAIER_TOKEN_REFRESH_MARGIN_S: blankToUndefined(source['HAIER_TOKEN_REFRESH_MARGIN_S']),
  });
  if (!tokenVars.success) {
    const names = [...new Set(tokenVars.error.issues.map((i) => String(i.path[0])))];
    const parts = tokenVars.error.issues.map((i) => `${String(i.path[0])}: ${i.path[0] === 'HAIER_TOKEN_URL' ? 'expected an absolute URL such as https://host/oauth2/auth' : i.message}, got ${JSON.stringify(source[String(i.path[0])])}`);
    throw new ConfigError(`Invalid configuration: ${parts.join('; ')}. Set ${names.length > 1 ? 'them' : 'it'} in the environment (see README, Configuration).`, names);
  }

  const onSimulator = main.HAIER_BASE_URL.replace(/\/+$/, '') === SIMULATOR_BASE_URL;
  const account = {} as Record<AccountVar, string>;
  const missing: AccountVar[] = [];
  for (const name of ACCOUNT_VARS) {
    const v = main[name] ?? (onSimulator ? SIMULATOR_ACCOUNT[name] : undefined);
    if (v === undefined) missing.push(name);
    else account[name] = v;
  }
  if (missing.length)
    throw new ConfigError(
      `Invalid configuration: ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} required when HAIER_BASE_URL is not the local simulator (${SIMULATOR_BASE_URL}). ` +
        `Set ${missing.length > 1 ? 'them' : 'it'} in the environment (see README, Configuration).`,
      missing,
    );
  for (const name of SECRET_VARS) registerSecret(account[name]);

  const allowed = (main.HAIER_ALLOWED_HOSTS ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  const badHost = allowed.find((h) => !/^([A-Za-z0-9-]+\.)*[A-Za-z0-9-]+(:\d{1,5})?$/.test(h));
  if (badHost !== undefined) {
    throw new ConfigError(
      `Invalid configuration: HAIER_ALLOWED_HOSTS: expected host names (with an optional :port) separated by commas, such as "openapi-pre.haier.example,openapi.haier.example:8443", got ${JSON.stringify(badHost)}.`,
      ['HAIER_ALLOWED_HOSTS'],
    );
  }

  if (main.HAIER_RATE_MARGIN_PCT > 50)
    throw new ConfigError(`Invalid configuration: HAIER_RATE_MARGIN_PCT: expected the percent of HAIER_RATE_LIMIT held back, 0 to 50 (default 5), got ${main.HAIER_RATE_MARGIN_PCT}.`, ['HAIER_RATE_MARGIN_PCT']);
  if (main.HAIER_BUDGET_HEARTBEAT_MS < 50 || main.HAIER_BUDGET_HEARTBEAT_MS > 10_000)
    throw new ConfigError(`Invalid configuration: HAIER_BUDGET_HEARTBEAT_MS: expected 50 to 10000 ms (default 500), got ${main.HAIER_BUDGET_HEARTBEAT_MS}.`, ['HAIER_BUDGET_HEARTBEAT_MS']);
  if (!/^[A-Za-z0-9_-]+$/.test(main.HAIER_BUDGET_BUCKET))
    throw new ConfigError(`Invalid configuration: HAIER_BUDGET_BUCKET: expected a NATS KV bucket name (letters, digits, - and _), got ${JSON.stringify(main.HAIER_BUDGET_BUCKET)}.`, ['HAIER_BUDGET_BUCKET']);
  if (main.NATS_URL !== undefined && !/^(nats|tls|wss?):\/\/[^\s]+$/.test(main.NATS_URL))
    throw new ConfigError(`Invalid configuration: NATS_URL: expected a NATS URL such as nats://nats:4222 (or leave it unset for a single gateway), got ${JSON.stringify(main.NATS_URL)}.`, ['NATS_URL']);

  const lanes = parseLanes(main.HAIER_LANES);
  if ('error' in lanes) throw new ConfigError(`Invalid configuration: HAIER_LANES: ${lanes.error}.`, ['HAIER_LANES']);

  const base = main.HAIER_BASE_URL.replace(/\/+$/, '');
  return {
    ...main,
    ...account,
    HAIER_BASE_URL: base,
    HAIER_AUTH_SCHEME: main.HAIER_AUTH_SCHEME ?? '',
    HAIER_ALLOWED_HOSTS: allowed,
    HAIER_LANES: lanes,
    HAIER_TOKEN_URL: tokenVars.data.HAIER_TOKEN_URL ?? `${base}/oauth2/auth`,
    HAIER_TOKEN_REFRESH_MARGIN_S: tokenVars.data.HAIER_TOKEN_REFRESH_MARGIN_S !== undefined ? Number(tokenVars.data.HAIER_TOKEN_REFRESH_MARGIN_S) : 600,
  };
}
