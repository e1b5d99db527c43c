// Builds the gateway from its configuration: the upstream client (token, limiter, retries),
// the domain API, the RPC routes and the readiness probe. Listening is main.ts's job, so
// tests run the same thing in-process behind startGrpcServer on port 0.
import type { ConnectRouter } from '@connectrpc/connect';
import type { Registry } from '@haier-sync/runtime';
import type { gateway } from '@haier-sync/contracts';
import { registerSecret, type ErrorMapper, type Logger } from '@haier-sync/runtime';
import { resolveAccount } from './account-check';
import type { GatewayConfig } from './config';
import { HaierApi } from './haier-api';
import { gatewayMetrics } from './metrics';
import { gatewayErrors, routes } from './server';
import { UpstreamClient, type UpstreamClientOptions } from './upstream-client';
import { imageStoreFromEnv, type ImageStore } from '@haier-sync/runtime/image-store';
import { ImageMirror } from './images/mirror';

export interface Gateway {
  routes(router: ConnectRouter): void;
  /** For startGrpcServer: the gateway's errors as status codes. */
  errors: ErrorMapper;
  /** True when a token can be obtained (a cached valid token counts; answers are cached briefly). */
  readiness(): Promise<boolean>;
  close(): Promise<void>;
  readonly client: UpstreamClient;
  readonly api: HaierApi;
}

export interface GatewayOptions {
  backoff?: UpstreamClientOptions['backoff'];
  /** How long a readiness answer is reused (default 5 s). */
  readinessCacheMs?: number;
  /** Where a Haier config's test reads the variables it names (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Where the upstream metrics go (metrics.ts); none when unset. */
  metrics?: Registry;
  /** Where mirrored images go (default: the store IMAGE_STORE names). */
  imageStore?: ImageStore;
}

export function buildGateway(config: GatewayConfig, logger: Logger, opts: GatewayOptions = {}): Gateway {
  const metrics = opts.metrics ? gatewayMetrics(opts.metrics) : undefined;
  const client = new UpstreamClient({ config, logger, backoff: opts.backoff, metrics });
  metrics?.watch(client);
  const api = new HaierApi(client, config, config.HAIER_MAX_CONCURRENCY);
  const images = new ImageMirror(opts.imageStore ?? imageStoreFromEnv(config), {
    concurrency: config.HAIER_IMAGE_CONCURRENCY,
    ratePerSecond: config.HAIER_IMAGE_RATE,
    maxBytes: config.HAIER_IMAGE_MAX_BYTES,
    timeoutMs: config.HAIER_IMAGE_TIMEOUT_MS,
    maxRetries: config.HAIER_IMAGE_MAX_RETRIES,
    allowedHosts: config.HAIER_IMAGE_HOSTS,
  });
  const cacheMs = opts.readinessCacheMs ?? 5000;
  let cached: { ok: boolean; at: number } | undefined;
  let probing: Promise<boolean> | undefined;

  const probe = async (): Promise<boolean> => {
    const t = client.tokens.peek();
    if (t && Date.now() < t.expiresAt) return true;
    try {
      await client.tokens.get();
      return true;
    } catch (err) {
      logger.warn({ reason: err instanceof Error ? err.message : String(err) }, 'not ready: no Haier access token could be obtained');
      return false;
    }
  };

  return {
    client,
    api,
    errors: gatewayErrors(config.HAIER_MAX_RETRIES),
    routes: routes({
      api,
      tokens: client.tokens,
      logger,
      maxRetries: config.HAIER_MAX_RETRIES,
      rateLimit: config.HAIER_RATE_LIMIT,
      images,
      async tokenFor(req: gateway.AccountToCheck) {
        const r = resolveAccount(req, config, opts.env ?? process.env);
        if (!r.ok) return { refused: r.message };
        registerSecret(r.account.clientSecret);
        return { token: await client.fetchToken(r.account), host: r.account.tokenUrl.host };
      },
    }),
    async readiness() {
      const t = client.tokens.peek();
      if (t && Date.now() < t.expiresAt) return true;
      if (cached && Date.now() - cached.at < cacheMs) return cached.ok;
      probing ??= probe().then((ok) => {
        cached = { ok, at: Date.now() };
        probing = undefined;
        return ok;
      });
      return probing;
    },
    close: async () => {
      await Promise.all([client.close(), images.close()]);
    },
  };
}
