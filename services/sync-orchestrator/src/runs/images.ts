// A batch's images (issue 15): ListImages (what the catalog holds: validators, when each image was
// last checked) -> MirrorImages (the gateway fetches main + pages with conditional GETs into the
// store) for the products that are due -> each product's whole image set rides with the product
// in its UpsertProducts (ProductInput.images), so the catalog records a product and its images in
// one transaction: one change, one event (never a second row for the images). An image never
// fails its product: what went wrong is a WARNING line of the run's log ("image N of CODE:
// reason") and a count; a whole call that fails (the gateway or the catalog's ListImages away)
// turns into warnings for the batch's images, it does not retry the batch.
//
// Due: a product whose image URLs are the ones recorded and whose images were all checked (200 or
// 304) within SYNC_IMAGE_RECHECK_AFTER is left alone (no request to the image host, nothing sent
// to the catalog: its records and checked_at stay); a changed URL list, a failed or missing
// record, or an older check makes the product due, and then all its images are revalidated
// (conditional GETs: a 304 downloads nothing). Each product's window is between half and all of
// the setting (fixed per code), so a catalog checked in one FULL spreads its revalidation over
// the later runs instead of coming due all at once. The run option recheck_images makes every
// product due.
//
// Dry run: nothing is mirrored and nothing is written (the step is skipped; the run's start line
// says "images skipped (dry run)").
import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { ConnectError } from '@connectrpc/connect';
import { catalog, gateway } from '@haier-sync/contracts';
import { redact } from '@haier-sync/runtime';
import type { RunDeps } from './deps';
import type { LogLine } from './repository';

/** The gateway's and the catalog's limits per call. */
const MIRROR_PER_CALL = 500;
const LIST_PER_CALL = 1000;

export interface ImageCounts {
  /** Images fetched in full (new or changed bytes). */
  stored: number;
  /** 304s: the held copy is current. */
  unchanged: number;
  /** Not requested: checked within SYNC_IMAGE_RECHECK_AFTER, URLs as recorded. */
  recent: number;
  failed: number;
  /** Bytes downloaded (STORED images' sizes). */
  bytes: number;
  /** Products whose image content changed (created with images, or new content at a position). */
  productsChanged: number;
}

export const noImages = (): ImageCounts => ({ stored: 0, unchanged: 0, recent: 0, failed: 0, bytes: 0, productsChanged: 0 });

/** One image of a product: position 0 the main image, n page n. */
interface Wanted {
  code: string;
  position: number;
  url: string;
}

/** The images of the listing records: main (when it has one) and every page, in order. */
export function wantedImages(products: readonly Pick<gateway.Product, 'productCode' | 'productImageUrl' | 'productPageUrls'>[]): Wanted[] {
  const out: Wanted[] = [];
  for (const p of products) {
    if (p.productImageUrl) out.push({ code: p.productCode, position: 0, url: p.productImageUrl });
    p.productPageUrls.forEach((url, i) => {
      if (url) out.push({ code: p.productCode, position: i + 1, url });
    });
  }
  return out;
}

/** How a run decides which products' images are due (SYNC_IMAGE_RECHECK_AFTER, the run's recheck_images). */
export interface RecheckPolicy {
  /** 0: every product is due. */
  afterMs: number;
  /** recheck_images: every product is due. */
  all: boolean;
  now?: () => number;
}

/** A product's own window: between half and all of `afterMs`, fixed by its code (spreads revalidation). */
export function recheckWindowMs(code: string, afterMs: number): number {
  const h = createHash('sha256').update(code).digest().readUInt32BE(0) / 0x1_0000_0000;
  return Math.round(afterMs * (0.5 + 0.5 * h));
}

/**
 * Whether a product's images may be left alone: the records are exactly its wanted images (same
 * positions, same URLs), each holds a good copy with no failure, and the oldest check is within
 * the product's window.
 */
export function isRecent(code: string, wanted: readonly Wanted[], held: readonly catalog.ImageRecord[], policy: RecheckPolicy): boolean {
  if (policy.all || policy.afterMs <= 0 || wanted.length === 0 || held.length !== wanted.length) return false;
  const byPosition = new Map(held.map((h) => [h.position, h]));
  let oldest = Infinity;
  for (const w of wanted) {
    const h = byPosition.get(w.position);
    if (!h || h.sourceUrl !== w.url || h.status !== catalog.ImageStatus.STORED || !h.sha256 || h.failure || !h.checkedAt) return false;
    oldest = Math.min(oldest, timestampMs(h.checkedAt));
  }
  return (policy.now?.() ?? Date.now()) - oldest < recheckWindowMs(code, policy.afterMs);
}

const chunks = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const why = (err: unknown): string => redact(ConnectError.from(err).rawMessage);
const label = (w: Pick<Wanted, 'code' | 'position'>): string => `image ${w.position === 0 ? '0 (main)' : w.position} of ${w.code}`;

export interface MirroredBatch {
  /** code -> the product's whole image set as mirrored (only due products; [] = it has none now). */
  sets: Map<string, catalog.ImageInput[]>;
  /** Images left alone (recent), per product code. */
  recent: Map<string, number>;
}

/**
 * Step 1 (in parallel with prices): the held records, then the mirror of the due products. A
 * call that fails as a whole fails its images with the reason (they keep their last good copy).
 */
export async function mirrorBatch(deps: Pick<RunDeps, 'gateway' | 'catalog'>, products: readonly gateway.Product[], policy: RecheckPolicy): Promise<MirroredBatch> {
  const wanted = wantedImages(products);
  const byCode = new Map<string, Wanted[]>(products.map((p) => [p.productCode, []]));
  for (const w of wanted) byCode.get(w.code)!.push(w);
  const held = new Map<string, catalog.ImageRecord[]>();
  let listFailure = '';
  try {
    for (const part of chunks([...byCode.keys()], LIST_PER_CALL)) {
      const r = await deps.catalog.listImages({ productCodes: part }, { timeoutMs: 60_000 });
      for (const rec of r.images) held.set(rec.productCode, [...(held.get(rec.productCode) ?? []), rec]);
    }
  } catch (err) {
    // without the records every image would be downloaded again: fail them for now instead
    listFailure = `the catalog did not list the held images (${why(err)}); the image is checked again next run`;
  }
  const out: MirroredBatch = { sets: new Map(), recent: new Map() };
  const failedInput = (w: Wanted, failure: string) =>
    create(catalog.ImageInputSchema, { productCode: w.code, position: w.position, sourceUrl: w.url, outcome: catalog.ImageInput_Outcome.FAILED, failure });
  const due: Wanted[] = [];
  for (const [code, ws] of byCode) {
    const h = held.get(code) ?? [];
    if (!listFailure && isRecent(code, ws, h, policy)) {
      out.recent.set(code, ws.length);
      continue;
    }
    // a product with no image now and none held has nothing to record
    if (ws.length === 0 && h.length === 0 && !listFailure) continue;
    out.sets.set(code, []);
    due.push(...ws);
  }
  if (listFailure) {
    for (const w of due) out.sets.get(w.code)!.push(failedInput(w, listFailure));
    // an empty set would drop what is held: without the records, leave such products alone
    for (const [code, set] of out.sets) if (set.length === 0) out.sets.delete(code);
    return out;
  }
  const heldAt = (w: Wanted) => held.get(w.code)?.find((h) => h.position === w.position);
  for (const part of chunks(due, MIRROR_PER_CALL)) {
    const asks = part.map((w) => {
      const h = heldAt(w);
      // validators only for the URL they were given for (a moved image is fetched in full)
      const same = h && h.sourceUrl === w.url && h.sha256;
      return create(gateway.ImageToMirrorSchema, { url: w.url, etag: same ? h.etag : '', lastModified: same ? h.lastModified : '', sha256: same ? h.sha256 : '' });
    });
    let answers: gateway.MirroredImage[];
    try {
      answers = (await deps.gateway.mirrorImages({ images: asks }, { timeoutMs: 300_000 })).images;
    } catch (err) {
      const reason = `the gateway could not mirror the batch's images (${why(err)}); the image is checked again next run`;
      for (const w of part) out.sets.get(w.code)!.push(failedInput(w, reason));
      continue;
    }
    part.forEach((w, i) => {
      const a = answers[i];
      const set = out.sets.get(w.code)!;
      if (!a || a.url !== w.url) return void set.push(failedInput(w, 'the gateway gave no answer for this image'));
      if (a.status === gateway.MirrorStatus.STORED) {
        set.push(
          create(catalog.ImageInputSchema, {
            productCode: w.code, position: w.position, sourceUrl: w.url, outcome: catalog.ImageInput_Outcome.STORED,
            sha256: a.sha256, storageKey: a.storageKey, contentType: a.contentType, bytes: Number(a.bytes), width: a.width, height: a.height,
            etag: a.etag, lastModified: a.lastModified,
          }),
        );
      } else if (a.status === gateway.MirrorStatus.UNCHANGED) {
        set.push(create(catalog.ImageInputSchema, { productCode: w.code, position: w.position, sourceUrl: w.url, outcome: catalog.ImageInput_Outcome.UNCHANGED, etag: a.etag, lastModified: a.lastModified }));
      } else {
        const status = a.httpStatus ? ` (HTTP ${a.httpStatus})` : '';
        set.push(failedInput(w, `${a.reason || 'not fetched'}${status}${a.attempts > 1 ? ` after ${a.attempts} attempts` : ''}`));
      }
    });
  }
  return out;
}

/** Step 2: each due product's set on its ProductInput (the catalog records both in one transaction). */
export function attachImages(inputs: readonly catalog.ProductInput[], m: MirroredBatch): void {
  for (const p of inputs) {
    const set = m.sets.get(p.productCode);
    if (!set) continue;
    p.images = set;
    p.hasImages = true;
  }
}

export interface ImagesResult {
  counts: ImageCounts;
  /** WARNING lines for the run's log: one per failed image, one per product whose images the catalog did not record. */
  lines: LogLine[];
}

/**
 * Step 3 (after the products are written): counts and warnings for the products written
 * (`results`: the catalog's answers for the batch's inputs). A product created with images, or
 * whose changed fields name an image, counts as one with image changes.
 */
export function imageOutcome(m: MirroredBatch, results: readonly catalog.ItemResult[], attempt: number): ImagesResult {
  const counts = noImages();
  const lines: LogLine[] = [];
  for (const r of results) {
    if (r.outcome === catalog.ItemOutcome.FAILED) continue;
    counts.recent += m.recent.get(r.productCode) ?? 0;
    const set = m.sets.get(r.productCode);
    if (!set) continue;
    for (const i of set) {
      if (i.outcome === catalog.ImageInput_Outcome.STORED) {
        counts.stored++;
        counts.bytes += i.bytes;
      } else if (i.outcome === catalog.ImageInput_Outcome.UNCHANGED) counts.unchanged++;
      else {
        counts.failed++;
        lines.push({ level: 'WARNING', code: i.productCode, endpoint: 'images', attempt, message: `${label({ code: i.productCode, position: i.position })}: ${i.failure}` });
      }
    }
    const notRecorded = /images not recorded: .*/.exec(r.reason)?.[0];
    if (notRecorded) lines.push({ level: 'WARNING', code: r.productCode, endpoint: 'images', attempt, message: `${notRecorded.replace('images not recorded', `images of ${r.productCode} not recorded`)}` });
    const imageFields = r.changedFields.some((f) => f.startsWith('image.'));
    if (imageFields || (r.outcome === catalog.ItemOutcome.CREATED && set.some((i) => i.outcome !== catalog.ImageInput_Outcome.FAILED))) counts.productsChanged++;
  }
  return { counts, lines };
}

/** Sums two counts (a run's batches). */
export function addCounts(a: ImageCounts, b: Partial<ImageCounts>): ImageCounts {
  return {
    stored: a.stored + (b.stored ?? 0),
    unchanged: a.unchanged + (b.unchanged ?? 0),
    recent: a.recent + (b.recent ?? 0),
    failed: a.failed + (b.failed ?? 0),
    bytes: a.bytes + (b.bytes ?? 0),
    productsChanged: a.productsChanged + (b.productsChanged ?? 0),
  };
}

/** The run summary's part about images, e.g. "images: 1,200 downloaded (3.1 MB), 300 unchanged (304), 800 not due, 2 failed, …". */
export function imagesSummary(c: ImageCounts): string {
  const mb = (c.bytes / 1_048_576).toFixed(1);
  return `images: ${c.stored} downloaded (${mb} MB), ${c.unchanged} unchanged (304), ${c.recent} not due (checked within SYNC_IMAGE_RECHECK_AFTER), ${c.failed} failed, ${c.productsChanged} products with image changes`;
}
