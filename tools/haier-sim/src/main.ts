// Runs the simulator from the environment. Wiring only.
import { z } from 'zod';
import { startSimulator } from './index';

const Env = z.object({
  SIM_PORT: z.coerce.number().int().min(0).max(65535).default(9090),
  SIM_HOST: z.string().default('127.0.0.1'),
  SIM_SEED: z.coerce.number().int().default(42),
  SIM_SIZE: z.coerce.number().int().min(0).default(5000),
  SIM_RATE_LIMIT: z.coerce.number().min(0).default(100),
  SIM_RATE_LIMIT_MODE: z.enum(['sliding', 'bucket']).default('sliding'),
  SIM_LATENCY_MS: z.coerce.number().min(0).default(0),
  SIM_LATENCY_JITTER_MS: z.coerce.number().min(0).default(0),
  SIM_TOKEN_TTL_S: z.coerce.number().int().min(1).default(3600),
  SIM_CLIENT_ID: z.string().optional(),
  SIM_CLIENT_SECRET: z.string().optional(),
  SIM_PASSWORD: z.string().optional(),
  SIM_SELLER_PASSWORD: z.string().optional(),
  SIM_CUSTOMER_PASSWORD: z.string().optional(),
  SIM_CUSTOMER_CODE: z.string().optional(),
  SIM_SEND_TO_CODE: z.string().optional(),
  SIM_IMAGE_BASE_URL: z.url({ protocol: /^https?$/ }).optional(),
});

async function main(): Promise<void> {
  const parsed = Env.safeParse(process.env);
  if (!parsed.success) {
    console.error(`haier-sim: bad environment:\n${z.prettifyError(parsed.error)}`);
    process.exit(2);
  }
  const env = parsed.data;
  const sim = await startSimulator({
    port: env.SIM_PORT,
    host: env.SIM_HOST,
    seed: env.SIM_SEED,
    size: env.SIM_SIZE,
    rateLimit: env.SIM_RATE_LIMIT,
    rateLimitMode: env.SIM_RATE_LIMIT_MODE,
    latencyMs: env.SIM_LATENCY_MS,
    latencyJitterMs: env.SIM_LATENCY_JITTER_MS,
    tokenTtlSeconds: env.SIM_TOKEN_TTL_S,
    imageBaseUrl: env.SIM_IMAGE_BASE_URL,
    credentials: {
      clientId: env.SIM_CLIENT_ID,
      clientSecret: env.SIM_CLIENT_SECRET,
      passWord: env.SIM_PASSWORD,
      sellerPassword: env.SIM_SELLER_PASSWORD,
      customerPassword: env.SIM_CUSTOMER_PASSWORD,
      customerCode: env.SIM_CUSTOMER_CODE,
      sendToCode: env.SIM_SEND_TO_CODE,
    },
  });
  console.log(
    [
      '================================================================',
      ' haier-sim: a DEVELOPMENT STAND-IN for Haier\'s B2B API. NOT HAIER.',
      ' Data is generated; nothing here is a real product, price or stock.',
      ` Listening on ${sim.url}  (seed ${env.SIM_SEED}, ${env.SIM_SIZE} products, ${env.SIM_RATE_LIMIT ? `${env.SIM_RATE_LIMIT} calls/s, ${env.SIM_RATE_LIMIT_MODE}` : 'unlimited calls/s'})`,
      ` Token: POST ${sim.url}/oauth2/auth   Control: ${sim.url}/__sim/stats`,
      '================================================================',
    ].join('\n'),
  );
  const stop = () => void sim.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
