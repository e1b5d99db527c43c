// Catalog writes of concurrent batches, grouped (group-commit.ts). Batches of a run are 20 codes
// (Haier's limit per call), but writing them with one UpsertProducts call each makes the catalog
// pay its per-call cost (a statement to plan, the change-log lock, a commit, a round trip) 2,500
// times for 50,000 products, and concurrent calls queue on that lock. Grouped, the batches that
// wait while a call is in flight go out as one call (same run, same dry-run flag, up to
// maxProducts) and each batch gets exactly its own items' results. A bad record is answered
// FAILED on its own by the catalog; only a call the catalog rejects as a whole (INVALID_ARGUMENT,
// a request-level rule) is sent again batch by batch, so it fails only the batch to blame; any
// other failure (the catalog unavailable) fails the combined batches at once, with no call per batch.
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import type { catalog } from '@haier-sync/contracts';
import { createGroupCommit } from './group-commit';

export interface UpsertRequest {
  products: catalog.ProductInput[];
  runId: string;
  dryRun: boolean;
}

export type UpsertFn = (req: UpsertRequest) => Promise<catalog.ItemResult[]>;

export interface CoalescerOptions {
  /** Calls in flight at once (default 2: the catalog serialises writers of its change log anyway). */
  maxInFlight?: number;
  /** Products in one combined call (default 500; the catalog takes up to 1,000). */
  maxProducts?: number;
}

export function upsertThroughCatalog(client: Client<typeof catalog.CatalogService>): UpsertFn {
  return async (req) => (await client.upsertProducts(req)).results;
}

export function createUpsertCoalescer(send: UpsertFn, opts: CoalescerOptions = {}) {
  const group = createGroupCommit<UpsertRequest, catalog.ItemResult[]>(
    async (reqs) => {
      const products = reqs.flatMap((r) => r.products);
      const results = await send({ products, runId: reqs[0]!.runId, dryRun: reqs[0]!.dryRun });
      if (results.length !== products.length) throw new Error(`the catalog answered ${results.length} results for ${products.length} products`);
      let at = 0;
      return reqs.map((r) => results.slice(at, (at += r.products.length)));
    },
    send,
    {
      maxInFlight: opts.maxInFlight ?? 2,
      maxSize: opts.maxProducts ?? 500,
      key: (r) => `${r.runId}\n${r.dryRun}`,
      size: (r) => r.products.length,
      fallback: (e) => ConnectError.from(e).code === Code.InvalidArgument,
    },
  );
  return { upsert: (req: UpsertRequest) => group.submit(req), stats: group.stats };
}
