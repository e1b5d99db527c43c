// Product images mirrored into the shop's image store (issue 15): a product's image list (what
// the catalog knows per image), and the bytes at a content-addressed URL. A key names its bytes
// forever, so the bytes are `immutable` with the SHA-256 as their ETag; from an S3 store the edge
// answers a redirect to a short-lived presigned URL instead of relaying the bytes.
import { catalog } from '@haier-sync/contracts';
import { parseImageKey } from '@haier-sync/runtime/image-store';
import type { FastifyInstance } from 'fastify';
import type { EdgeContext } from '../context';
import { iso } from '../domain/run-view';
import { EdgeError } from '../domain/errors';
import { codeParam, errors, listAnswer } from '../schemas';

/** Where the bytes of a stored image are served (the key is the store's content key). */
export const IMAGE_PATH = '/api/haier/images/';
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'private, no-cache';

const imageItem = {
  type: 'object',
  properties: {
    position: { type: 'integer', description: '0 = the main image, n = page n' },
    role: { type: 'string', enum: ['main', 'page'] },
    source_url: { type: 'string', description: "Where Haier serves it (product_image_url / product_page_urls)" },
    status: { type: 'string', enum: ['stored', 'failed'], description: 'failed: the last fetch failed (failure says why); the stored copy, if any, is the last good one' },
    url: { type: ['string', 'null'], description: `The mirrored bytes (${IMAGE_PATH}<storage_key>); null when never fetched` },
    storage_key: { type: ['string', 'null'] },
    sha256: { type: ['string', 'null'] },
    content_type: { type: ['string', 'null'] },
    bytes: { type: ['integer', 'null'] },
    width: { type: ['integer', 'null'] },
    height: { type: ['integer', 'null'] },
    failure: { type: 'string' },
    fetched_at: { type: ['string', 'null'] },
    checked_at: { type: ['string', 'null'] },
  },
} as const;

function imageOut(r: catalog.ImageRecord) {
  const held = r.storageKey !== '';
  return {
    position: r.position,
    role: r.position === 0 ? 'main' : 'page',
    source_url: r.sourceUrl,
    status: r.status === catalog.ImageStatus.FAILED ? 'failed' : 'stored',
    url: held ? `${IMAGE_PATH}${r.storageKey}` : null,
    storage_key: held ? r.storageKey : null,
    sha256: held ? r.sha256 : null,
    content_type: held ? r.contentType : null,
    bytes: held ? r.bytes : null,
    width: held ? r.width : null,
    height: held ? r.height : null,
    failure: r.failure,
    fetched_at: iso(r.fetchedAt),
    checked_at: iso(r.checkedAt),
  };
}

export function imageRoutes(app: FastifyInstance, ctx: EdgeContext): void {
  const { catalog: cat } = ctx.clients;

  app.get<{ Params: { code: string } }>(
    '/api/haier/catalog/products/:code/images/',
    {
      config: { role: 'viewer', cacheControl: REVALIDATE },
      schema: {
        tags: ['catalog'],
        operationId: 'listProductImages',
        summary: "A product's images: main first, then pages; where each is mirrored and how its last fetch went",
        params: codeParam,
        response: listAnswer(imageItem),
      },
    },
    async (req) => {
      const code = req.params.code;
      const p = await cat.getProduct({ productCode: code });
      if (!p.product) throw new EdgeError(404, 'NOT_FOUND', `No product ${code} in the catalog; run a sync or check the code.`);
      const r = await cat.listImages({ productCodes: [code] });
      const results = r.images.map(imageOut);
      return { success: true, count: results.length, results };
    },
  );

  app.get<{ Params: { a: string; b: string; file: string } }>(
    `${IMAGE_PATH}sha256/:a/:b/:file`,
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['catalog'],
        operationId: 'getImage',
        summary: 'The bytes of a mirrored image, by its content key (immutable); from an S3 store, a redirect to a presigned URL',
        description: 'The path is the storage key, sha256/<2 hex>/<2 hex>/<64 hex>.<png|jpg|gif|webp>: take it from the url of an image in the list.',
        params: {
          type: 'object',
          properties: {
            a: { type: 'string', maxLength: 2, description: 'The first two hex digits of the SHA-256' },
            b: { type: 'string', maxLength: 2, description: 'The next two hex digits' },
            file: { type: 'string', maxLength: 70, description: 'The SHA-256 (64 hex) and the extension' },
          },
          required: ['a', 'b', 'file'],
        },
        response: {
          200: { description: 'The image bytes', content: { 'image/*': { schema: { type: 'string', format: 'binary' } } } },
          302: { description: 'A presigned URL of the S3 store (Location)', type: 'null' },
          304: { description: 'Not modified (If-None-Match matched the SHA-256)', type: 'null' },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const key = `sha256/${req.params.a}/${req.params.b}/${req.params.file}`;
      const parsed = parseImageKey(key);
      if (!parsed) throw new EdgeError(400, 'BAD_REQUEST', `"${key.slice(0, 120)}" is not an image key (sha256/ab/cd/<64 hex>.png|jpg|gif|webp); take the url from the product's image list.`, 'key');
      const store = ctx.images;
      if (store.presignedUrl) {
        if (!(await store.has(key))) throw new EdgeError(404, 'NOT_FOUND', `No image ${key} in the image store; it may have been removed as an orphan. Re-sync the product's images.`);
        const url = await store.presignedUrl(key, ctx.imageUrlTtlS);
        return reply.header('cache-control', `private, max-age=${Math.max(0, ctx.imageUrlTtlS - 30)}`).redirect(url, 302);
      }
      const etag = `"${parsed.sha256}"`;
      if (req.headers['if-none-match']?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) {
        return reply.code(304).header('etag', etag).header('cache-control', IMMUTABLE).send();
      }
      const bytes = await store.get(key);
      if (!bytes) throw new EdgeError(404, 'NOT_FOUND', `No image ${key} in the image store; it may have been removed as an orphan. Re-sync the product's images.`);
      return reply.header('etag', etag).header('cache-control', IMMUTABLE).type(parsed.contentType).send(bytes);
    },
  );
}
