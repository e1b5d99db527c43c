// The edge's environment configuration, validated once at start.
import { join } from 'node:path';
import { ConfigError, env, loadConfig } from '@haier-sync/runtime';
import { imageStoreEnv, type ImageStoreVars } from '@haier-sync/runtime/image-store';
import { z } from 'zod';

export const edgeConfigSchema = z.object({
  EDGE_PORT: env.port('EDGE_PORT', 8080),
  EDGE_HOST: env.string('0.0.0.0'),
  DATABASE_URL: env.url(),
  GATEWAY_URL: env.url('http://127.0.0.1:50051'),
  CATALOG_URL: env.url('http://127.0.0.1:50052'),
  SYNC_URL: env.url('http://127.0.0.1:50053'),
  EDGE_BOOTSTRAP_ADMIN_KEY: env.optionalString(),
  /** Requests per minute per API key (or per client address without a key). */
  EDGE_RATE_LIMIT: env.positiveInt(600),
  /** Comma-separated allowed origins; CORS stays off when unset. */
  EDGE_CORS_ORIGINS: env.csv([]),
  /** How long a looked-up API key is trusted before it is read again (ms); revocations through the API apply at once. */
  EDGE_AUTH_CACHE_MS: env.nonNegativeInt(2000),
  /** How long a per-product action (sync-price, sync-stock) waits for its run before answering 504 with the run id (ms). */
  EDGE_ACTION_TIMEOUT_MS: env.positiveInt(30_000),
  /** Authentications with an unknown or revoked key per client address per minute before it answers 429 (valid keys are not counted and not refused). */
  EDGE_AUTH_FAILURES_PER_MINUTE: env.positiveInt(30),
  /** A separate port that serves /metrics without a key (for Prometheus); unset: /metrics is on EDGE_PORT and needs an API key. */
  EDGE_METRICS_PORT: env.optionalString(),
  /** Where the metrics port listens (default EDGE_HOST). */
  EDGE_METRICS_HOST: env.optionalString(),
  /** Serve the OpenAPI document and Swagger UI at /api/docs (false: 404). */
  EDGE_API_DOCS: env.bool(true),
  /** The built operator console served at / (default: the console package's dist/, next to this one). */
  EDGE_CONSOLE_DIR: env.optionalString(),
  /** Haier calls a key of each role may spend per minute on live lookups (a 1,000-code lookup is 50). */
  EDGE_CALL_BUDGET_VIEWER: env.positiveInt(60),
  EDGE_CALL_BUDGET_OPERATOR: env.positiveInt(600),
  EDGE_CALL_BUDGET_ADMIN: env.positiveInt(600),
  /** Megabytes of catalog answers the read cache may keep (0: no read cache). */
  EDGE_READ_CACHE_MB: env.nonNegativeInt(64),
  /** The longest a kept catalog answer is answered again (ms): the most its check stamps (price_checked_at, …) can lag. */
  EDGE_READ_CACHE_TTL_MS: env.positiveInt(30_000),
  /** How long a redirect to an S3 image stays valid (s3 store only). */
  EDGE_IMAGE_URL_TTL_S: env.positiveInt(300),
  // the image store the gateway writes mirrored images to (the edge serves them)
  ...imageStoreEnv,
});

export interface EdgeConfig {
  /** The directory of the built console (index.html, assets/). */
  consoleDir: string;
  port: number;
  host: string;
  databaseUrl: string;
  gatewayUrl: string;
  catalogUrl: string;
  syncUrl: string;
  bootstrapAdminKey?: string;
  rateLimitPerMinute: number;
  corsOrigins: string[];
  keyCacheMs: number;
  actionTimeoutMs: number;
  authFailuresPerMinute: number;
  /** Set: /metrics is served there, without a key, and not on `port`. */
  metricsPort?: number;
  metricsHost: string;
  apiDocs: boolean;
  /** Haier calls per minute a key of each role may spend on live lookups. */
  callBudget: { viewer: number; operator: number; admin: number };
  /** The validated IMAGE_STORE* variables (imageStoreFromEnv reads them). */
  imageStoreEnv: ImageStoreVars;
  imageUrlTtlS: number;
  /** The read cache: bytes it may keep (0: off) and how long an answer is kept. */
  readCache: { maxBytes: number; ttlMs: number };
}

function metricsPort(v: string | undefined): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const n = /^\d{1,5}$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!(n >= 0 && n <= 65535)) throw new ConfigError(`Invalid configuration: EDGE_METRICS_PORT: expected a TCP port number 0-65535, got "${v.slice(0, 20)}". Fix the variable (or unset it to serve /metrics behind an API key) and start again.`, ['EDGE_METRICS_PORT']);
  return n;
}

/**
 * EDGE_KEY_CACHE_MS is the older name of EDGE_AUTH_CACHE_MS. It is read here, not through
 * loadConfig(), which would take "KEY" in the name for a secret and mask its value (e.g. "2000")
 * in every log line.
 */
function legacyCacheMs(source: NodeJS.ProcessEnv): number | undefined {
  const v = source.EDGE_KEY_CACHE_MS?.trim();
  if (!v || (source.EDGE_AUTH_CACHE_MS ?? '').trim() !== '') return undefined;
  if (!/^\d{1,9}$/.test(v)) throw new ConfigError(`Invalid configuration: EDGE_KEY_CACHE_MS: expected a whole number of milliseconds (0 or more), got "${v.slice(0, 20)}". Fix the variable and start again.`, ['EDGE_KEY_CACHE_MS']);
  return Number(v);
}

export function loadEdgeConfig(source: NodeJS.ProcessEnv = process.env): EdgeConfig {
  const c = loadConfig(edgeConfigSchema, source);
  const legacy = legacyCacheMs(source);
  return {
    port: c.EDGE_PORT,
    host: c.EDGE_HOST,
    databaseUrl: c.DATABASE_URL,
    gatewayUrl: c.GATEWAY_URL,
    catalogUrl: c.CATALOG_URL,
    syncUrl: c.SYNC_URL,
    bootstrapAdminKey: c.EDGE_BOOTSTRAP_ADMIN_KEY,
    rateLimitPerMinute: c.EDGE_RATE_LIMIT,
    corsOrigins: c.EDGE_CORS_ORIGINS,
    keyCacheMs: legacy ?? c.EDGE_AUTH_CACHE_MS,
    actionTimeoutMs: c.EDGE_ACTION_TIMEOUT_MS,
    authFailuresPerMinute: c.EDGE_AUTH_FAILURES_PER_MINUTE,
    metricsPort: metricsPort(c.EDGE_METRICS_PORT),
    metricsHost: c.EDGE_METRICS_HOST ?? c.EDGE_HOST,
    apiDocs: c.EDGE_API_DOCS,
    consoleDir: c.EDGE_CONSOLE_DIR ?? join(__dirname, '..', 'console', 'dist'),
    callBudget: { viewer: c.EDGE_CALL_BUDGET_VIEWER, operator: c.EDGE_CALL_BUDGET_OPERATOR, admin: c.EDGE_CALL_BUDGET_ADMIN },
    imageStoreEnv: c,
    imageUrlTtlS: c.EDGE_IMAGE_URL_TTL_S,
    readCache: { maxBytes: c.EDGE_READ_CACHE_MB * 1024 * 1024, ttlMs: c.EDGE_READ_CACHE_TTL_MS },
  };
}
