export { buildCatalog, type BuildCatalogOptions, type Catalog } from './catalog';
export { runMigrations, initOrm } from './orm';
export { catalogConfigSchema, loadCatalogConfig, type CatalogConfig } from './config';
