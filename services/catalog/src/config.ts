// The catalog's environment configuration.
import { z } from 'zod';
import { rules } from '@haier-sync/contracts';
import { env, loadConfig } from '@haier-sync/runtime';

export const catalogConfigSchema = z.object({
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  CATALOG_PORT: env.port('CATALOG_PORT', 50052),
  CATALOG_METRICS_PORT: env.optionalPort('CATALOG_METRICS_PORT'),
  /**
   * The orchestrator's variable, read here too (the shared configuration sets it for both): a
   * listed product whose headline stock is below it is low stock, for Stats' stock ages, the
   * metrics and ListStockCheckDue.
   */
  SYNC_LOW_STOCK_THRESHOLD: env.nonNegativeInt(rules.DEFAULT_LOW_STOCK_THRESHOLD),
  CATALOG_DEFAULT_COUNTY: z.string().regex(new RegExp(rules.countyCode.pattern), `expected ${rules.countyCode.what}: ${rules.countyCode.explain} (e.g. ${rules.countyCode.example})`).default('110101'),
});

export type CatalogConfig = z.infer<typeof catalogConfigSchema>;

export function loadCatalogConfig(source: NodeJS.ProcessEnv = process.env): CatalogConfig {
  return loadConfig(catalogConfigSchema, source);
}
