// Catalog writes noted for the run the moment the catalog answers them (repository/items.ts,
// recordWritten), so a batch retried after its write committed still counts what it created or
// updated, not the "unchanged" its retry hears. Wraps the engine's upsert path.
import { catalog } from '@haier-sync/contracts';
import type { Knex } from '../db';
import { recordWritten } from './repository';
import type { UpsertFn } from './upsert-coalescer';

export function notingWrites(knex: Knex, send: UpsertFn): UpsertFn {
  return async (req) => {
    const results = await send(req);
    if (!req.dryRun) {
      const written: Array<{ code: string; outcome: 'created' | 'updated' }> = [];
      for (const r of results) {
        if (r.outcome === catalog.ItemOutcome.CREATED) written.push({ code: r.productCode, outcome: 'created' });
        else if (r.outcome === catalog.ItemOutcome.UPDATED) written.push({ code: r.productCode, outcome: 'updated' });
      }
      await recordWritten(knex, req.runId, written);
    }
    return results;
  };
}
