// The edge's read cache: catalog answers (a product, a list page, the categories, …) kept by URL
// and answered again, without a catalog read, while the catalog has not changed since. README,
// "The read cache".
//
// Why it is exact: every write that changes what a catalog read answers appends to the catalog's
// change log in the same transaction, and the log is always a prefix (its writers take one lock,
// so seqs commit in order). An answer read after the log's head was H holds every change up to H;
// if the head, read again after a later request arrived, is still H, nothing has changed since
// and the kept answer is the answer. One GetChangeHead call (an index probe) stands for many
// requests: each waits for a head read that started after it arrived, so requests that arrive
// while one is in flight share the next.
//
// The cache is part of the origin, not an HTTP cache between client and origin: a kept answer is
// validated with the catalog (the head read) for every request, which is what a request's
// `Cache-Control: no-cache` asks for, so that directive (which fetch() adds to every request that
// carries If-None-Match) does not pass it by.
//
// What it does not see: the check stamps (price_checked_at, stock_checked_at, last_synced_at)
// move without a change-log entry, so an answer is kept at most `ttlMs` (EDGE_READ_CACHE_TTL_MS):
// the most a stamp in it can lag. Revalidation (If-None-Match → 304) stays @fastify/etag's, over
// the bytes answered, kept or not.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { LRUCache } from 'lru-cache';
import { Counter, Gauge, type Registry } from '@haier-sync/runtime';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** GET answers of the route are kept by the read cache (catalog reads: exact while the catalog's change log stands still). */
    readCache?: boolean;
  }
  interface FastifyRequest {
    /** The change-log head read after this request arrived, when its answer may be kept (a read-cache miss). */
    readHead: bigint | null;
  }
}

/** Head reads, each started after the call that asks for it; calls made while one is in flight share the next. */
export class ChangeHead {
  private inFlight: Promise<bigint> | undefined;
  private queued: Promise<bigint> | undefined;

  constructor(private readonly read: () => Promise<bigint>) {}

  /** The head as read by a call started after this one: every change committed before now is at or under it. */
  next(): Promise<bigint> {
    if (!this.inFlight) return this.start();
    this.queued ??= this.inFlight.then(settled, settled).then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  private start(): Promise<bigint> {
    const p = this.read();
    this.inFlight = p;
    const clear = () => {
      if (this.inFlight === p) this.inFlight = undefined;
    };
    p.then(clear, clear);
    return p;
  }
}

const settled = () => undefined;

interface Entry {
  body: Buffer;
  contentType: string;
  /** The change-log head read before the answer was. */
  head: bigint;
}

export interface ReadCacheOptions {
  /** The most the kept answers may take (bytes of their bodies and URLs). */
  maxBytes: number;
  /** The longest an answer is kept (the most its check stamps can lag). */
  ttlMs: number;
  /** Reads the catalog's change-log head (GetChangeHead). */
  head: () => Promise<bigint>;
  registry?: Registry;
}

export class ReadCache {
  private readonly entries: LRUCache<string, Entry>;
  private readonly head: ChangeHead;
  private readonly outcomes: Counter<'outcome'> | undefined;

  constructor(opts: ReadCacheOptions) {
    this.entries = new LRUCache<string, Entry>({ maxSize: opts.maxBytes, sizeCalculation: (e, url) => e.body.length + url.length, ttl: opts.ttlMs });
    this.head = new ChangeHead(opts.head);
    if (opts.registry) {
      this.outcomes = new Counter({
        name: 'edge_read_cache_requests_total',
        help: 'Catalog reads by read-cache outcome: hit (answered from the cache), miss (read from the catalog and kept), unavailable (the change-log head could not be read: read from the catalog, not kept)',
        labelNames: ['outcome'] as const,
        registers: [opts.registry],
      });
      const entries = this.entries;
      new Gauge({
        name: 'edge_read_cache_bytes',
        help: 'Bytes the read cache holds (answer bodies and their URLs)',
        registers: [opts.registry],
        collect() {
          this.set(entries.calculatedSize);
        },
      });
    }
  }

  /** preHandler of the routes with `readCache` (after authentication, rate limits and input checks): a kept answer that is still current is answered here. */
  readonly lookup = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    // the HEAD route Fastify adds beside each GET carries the same hooks: it is read, not kept
    if (req.method !== 'GET') return undefined;
    let head: bigint;
    try {
      head = await this.head.next();
    } catch {
      // the catalog cannot say: the route reads it (and answers what that read answers)
      this.outcomes?.inc({ outcome: 'unavailable' });
      return undefined;
    }
    const kept = this.entries.get(req.url);
    if (kept && kept.head === head) {
      this.outcomes?.inc({ outcome: 'hit' });
      return reply.type(kept.contentType).send(kept.body);
    }
    this.outcomes?.inc({ outcome: 'miss' });
    req.readHead = head;
    return undefined;
  };

  /** onSend (before the ETag is computed): a miss's 200 answer is kept, with the head read before it. */
  readonly store = async (req: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    if (req.readHead === null || reply.statusCode !== 200) return payload;
    if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return payload;
    const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.entries.set(req.url, { body, contentType: String(reply.getHeader('content-type') ?? 'application/json; charset=utf-8'), head: req.readHead });
    return body;
  };
}
