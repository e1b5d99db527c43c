// Product images as an image host would serve them: deterministic PNGs at the URLs the catalog
// gives (`/images/main/<code>.png`, `/images/detail/<code>/<n>.png`), with ETag, Last-Modified
// and conditional GET (304). Models of one family share pictures as real catalogs do: ten
// neighbouring products draw each role's picture from three variants, so about 30% of the
// images are distinct content. A mutation (imageChangeShare) or changeImage(code) gives a
// product's images new, unique content. Faults are per product code (setImageFault) or by rate
// (imageFaults), decided per URL so that the same URL fails the same way on every try.
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PNG } from 'pngjs';
import { hash32, hashString, unit } from './hash';
import type { ImageFaultKind, ImageFaults } from './types';

/** Where the images live under the simulator's own URL. */
export const IMAGE_PATH_PREFIX = '/images/';
const FAMILY_SIZE = 10;
const VARIANTS = 3;
/** The day every image was first published; each change moves Last-Modified one day on. */
const PUBLISHED = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;
const CACHE_ENTRIES = 4096;

export const NO_IMAGE_FAULTS: ImageFaults = {
  notFoundRate: 0, serverErrorRate: 0, slowRate: 0, slowMs: 5000, wrongTypeRate: 0, oversizedRate: 0, oversizedBytes: 12 * 1024 * 1024,
};

export const IMAGE_FAULT_KINDS: readonly ImageFaultKind[] = ['not_found', 'server_error', 'slow', 'wrong_type', 'oversized'];

/** Which picture of a product: its main image (page 0) or detail page n (1-based). */
export interface ImageRef {
  code: string;
  page: number;
}

/** `/images/main/BB1234567.png` → {code, page 0}; `/images/detail/BB1234567/2.png` → {code, page 2}. */
export function parseImagePath(path: string): ImageRef | undefined {
  const m = /^\/images\/(?:main\/([A-Z0-9]+)\.png|detail\/([A-Z0-9]+)\/([1-9]\d?)\.png)$/.exec(path);
  if (!m) return undefined;
  return m[1] ? { code: m[1], page: 0 } : { code: m[2]!, page: Number(m[3]) };
}

export function imagePath(code: string, page: number): string {
  return page === 0 ? `${IMAGE_PATH_PREFIX}main/${code}.png` : `${IMAGE_PATH_PREFIX}detail/${code}/${page}.png`;
}

/** What one image is: the identity of its content and how often it has changed. */
export interface ImageIdentity {
  /** Equal for images with the same bytes. */
  content: string;
  version: number;
}

/** The content identity of (product index, page): shared within a family until the product's images change. */
export function imageIdentity(seed: number, index: number, page: number, version: number): ImageIdentity {
  if (version > 0) return { content: `own:${seed}:${index}:${page}:${version}`, version };
  const family = Math.floor(index / FAMILY_SIZE);
  const variant = hash32(seed, index, page, 0x1a6e) % VARIANTS;
  return { content: `family:${seed}:${family}:${page}:${variant}`, version };
}

export interface RenderedImage {
  bytes: Buffer;
  etag: string;
  lastModified: string;
  width: number;
  height: number;
}

const cache = new Map<string, RenderedImage>();

/** The PNG for a content identity: a few coloured blocks drawn from its hash. Same identity, same bytes. */
export function renderImage(id: ImageIdentity): RenderedImage {
  const key = `${id.content}@${id.version}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const h = hashString(id.content);
  const width = 96 + (h % 5) * 16;
  const height = 72 + ((h >>> 3) % 4) * 12;
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  const colour = (salt: number): [number, number, number] => {
    const c = hash32(h, salt);
    return [c & 0xff, (c >>> 8) & 0xff, (c >>> 16) & 0xff];
  };
  const bg = colour(1);
  const blocks = Array.from({ length: 3 }, (_, b) => {
    const r = hash32(h, 10 + b);
    return { x: r % width, y: (r >>> 8) % height, w: 8 + ((r >>> 16) % (width / 2)), hgt: 8 + ((r >>> 24) % (height / 2)), c: colour(20 + b) };
  });
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let c = bg;
      for (const b of blocks) if (x >= b.x && x < b.x + b.w && y >= b.y && y < b.y + b.hgt) c = b.c;
      const o = (y * width + x) * 3;
      data[o] = c[0];
      data[o + 1] = c[1];
      data[o + 2] = c[2];
    }
  }
  png.data = data;
  // filter 0 (none): flat blocks compress well without it, and the adaptive filter search is slow
  const bytes = PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false, filterType: 0 });
  const image: RenderedImage = {
    bytes,
    etag: `"${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}"`,
    lastModified: new Date(PUBLISHED + id.version * DAY_MS).toUTCString(),
    width,
    height,
  };
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, image);
  return image;
}

/** The fault (if any) for this URL: a product's own fault first, then the rates (one roll per URL). */
export function imageFaultFor(seed: number, path: string, own: ImageFaultKind | undefined, f: ImageFaults): ImageFaultKind | undefined {
  if (own) return own;
  const rates: Array<[ImageFaultKind, number]> = [
    ['not_found', f.notFoundRate], ['server_error', f.serverErrorRate], ['slow', f.slowRate], ['wrong_type', f.wrongTypeRate], ['oversized', f.oversizedRate],
  ];
  if (rates.every(([, r]) => r <= 0)) return undefined;
  let u = unit(seed, hashString(path), 0x1f);
  for (const [kind, rate] of rates) if ((u -= rate) < 0) return kind;
  return undefined;
}

/** Whether the request's validators match (If-None-Match wins over If-Modified-Since, as RFC 9110 says). */
export function notModified(req: IncomingMessage, image: RenderedImage): boolean {
  const inm = req.headers['if-none-match'];
  if (inm !== undefined) return inm.split(',').some((t) => t.trim() === '*' || t.trim().replace(/^W\//, '') === image.etag);
  const ims = req.headers['if-modified-since'];
  if (ims === undefined) return false;
  const since = Date.parse(ims);
  return Number.isFinite(since) && Date.parse(image.lastModified) <= since;
}

/** Sends `size` bytes that start like a PNG, in chunks, minding backpressure. */
export async function sendOversized(res: ServerResponse, size: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'image/png', 'content-length': size });
  const chunk = Buffer.alloc(64 * 1024);
  PNG_SIGNATURE.copy(chunk);
  for (let sent = 0; sent < size && !res.destroyed; ) {
    const n = Math.min(chunk.length, size - sent);
    sent += n;
    if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await new Promise((r) => res.once('drain', r));
  }
  res.end();
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
