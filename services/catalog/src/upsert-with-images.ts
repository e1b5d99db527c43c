// UpsertProducts with the products' images (ProductInput.has_images, a sync run's images option):
// the product write and the image records in ONE transaction, so a product and its images that
// changed together are one change: one version step, one change-log row, one event (the product
// write leaves its row to the image step, which appends it once with the image fields and the
// snapshot with the images: the change log is append-only, a row is never amended). A
// FULL run's first sync with images creates each product with its images in one `created` row.
// An image set the catalog cannot record (a bad input) is a warning in the product's result, never
// a failure of the product: the product is written, its images are left as they were.
import type { EntityManager } from '@mikro-orm/postgresql';
import type { LogEntry } from './change-log';
import { upsertImages, type ImageInputRow, type ImageProductResult } from './images';
import type { NormalisedInput } from './product-input';
import { resolveNames, upsertProducts, type UpsertItemResult, type UpsertOutcome } from './upsert-products';
import { withRetry } from './transaction';

/** `images` holds each product's whole set (code -> its images; an empty list drops every image it had). */
export async function upsertWithImages(
  em: EntityManager,
  items: readonly NormalisedInput[],
  images: ReadonlyMap<string, readonly ImageInputRow[]>,
  opts: { runId: string; warnings?: Map<string, string> },
): Promise<UpsertOutcome> {
  // categories and brands on their own first (committed, cached): never created inside the batch's transaction
  await resolveNames(em, items.filter((i) => !i.pricesOnly));
  const { products, pictures } = await withRetry(() =>
    em.transactional(async (tem) => {
      const deferred = new Map<string, LogEntry>();
      const products = await upsertProducts(tem, items, { ...opts, inTransaction: true, deferLog: new Set(images.keys()), deferred });
      const written = new Set(products.results.filter((r) => r.outcome !== 'failed').map((r) => r.code));
      const rows = [...images].filter(([code]) => written.has(code)).flatMap(([code, set]) => set.map((i) => ({ ...i, code })));
      const emptySets = [...images].filter(([code, set]) => set.length === 0 && written.has(code)).map(([code]) => code);
      const pictures = rows.length || emptySets.length || deferred.size ? await upsertImages(tem, rows, { runId: opts.runId, pending: deferred, emptySets }) : undefined;
      return { products, pictures };
    }),
  );
  if (!pictures) return products;
  const byCode = new Map<string, ImageProductResult>(pictures.results.map((r) => [r.code, r]));
  const out: UpsertOutcome = { results: [], created: 0, updated: 0, unchanged: 0, failed: 0 };
  for (const r of products.results) {
    const img = byCode.get(r.code);
    let merged: UpsertItemResult = r;
    if (img && r.outcome !== 'failed') {
      if (img.outcome === 'failed') merged = { ...r, reason: [r.reason, `images not recorded: ${img.reason}`].filter(Boolean).join('; ') };
      else if (img.outcome === 'updated') {
        // created keeps its outcome (its row is the created one, images included); otherwise the image fields join the product's
        merged = r.outcome === 'created' ? r : { ...r, outcome: 'updated', changedFields: [...r.changedFields, ...img.changedFields], version: img.version };
      }
    }
    out[merged.outcome]++;
    out.results.push(merged);
  }
  return out;
}
