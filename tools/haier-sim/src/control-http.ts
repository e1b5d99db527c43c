// The control surface over HTTP under /__sim/ (JSON), the same operations as SimControl.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { readBody, sendJson } from './http-io';
import type { Simulator } from './simulator';

const share = z.number().min(0).max(1);
const ConfigPatch = z.strictObject({ latencyMs: z.number().min(0), latencyJitterMs: z.number().min(0), rateLimit: z.number().min(0), rateLimitMode: z.enum(['sliding', 'bucket']), tokenTtlSeconds: z.number().int().min(1) }).partial();
const FaultsPatch = z
  .strictObject({
    rate500: share, rate503: share, timeoutRate: share, timeoutMs: z.number().int().min(0), timeoutAction: z.enum(['respond504', 'drop', 'alternate']),
    malformedRate: share, businessErrorRate: share, fail401Next: z.number().int().min(0),
    failNext: z.strictObject({ status: z.number().int().min(100).max(599), count: z.number().int().min(0), endpoint: z.string().optional() }).optional(),
  })
  .partial();
const MutationBody = z.strictObject({ priceChangeShare: share, delistShare: share, addCount: z.number().int().min(0), stockMoveShare: share, imageChangeShare: share, seed: z.number().int() }).partial();
const ImageFaultsPatch = z
  .strictObject({ notFoundRate: share, serverErrorRate: share, slowRate: share, slowMs: z.number().int().min(0), wrongTypeRate: share, oversizedRate: share, oversizedBytes: z.number().int().min(0) })
  .partial();
const ImageFaultBody = z.strictObject({ kind: z.enum(['not_found', 'server_error', 'slow', 'wrong_type', 'oversized']).nullable(), count: z.number().int().min(1).optional() });
const decimalText = z.string().regex(/^-?\d+(\.\d+)?$/, 'decimal text such as 1299.00');
const PriceBody = z
  .strictObject({ supplyPrice: decimalText, invoicePrice: decimalText, marketPrice: decimalText, rebateMoney: decimalText, stockRebatePolicy: z.string() })
  .partial();

function json(res: ServerResponse, status: number, value: unknown): void {
  sendJson(res, status, JSON.stringify(value ?? null));
}

async function bodyOf<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
  const text = await readBody(req);
  const parsed = schema.safeParse(JSON.parse(text || '{}'));
  if (!parsed.success) throw new BadControlRequest(z.prettifyError(parsed.error));
  return parsed.data;
}

class BadControlRequest extends Error {}

export async function handleControl(sim: Simulator, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
  try {
    const productMatch = /^\/__sim\/products\/([^/]+)(\/price)?$/.exec(url.pathname);
    if (productMatch) {
      const code = decodeURIComponent(productMatch[1]!);
      if (productMatch[2] && req.method === 'POST') {
        sim.setPrice(code, await bodyOf(req, PriceBody));
        return json(res, 200, sim.product(code));
      }
      if (!productMatch[2] && req.method === 'GET') {
        const p = sim.product(code);
        return p ? json(res, 200, p) : json(res, 404, { error: `no product ${code} in this simulator's catalog` });
      }
    }
    const imageMatch = /^\/__sim\/products\/([^/]+)\/images(\/change|\/move|\/fault)$/.exec(url.pathname);
    if (imageMatch && req.method === 'POST') {
      const code = decodeURIComponent(imageMatch[1]!);
      if (imageMatch[2] === '/change') sim.changeImage(code);
      else if (imageMatch[2] === '/move') sim.moveImages(code);
      else {
        const b = await bodyOf(req, ImageFaultBody);
        sim.setImageFault(code, b.kind ?? undefined, b.count);
      }
      return json(res, 200, sim.imageFaultState());
    }
    switch (route) {
      case 'GET /__sim/image-faults':
        return json(res, 200, sim.imageFaultState());
      case 'POST /__sim/image-faults':
        sim.imageFaults(await bodyOf(req, ImageFaultsPatch));
        return json(res, 200, sim.imageFaultState());
      case 'DELETE /__sim/image-faults':
        sim.clearImageFaults();
        return json(res, 200, sim.imageFaultState());
      case 'GET /__sim/stats':
        return json(res, 200, sim.stats());
      case 'GET /__sim/arrivals': {
        const since = url.searchParams.get('since');
        if (since !== null && !/^\d+(\.\d+)?$/.test(since)) throw new BadControlRequest(`since: expected epoch milliseconds such as 1764680000000, got ${JSON.stringify(since)}`);
        return json(res, 200, { arrivals: sim.arrivals(since === null ? undefined : Number(since)) });
      }
      case 'POST /__sim/stats/reset':
        sim.resetStats();
        return json(res, 200, { ok: true });
      case 'GET /__sim/config':
        return json(res, 200, { ...sim.config(), seed: sim.catalog.seed, size: sim.catalog.size, listedCount: sim.listedCount(), faults: sim.faultState.get() });
      case 'POST /__sim/config':
        sim.configure(await bodyOf(req, ConfigPatch));
        return json(res, 200, sim.config());
      case 'POST /__sim/faults':
        sim.faults(await bodyOf(req, FaultsPatch));
        return json(res, 200, sim.faultState.get());
      case 'DELETE /__sim/faults':
        sim.clearFaults();
        return json(res, 200, sim.faultState.get());
      case 'POST /__sim/revoke-tokens':
        sim.revokeTokens();
        return json(res, 200, { ok: true });
      case 'POST /__sim/mutate':
        return json(res, 200, sim.mutate(await bodyOf(req, MutationBody)));
      case 'GET /__sim/products': {
        const offset = Number(url.searchParams.get('offset') ?? 0);
        const limit = Number(url.searchParams.get('limit') ?? 100);
        if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(limit) || limit < 0 || limit > 10_000)
          return json(res, 400, { error: 'offset must be an integer >= 0 and limit an integer from 0 to 10000' });
        return json(res, 200, { listedCount: sim.listedCount(), offset, products: sim.products(offset, limit) });
      }
      case 'GET /__sim/stock': {
        const code = url.searchParams.get('code') ?? '';
        const county = url.searchParams.get('county') ?? '';
        return json(res, 200, sim.stock(code, county));
      }
      default:
        return json(res, 404, { error: `no control route ${route}; see tools/haier-sim/README.md` });
    }
  } catch (err) {
    const message = err instanceof BadControlRequest ? err.message : err instanceof SyntaxError ? `body is not valid JSON: ${err.message}` : (err as Error).message;
    return json(res, 400, { error: message });
  }
}
