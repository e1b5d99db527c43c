// The catalog's environment configuration.
import { z } from 'zod';
import { env, loadConfig } from '@haier-sync/runtime';

export const catalogConfigSchema = z.object({
  DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  CATALOG_PORT: env.port('CATALOG_PORT', 50052),
  CATALOG_DEFAULT_COUNTY: z.string().regex(/^\d{6}$/, 'expected a 6-digit county code such as 110101').default('110101'),
});

export type CatalogConfig = z.infer<typeof catalogConfigSchema>;

export function loadCatalogConfig(source: NodeJS.ProcessEnv = process.env): CatalogConfig {
  return loadConfig(catalogConfigSchema, source);
}
