// `node dist/migrate.js`: applies the sync schema's pending migrations under its advisory lock
// and exits (the k8s initContainer; `haier-sync migrate sync`). The service also does it at start.
import { migrateMain } from '@haier-sync/runtime/orm';
import { loadSyncConfig } from './config';
import { SYNC_SCHEMA } from './db';

void migrateMain('sync-orchestrator', SYNC_SCHEMA, () => loadSyncConfig(process.env).DATABASE_URL);
