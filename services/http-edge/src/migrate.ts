// `node dist/migrate.js`: applies the edge schema's pending migrations under its advisory lock and
// exits (the k8s initContainer; `haier-sync migrate edge`). The edge also does it at start.
import { migrateMain } from '@haier-sync/runtime/orm';
import { loadEdgeConfig } from './config';
import { EDGE_SCHEMA } from './db/orm';

void migrateMain('http-edge', EDGE_SCHEMA, () => loadEdgeConfig(process.env).databaseUrl);
