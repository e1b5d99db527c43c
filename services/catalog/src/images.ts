// The catalog's record of each product image (issue 15): what the mirror found per image goes
// into catalog.product_image; the content of the current images goes into product.images, and a
// change of content there is a product change (version + 1, one change-log row naming each image
// that changed). A 304 or a refreshed validator only moves checked_at; a failed fetch keeps the
// last good copy and records why. One transaction per batch, a few statements whatever its size.
import type { EntityManager } from '@mikro-orm/postgresql';
import { parseImageKey } from '@haier-sync/runtime/image-store';
import { rules } from '@haier-sync/contracts';
import { appendChanges, type LogEntry } from './change-log';
import { json, type FieldChange } from './change-detection';
import type { StoredProductImage } from './product-table';
import { TEXT_ARRAY, query, unnestAs, unnestParams } from './sql';
import { withRetry } from './transaction';

/** Images one UpsertImages call may carry, and codes/keys one ListImages/ImageKeysInUse may ask for. */
export const MAX_IMAGES_PER_UPSERT = 5000;
export const MAX_CODES_PER_IMAGE_LIST = 1000;
/** Images one UpsertProducts call may carry with its products (up to 1,000 products of ~20 images). */
export const MAX_IMAGES_PER_PRODUCT_WRITE = 20_000;
/** A product's main image and pages: positions 0..MAX_POSITION. */
const MAX_POSITION = 99;

export type ImageOutcome = 'stored' | 'unchanged' | 'failed';

export interface ImageInputRow {
  code: string;
  position: number;
  sourceUrl: string;
  outcome: ImageOutcome;
  sha256: string;
  storageKey: string;
  contentType: string;
  bytes: number;
  width: number;
  height: number;
  etag: string;
  lastModified: string;
  failure: string;
}

/** A row of catalog.product_image as reads return it. */
export interface ImageRecordRow {
  product_code: string;
  position: number;
  source_url: string;
  status: 'stored' | 'failed';
  sha256: string | null;
  storage_key: string | null;
  content_type: string | null;
  bytes: string | null;
  width: number | null;
  height: number | null;
  etag: string;
  last_modified: string;
  failure: string;
  fetched_at: Date | null;
  checked_at: Date;
}

export interface ImageProductResult {
  code: string;
  outcome: 'updated' | 'unchanged' | 'failed';
  changedFields: string[];
  version: number;
  reason: string;
}

export interface ImagesOutcome {
  results: ImageProductResult[];
  updated: number;
  unchanged: number;
  failed: number;
  imagesFailed: number;
}

/** `image.main` for position 0, `image.page.N` for page N: the change-log field of an image. */
export const imageField = (position: number): string => (position === 0 ? 'image.main' : `image.page.${position}`);

/** Why an input cannot be recorded, or undefined. */
function problemOf(i: ImageInputRow): string | undefined {
  const codeProblem = rules.checkText(rules.productCode, i.code);
  if (codeProblem) return `product_code ${codeProblem}`;
  if (!Number.isInteger(i.position) || i.position < 0 || i.position > MAX_POSITION) return `position ${i.position} is not 0 (main) to ${MAX_POSITION} (page)`;
  if (!rules.httpUrl(i.sourceUrl)) return `image ${i.position}: source_url is not an http(s) URL`;
  if (!['stored', 'unchanged', 'failed'].includes(i.outcome)) return `image ${i.position}: outcome must be STORED, UNCHANGED or FAILED`;
  if (i.outcome === 'stored') {
    const key = parseImageKey(i.storageKey);
    if (!key || key.sha256 !== i.sha256) return `image ${i.position}: storage_key "${i.storageKey.slice(0, 100)}" is not the content key of sha256 ${i.sha256.slice(0, 64)}`;
    if (key.contentType !== i.contentType) return `image ${i.position}: content_type ${i.contentType} does not match its key's type ${key.contentType}`;
    if (!(i.bytes > 0)) return `image ${i.position}: bytes must be more than 0`;
  }
  if (i.outcome === 'failed' && !i.failure.trim()) return `image ${i.position}: a failed image needs its failure reason`;
  return undefined;
}

const RECORD_COLUMNS = [
  ['product_code', 'text'],
  ['position', 'int'],
  ['source_url', 'text'],
  ['status', 'text'],
  ['sha256', 'text'],
  ['storage_key', 'text'],
  ['content_type', 'text'],
  ['bytes', 'bigint'],
  ['width', 'int'],
  ['height', 'int'],
  ['etag', 'text'],
  ['last_modified', 'text'],
  ['failure', 'text'],
  ['fetched', 'boolean'],
] as const;

type RecordWrite = { [K in (typeof RECORD_COLUMNS)[number][0]]: unknown };

function summaryOf(r: Pick<ImageRecordRow, 'position' | 'sha256' | 'storage_key' | 'content_type' | 'bytes' | 'width' | 'height'>): StoredProductImage | undefined {
  if (!r.sha256 || !r.storage_key) return undefined;
  return { position: r.position, storageKey: r.storage_key, sha256: r.sha256, contentType: r.content_type ?? '', bytes: Number(r.bytes ?? 0), width: r.width ?? 0, height: r.height ?? 0 };
}

export interface UpsertImagesOptions {
  runId: string;
  dryRun?: boolean;
  /**
   * code -> the product's own change that the caller's transaction wrote but has not logged yet
   * (UpsertProducts with images, whose version step is taken): appended here once, after the
   * images, with the image fields added and no second version step, so the product's change is
   * one row (its snapshot with the images) and one event. The change log is append-only, so
   * the row is written once, complete.
   */
  pending?: ReadonlyMap<string, LogEntry>;
  /** Products whose whole set is empty now (no image URL left): every image they had is dropped. */
  emptySets?: readonly string[];
}

export async function upsertImages(em: EntityManager, inputs: readonly ImageInputRow[], opts: UpsertImagesOptions): Promise<ImagesOutcome> {
  const failed = new Map<string, string>();
  const byCode = new Map<string, ImageInputRow[]>();
  for (const i of inputs) {
    const list = byCode.get(i.code) ?? [];
    byCode.set(i.code, list);
    const problem = problemOf(i);
    if (problem) failed.set(i.code, problem);
    else if (list.some((x) => x.position === i.position)) failed.set(i.code, `image ${i.position} sent twice; send each position once`);
    list.push(i);
  }
  for (const code of opts.emptySets ?? []) if (!byCode.has(code)) byCode.set(code, []);
  const codes = [...byCode.keys()].sort();
  return withRetry(() =>
    em.transactional(async (tem) => {
      const valid = codes.filter((c) => !failed.has(c));
      const products = await query<{ code: string; version: string; images: StoredProductImage[] }>(
        tem,
        `select code, version::text as version, images from catalog.product where code = any(${TEXT_ARRAY}) order by code${opts.dryRun ? '' : ' for update'}`,
        [JSON.stringify(valid)],
      );
      const product = new Map(products.map((p) => [p.code, p]));
      const held = await query<ImageRecordRow>(tem, `select * from catalog.product_image where product_code = any(${TEXT_ARRAY})`, [JSON.stringify(valid)]);
      const heldBy = new Map(held.map((r) => [`${r.product_code}\u0000${r.position}`, r]));

      const writes: RecordWrite[] = [];
      const changed: Array<{ code: string; images: StoredProductImage[]; fields: FieldChange[] }> = [];
      let imagesFailed = 0;
      for (const code of valid) {
        const p = product.get(code);
        if (!p) {
          failed.set(code, `unknown product_code "${code}": upsert the product before its images`);
          continue;
        }
        const next: StoredProductImage[] = [];
        for (const i of byCode.get(code)!.sort((a, b) => a.position - b.position)) {
          const before = heldBy.get(`${code}\u0000${i.position}`);
          let w: RecordWrite;
          if (i.outcome === 'stored') {
            w = { product_code: code, position: i.position, source_url: i.sourceUrl, status: 'stored', sha256: i.sha256, storage_key: i.storageKey, content_type: i.contentType, bytes: i.bytes, width: i.width, height: i.height, etag: i.etag, last_modified: i.lastModified, failure: '', fetched: true };
          } else {
            // a 304 confirms the held copy; a failure keeps it (the last good copy) with the reason
            const unconfirmed = i.outcome === 'unchanged' && !before?.sha256;
            const failure = i.outcome === 'failed' ? i.failure : unconfirmed ? 'the image host answered 304 for an image the catalog does not hold; it is fetched in full next time' : '';
            if (failure) imagesFailed++;
            w = {
              product_code: code, position: i.position, source_url: i.sourceUrl, status: failure ? 'failed' : 'stored',
              sha256: before?.sha256 ?? null, storage_key: before?.storage_key ?? null, content_type: before?.content_type ?? null, bytes: before?.bytes ?? null,
              width: before?.width ?? null, height: before?.height ?? null,
              etag: i.outcome === 'unchanged' ? i.etag || (before?.etag ?? '') : (before?.etag ?? ''),
              last_modified: i.outcome === 'unchanged' ? i.lastModified || (before?.last_modified ?? '') : (before?.last_modified ?? ''),
              failure, fetched: false,
            };
          }
          writes.push(w);
          const s = summaryOf({ position: i.position, sha256: w.sha256 as string | null, storage_key: w.storage_key as string | null, content_type: w.content_type as string | null, bytes: w.bytes === null ? null : String(w.bytes), width: w.width as number | null, height: w.height as number | null });
          if (s) next.push(s);
        }
        const fields = diffImages(p.images ?? [], next);
        if (fields.length) changed.push({ code, images: next, fields });
      }

      if (!opts.dryRun) {
        const sent = valid.filter((c) => product.has(c));
        if (sent.length) {
          // positions a product no longer has
          await query(
            tem,
            `delete from catalog.product_image i using json_to_recordset(?::json) as x(code text, positions int[])
             where i.product_code = x.code and not (i.position = any(x.positions))`,
            [JSON.stringify(sent.map((c) => ({ code: c, positions: byCode.get(c)!.map((i) => i.position) })))],
          );
        }
        if (writes.length) {
          await query(
            tem,
            `insert into catalog.product_image (product_code, position, source_url, status, sha256, storage_key, content_type, bytes, width, height, etag, last_modified, failure, fetched_at, checked_at)
             select x.product_code, x.position, x.source_url, x.status, x.sha256, x.storage_key, x.content_type, x.bytes, x.width, x.height, x.etag, x.last_modified, x.failure,
                    case when x.fetched then now() end, now()
             from ${unnestAs('x', RECORD_COLUMNS)} order by x.product_code, x.position
             on conflict (product_code, position) do update set source_url = excluded.source_url, status = excluded.status, sha256 = excluded.sha256,
               storage_key = excluded.storage_key, content_type = excluded.content_type, bytes = excluded.bytes, width = excluded.width, height = excluded.height,
               etag = excluded.etag, last_modified = excluded.last_modified, failure = excluded.failure,
               fetched_at = coalesce(excluded.fetched_at, catalog.product_image.fetched_at), checked_at = excluded.checked_at`,
            unnestParams(writes, RECORD_COLUMNS),
          );
        }
        const folded = changed.filter((c) => opts.pending?.has(c.code));
        const own = changed.filter((c) => !opts.pending?.has(c.code));
        if (own.length) {
          await query(
            tem,
            `update catalog.product p set images = x.images, version = p.version + 1, updated_at = now()
             from json_to_recordset(?::json) as x(code text, images jsonb) where p.code = x.code`,
            [JSON.stringify(own.map((c) => ({ code: c.code, images: c.images })))],
          );
        }
        if (folded.length) {
          // the product's own change of this transaction took the version step already
          await query(
            tem,
            `update catalog.product p set images = x.images from json_to_recordset(?::json) as x(code text, images jsonb) where p.code = x.code`,
            [JSON.stringify(folded.map((c) => ({ code: c.code, images: c.images })))],
          );
        }
        const imageFields = new Map(changed.map((c) => [c.code, c.fields]));
        // one row per change: an images-only change, or the product's own change with its image fields (a created row keeps no field list)
        const log: LogEntry[] = [
          ...own.map((c): LogEntry => ({ code: c.code, kind: 'updated', fields: c.fields })),
          ...[...(opts.pending?.values() ?? [])].map((e): LogEntry => ({ ...e, fields: e.kind === 'created' ? [] : [...e.fields, ...(imageFields.get(e.code) ?? [])] })),
        ];
        if (log.length) await appendChanges(tem, log, opts.runId);
      }

      const changedBy = new Map(changed.map((c) => [c.code, c]));
      const out: ImagesOutcome = { results: [], updated: 0, unchanged: 0, failed: 0, imagesFailed };
      for (const code of codes) {
        const why = failed.get(code);
        const p = product.get(code);
        if (why || !p) {
          out.failed++;
          out.results.push({ code, outcome: 'failed', changedFields: [], version: 0, reason: why ?? 'unknown product' });
          continue;
        }
        const c = changedBy.get(code);
        if (c) {
          out.updated++;
          const version = Number(p.version) + (opts.pending?.has(code) ? 0 : 1);
          out.results.push({ code, outcome: 'updated', changedFields: c.fields.map((f) => f.field), version, reason: '' });
        } else {
          out.unchanged++;
          out.results.push({ code, outcome: 'unchanged', changedFields: [], version: Number(p.version), reason: '' });
        }
      }
      return out;
    }),
  );
}

/** One field change per position whose content differs (added, removed or new bytes). */
function diffImages(before: readonly StoredProductImage[], after: readonly StoredProductImage[]): FieldChange[] {
  const b = new Map(before.map((i) => [i.position, i]));
  const a = new Map(after.map((i) => [i.position, i]));
  const positions = [...new Set([...b.keys(), ...a.keys()])].sort((x, y) => x - y);
  const out: FieldChange[] = [];
  for (const pos of positions) {
    const x = b.get(pos);
    const y = a.get(pos);
    if (x && y && x.sha256 === y.sha256 && x.storageKey === y.storageKey && x.width === y.width && x.height === y.height) continue;
    out.push({ field: imageField(pos), before: x ? json(x) : 'null', after: y ? json(y) : 'null' });
  }
  return out;
}

export async function listImages(em: EntityManager, codes: readonly string[]): Promise<ImageRecordRow[]> {
  return query<ImageRecordRow>(em, `select * from catalog.product_image where product_code = any(${TEXT_ARRAY}) order by product_code, position`, [JSON.stringify(codes)]);
}

export async function imageKeysInUse(em: EntityManager, keys: readonly string[]): Promise<string[]> {
  const rows = await query<{ storage_key: string }>(
    em,
    `select distinct storage_key from catalog.product_image where storage_key = any(${TEXT_ARRAY}) order by storage_key`,
    [JSON.stringify(keys)],
  );
  return rows.map((r) => r.storage_key);
}
