// The orchestrator's environment, validated once at start (one message naming every bad variable).
import { rules } from '@haier-sync/contracts';
import { env, loadConfig } from '@haier-sync/runtime';
import { imageStoreEnv } from '@haier-sync/runtime/image-store';
import { z } from 'zod';

/** A freshness sweep's max age: a duration of at least 10 s, or unset / `off` (undefined: that target is not swept). */
function sweepMaxAge() {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '' || v.trim().toLowerCase() === 'off') return undefined;
      const r = env.durationMs().safeParse(v);
      if (!r.success || r.data < 10_000) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration of at least 10s such as 10m, 30s or 1h (a bare number is seconds), or off' });
        return z.NEVER;
      }
      return r.data;
    });
}

/** SYNC_IMAGE_RECHECK_AFTER's default: a week (each product's own window is between half of it and all of it). */
export const DEFAULT_IMAGE_RECHECK_AFTER_MS = 7 * 86_400_000;

export const configSchema = z.object({
  DATABASE_URL: env.url('postgres://postgres@127.0.0.1:5432/postgres'),
  NATS_URL: env.url('nats://127.0.0.1:4222'),
  GATEWAY_URL: env.url('http://127.0.0.1:50051'),
  CATALOG_URL: env.url('http://127.0.0.1:50052'),
  SYNC_PORT: env.port('SYNC_PORT', 50053),
  /** Prometheus metrics on GET /metrics at this port; unset = no metrics listener. */
  SYNC_METRICS_PORT: env.optionalPort('SYNC_METRICS_PORT'),
  /**
   * Batches in flight per process. A batch spends most of its time waiting (Haier's latency, the
   * gateway's rate gate, the catalog): keeping the rate limit busy needs about rate × batch time in
   * flight (100 calls/s × ~0.3 s), hence 32.
   */
  SYNC_CONCURRENCY: env.positiveInt(32),
  /** How long a claimed batch (or a planning run) stays owned without a heartbeat. */
  SYNC_LEASE_SECONDS: env.positiveInt(30),
  /** Tries of a batch that run and fail before its codes are marked failed (a worker's death is not one). */
  SYNC_MAX_ATTEMPTS: env.positiveInt(3),
  /**
   * The poison limit: claims of a batch (workers that took it, including ones that died with it)
   * before its codes are marked failed. Higher than SYNC_MAX_ATTEMPTS: a rolling deploy or a few
   * kills must not fail products, a batch that keeps killing its workers must stop.
   */
  SYNC_MAX_CLAIMS: env.positiveInt(10),
  /**
   * How long a run waits out an unavailable dependency (the catalog, the gateway, Haier) before it
   * fails naming it: while one is away the engine claims nothing and no batch attempt is spent.
   */
  SYNC_DEPENDENCY_PATIENCE: env.durationMs(5 * 60_000),
  /** Lines kept per level per run in the run's log (sync.run_log); past it lines are counted, not kept ("n more"). */
  SYNC_RUN_LOG_CAP: env.positiveInt(1000),
  /** Counties a stock run asks for when the request names none (the rulebook's county codes and count). */
  SYNC_COUNTIES: env.csv(['110101']).refine((list) => !rules.checkList(rules.countyList, list, 'SYNC_COUNTIES'), {
    message: `expected at most ${rules.MAX_COUNTIES} comma-separated county codes, each ${rules.countyCode.explain} (e.g. 110101,310104)`,
  }),
  /** Headline stock below this is low stock (the low_stock run, catalog.stock.low, the low-stock sweep); the catalog reads it too. */
  SYNC_LOW_STOCK_THRESHOLD: env.nonNegativeInt(rules.DEFAULT_LOW_STOCK_THRESHOLD),
  SYNC_SCHEDULE_FULL: env.string('0 3 * * *'),
  SYNC_SCHEDULE_PRICES: env.string('0 * * * *'),
  SYNC_SCHEDULE_LOW_STOCK: env.string('*/15 * * * *'),
  /**
   * How old a procurable product's price may get: the freshness sweep re-reads prices
   * continuously, oldest first, to keep every one younger (src/freshness). Unset or `off`: not swept.
   */
  SYNC_PRICE_MAX_AGE: sweepMaxAge(),
  /**
   * How old a low-stock product's stock (headline below SYNC_LOW_STOCK_THRESHOLD) may get: the same
   * sweep re-reads it in SYNC_COUNTIES, oldest first, within the same share. Unset or `off`: not
   * swept (the 15-minute low_stock run stays the way it is re-read).
   */
  SYNC_LOW_STOCK_MAX_AGE: sweepMaxAge(),
  /** The share of HAIER_RATE_LIMIT the freshness sweep may spend, prices and low stock together: 0.05 or 5% (more than 0, at most 1). */
  SYNC_PRICE_SWEEP_SHARE: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return 0.1;
      const m = /^(\d+(?:\.\d+)?)\s*(%?)$/.exec(v.trim());
      const n = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
      if (!(n > 0 && n <= 1)) {
        ctx.addIssue({ code: 'custom', message: 'expected a share of the rate limit above 0 and at most 1, as 0.05 or 5%' });
        return z.NEVER;
      }
      return n;
    }),
  SYNC_SCHEDULER_ENABLED: env.bool(true),
  SYNC_FIRST_DEPLOY: env.bool(true),
  /** The engine (workers, planner, recovery) runs in this process; false = API only. */
  SYNC_WORKERS_ENABLED: env.bool(true),
  /** Publisher on/off (tests of the engine alone switch it off). */
  SYNC_PUBLISHER_ENABLED: env.bool(true),
  ALERT_WEBHOOK_URL: env.optionalString(),
  NATS_SUBJECT_PREFIX: z.string().optional().transform((v) => v ?? ''),
  NATS_DUPLICATE_WINDOW_S: env.positiveInt(600),
  NATS_MAX_AGE_H: env.positiveInt(168),
  NATS_MAX_BYTES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return -1;
      const n = Number(v.trim());
      if (!/^-?\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < -1) {
        ctx.addIssue({ code: 'custom', message: 'expected -1 (unlimited) or a byte count' });
        return z.NEVER;
      }
      return n;
    }),
  LOG_LEVEL: env.logLevel('info'),
  /** FULL runs mirror the products' images unless the request says `images: false` (a run may always ask for them). */
  SYNC_IMAGES_IN_FULL: env.bool(true),
  /**
   * How long a checked image is left alone (src/runs/images.ts): a run does not fetch the images
   * of a product whose image URLs are the ones recorded and whose images were all checked (200 or
   * 304) within this, unless it asks recheck_images. `0` or `off`: every run revalidates every image.
   */
  SYNC_IMAGE_RECHECK_AFTER: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const t = (v ?? '').trim().toLowerCase();
      if (t === '') return DEFAULT_IMAGE_RECHECK_AFTER_MS;
      if (t === 'off' || t === '0') return 0;
      const r = env.durationMs().safeParse(t);
      if (!r.success) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 7d, 12h or 30m (a bare number is seconds), or 0/off to revalidate every image in every run' });
        return z.NEVER;
      }
      return r.data;
    }),
  /** The image orphan sweep (src/images/orphan-sweep.ts): its cron (UTC; "off" switches it off), grace period and dry run. */
  SYNC_IMAGE_ORPHAN_CRON: z
    .string()
    .optional()
    .transform((v) => {
      const t = (v ?? '').trim();
      return t === '' ? '30 4 * * *' : ['off', 'disabled', 'none', 'false'].includes(t.toLowerCase()) ? null : t;
    }),
  SYNC_IMAGE_ORPHAN_GRACE: env.durationMs(7 * 86_400_000),
  SYNC_IMAGE_ORPHAN_DRY_RUN: env.bool(true),
  /** The image store the gateway writes and the edge reads (IMAGE_STORE, IMAGE_STORE_DIR, IMAGE_S3_*): the sweep lists and deletes in it. */
  ...imageStoreEnv,
});

export type SyncConfig = z.infer<typeof configSchema>;

export function loadSyncConfig(source: NodeJS.ProcessEnv = process.env): SyncConfig {
  return loadConfig(configSchema, source);
}
