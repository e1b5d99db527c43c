// A batch's images (issue 15): ListImages (the validators the catalog holds) -> MirrorImages (the
// gateway fetches main + pages with conditional GETs into the store) -> after the products are
// written, UpsertImages with each product's whole image set. An image never fails its product:
// what went wrong is a WARNING line of the run's log ("image N of CODE: reason") and a count; a
// whole call that fails (the gateway or the catalog away) turns into warnings for the batch's
// images, it does not retry the batch (its prices and stock are written already).
//
// Dry run: nothing is mirrored and nothing is written (the step is skipped; the run's start line
// says "images skipped (dry run)").
import { create } from '@bufbuild/protobuf';
import { ConnectError } from '@connectrpc/connect';
import { catalog, gateway } from '@haier-sync/contracts';
import { redact } from '@haier-sync/runtime';
import type { RunDeps } from './deps';
import type { LogLine } from './repository';

/** The gateway's and the catalog's limits per call. */
const MIRROR_PER_CALL = 500;
const LIST_PER_CALL = 1000;
const UPSERT_PER_CALL = 5000;

export interface ImageCounts {
  /** Images fetched in full (new or changed bytes). */
  stored: number;
  /** 304s: the held copy is current. */
  unchanged: number;
  failed: number;
  /** Bytes downloaded (STORED images' sizes). */
  bytes: number;
  /** Products whose image content changed (the catalog's UPDATED). */
  productsChanged: number;
}

export const noImages = (): ImageCounts => ({ stored: 0, unchanged: 0, failed: 0, bytes: 0, productsChanged: 0 });

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

const chunks = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(xs.length / n) }, (_, i) => xs.slice(i * n, i * n + n));
const why = (err: unknown): string => redact(ConnectError.from(err).rawMessage);
const label = (w: Wanted): string => `image ${w.position === 0 ? '0 (main)' : w.position} of ${w.code}`;

export interface MirroredBatch {
  wanted: Wanted[];
  /** Per wanted image, what the mirror found (same order). */
  found: catalog.ImageInput[];
}

/**
 * Step 1 (in parallel with prices and stock): the held validators, then the mirror. A call that
 * fails as a whole fails its images with the reason (they keep their last good copy).
 */
export async function mirrorBatch(deps: Pick<RunDeps, 'gateway' | 'catalog'>, products: readonly gateway.Product[]): Promise<MirroredBatch> {
  const wanted = wantedImages(products);
  const held = new Map<string, catalog.ImageRecord>();
  let listFailure = '';
  try {
    const codes = [...new Set(wanted.map((w) => w.code))];
    for (const part of chunks(codes, LIST_PER_CALL)) {
      const r = await deps.catalog.listImages({ productCodes: part }, { timeoutMs: 60_000 });
      for (const rec of r.images) held.set(`${rec.productCode}\u0000${rec.position}`, rec);
    }
  } catch (err) {
    // without the validators every image would be downloaded again: fail them for now instead
    listFailure = `the catalog did not list the held images (${why(err)}); the image is checked again next run`;
  }
  const found: catalog.ImageInput[] = [];
  const failedInput = (w: Wanted, failure: string) =>
    create(catalog.ImageInputSchema, { productCode: w.code, position: w.position, sourceUrl: w.url, outcome: catalog.ImageInput_Outcome.FAILED, failure });
  if (listFailure) return { wanted, found: wanted.map((w) => failedInput(w, listFailure)) };

  for (const part of chunks(wanted, MIRROR_PER_CALL)) {
    const asks = part.map((w) => {
      const h = held.get(`${w.code}\u0000${w.position}`);
      // validators only for the URL they were given for (a moved image is fetched in full)
      const same = h && h.sourceUrl === w.url && h.sha256;
      return create(gateway.ImageToMirrorSchema, { url: w.url, etag: same ? h.etag : '', lastModified: same ? h.lastModified : '', sha256: same ? h.sha256 : '' });
    });
    let answers: gateway.MirroredImage[];
    try {
      answers = (await deps.gateway.mirrorImages({ images: asks }, { timeoutMs: 300_000 })).images;
    } catch (err) {
      const reason = `the gateway could not mirror the batch's images (${why(err)}); the image is checked again next run`;
      for (const w of part) found.push(failedInput(w, reason));
      continue;
    }
    part.forEach((w, i) => {
      const a = answers[i];
      if (!a || a.url !== w.url) return void found.push(failedInput(w, 'the gateway gave no answer for this image'));
      if (a.status === gateway.MirrorStatus.STORED) {
        found.push(
          create(catalog.ImageInputSchema, {
            productCode: w.code, position: w.position, sourceUrl: w.url, outcome: catalog.ImageInput_Outcome.STORED,
            sha256: a.sha256, storageKey: a.storageKey, contentType: a.contentType, bytes: Number(a.bytes), width: a.width, height: a.height,
            etag: a.etag, lastModified: a.lastModified,
          }),
        );
      } else if (a.status === gateway.MirrorStatus.UNCHANGED) {
        found.push(create(catalog.ImageInputSchema, { productCode: w.code, position: w.position, sourceUrl: w.url, outcome: catalog.ImageInput_Outcome.UNCHANGED, etag: a.etag, lastModified: a.lastModified }));
      } else {
        const status = a.httpStatus ? ` (HTTP ${a.httpStatus})` : '';
        found.push(failedInput(w, `${a.reason || 'not fetched'}${status}${a.attempts > 1 ? ` after ${a.attempts} attempts` : ''}`));
      }
    });
  }
  return { wanted, found };
}

export interface ImagesResult {
  counts: ImageCounts;
  /** WARNING lines for the run's log: one per failed image, one per product the catalog refused. */
  lines: LogLine[];
  /** "CODE images changed: image.main, ..." for the run's planned changes. */
  changes: string[];
  /** Products whose image content changed (the run counts them updated). */
  updated: string[];
}

/**
 * Step 2 (after the products are written): each product's whole set to the catalog. `written`
 * counts the codes whose record is in the catalog (only their images are sent).
 */
export async function recordImages(deps: Pick<RunDeps, 'catalog'>, m: MirroredBatch, written: ReadonlySet<string>, runId: string, attempt: number): Promise<ImagesResult> {
  const counts = noImages();
  const lines: LogLine[] = [];
  const changes: string[] = [];
  const updated: string[] = [];
  const inputs = m.found.filter((i) => written.has(i.productCode));
  for (const i of inputs) {
    if (i.outcome === catalog.ImageInput_Outcome.STORED) {
      counts.stored++;
      counts.bytes += i.bytes;
    } else if (i.outcome === catalog.ImageInput_Outcome.UNCHANGED) counts.unchanged++;
    else {
      counts.failed++;
      lines.push({ level: 'WARNING', code: i.productCode, endpoint: 'images', attempt, message: `${label({ code: i.productCode, position: i.position, url: i.sourceUrl })}: ${i.failure}` });
    }
  }
  // a product's set never splits across calls (the catalog drops positions a call lacks)
  const byCode = new Map<string, catalog.ImageInput[]>();
  for (const i of inputs) byCode.set(i.productCode, [...(byCode.get(i.productCode) ?? []), i]);
  const groups: catalog.ImageInput[][] = [];
  let cur: catalog.ImageInput[] = [];
  for (const set of byCode.values()) {
    if (cur.length + set.length > UPSERT_PER_CALL) {
      groups.push(cur);
      cur = [];
    }
    cur.push(...set);
  }
  if (cur.length) groups.push(cur);
  for (const images of groups) {
    try {
      const r = await deps.catalog.upsertImages({ images, runId, dryRun: false }, { timeoutMs: 120_000 });
      for (const res of r.results) {
        if (res.outcome === catalog.ItemOutcome.UPDATED) {
          counts.productsChanged++;
          updated.push(res.productCode);
          changes.push(`${res.productCode} images changed${res.changedFields.length ? `: ${res.changedFields.join(', ')}` : ''}`);
        } else if (res.outcome === catalog.ItemOutcome.FAILED) {
          lines.push({ level: 'WARNING', code: res.productCode, endpoint: 'images', attempt, message: `images of ${res.productCode} not recorded: ${res.reason || 'the catalog refused them'}` });
        }
      }
    } catch (err) {
      const codes = [...new Set(images.map((i) => i.productCode))];
      lines.push({ level: 'WARNING', endpoint: 'images', attempt, message: `images of ${codes.length} products not recorded (${codes.slice(0, 5).join(', ')}${codes.length > 5 ? ', …' : ''}): the catalog answered ${why(err)}; they are mirrored again next run` });
    }
  }
  return { counts, lines, changes, updated };
}

/** Sums two counts (a run's batches). */
export function addCounts(a: ImageCounts, b: Partial<ImageCounts>): ImageCounts {
  return {
    stored: a.stored + (b.stored ?? 0),
    unchanged: a.unchanged + (b.unchanged ?? 0),
    failed: a.failed + (b.failed ?? 0),
    bytes: a.bytes + (b.bytes ?? 0),
    productsChanged: a.productsChanged + (b.productsChanged ?? 0),
  };
}

/** The run summary's part about images, e.g. "images: 1,200 downloaded (3.1 MB), 300 unchanged, 2 failed". */
export function imagesSummary(c: ImageCounts): string {
  const mb = (c.bytes / 1_048_576).toFixed(1);
  return `images: ${c.stored} downloaded (${mb} MB), ${c.unchanged} unchanged (304), ${c.failed} failed, ${c.productsChanged} products with image changes`;
}
