// `node dist/migrate.js`: applies the catalog schema's pending migrations under its advisory lock
// and exits (the k8s initContainer; `haier-sync migrate catalog`). The service also does it at start.
import { migrateMain } from '@haier-sync/runtime/orm';
import { loadCatalogConfig } from './config';
import { CATALOG_SCHEMA } from './orm';

void migrateMain('catalog', CATALOG_SCHEMA, () => loadCatalogConfig().DATABASE_URL);
