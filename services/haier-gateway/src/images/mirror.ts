// Mirrors product images from Haier's image hosts into the shop's image store (issue 15): a
// conditional GET with the validators of the copy we hold (If-None-Match / If-Modified-Since),
// limits on size and type checked on the bytes (not only the header), SHA-256 content keys so
// the same bytes are stored once across products, retries with back-off for what may heal
// (network errors, timeouts, 5xx, 429), and its own concurrency and rate: image hosts are not
// the API, so none of this spends Haier's 100 calls/s.
import { bulkhead, ExponentialBackoff, handleWhen, retry, type BulkheadPolicy, type RetryPolicy } from 'cockatiel';
import { imageSize } from 'image-size';
import { RateLimiterMemory, RateLimiterQueue } from 'rate-limiter-flexible';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { sha256Hex, type ImageStore } from '@haier-sync/runtime/image-store';

/** The image types the store keeps, by what image-size calls them. */
const STORED_TYPES: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp' };

export interface ImageMirrorSettings {
  /** Largest image accepted, in bytes; a bigger one is refused while downloading. */
  maxBytes: number;
  /** Per attempt, headers and body. */
  timeoutMs: number;
  /** Image downloads at once. */
  concurrency: number;
  /** Image downloads started per second (0 = no limit). */
  ratePerSecond: number;
  /** Retries after the first attempt, for faults that may heal. */
  maxRetries: number;
  /** First back-off wait (doubles, with jitter). */
  retryDelayMs?: number;
  /** Hosts (host[:port]) images may come from; empty = any http(s) host. */
  allowedHosts?: readonly string[];
}

export const DEFAULT_IMAGE_MIRROR_SETTINGS: ImageMirrorSettings = {
  maxBytes: 5 * 1024 * 1024,
  timeoutMs: 15_000,
  concurrency: 8,
  ratePerSecond: 50,
  maxRetries: 2,
  retryDelayMs: 250,
};

/** The validators and hash of the copy already held (from the catalog's image record). */
export interface HeldImage {
  etag?: string;
  lastModified?: string;
  sha256?: string;
}

export type MirrorResult =
  | { status: 'unchanged'; url: string; attempts: number }
  | {
      status: 'stored';
      url: string;
      attempts: number;
      sha256: string;
      key: string;
      bytes: number;
      contentType: string;
      width: number;
      height: number;
      etag: string;
      lastModified: string;
      /** false when the store already held these bytes (another product's, or a re-download). */
      written: boolean;
    }
  | { status: 'failed'; url: string; attempts: number; reason: string; httpStatus?: number };

/** Why one attempt failed, and whether another may succeed. */
class ImageFault extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

export class ImageMirror {
  private readonly dispatcher: Dispatcher;
  private readonly retries: RetryPolicy;
  private readonly slots: BulkheadPolicy;
  private readonly rate?: RateLimiterQueue;

  constructor(
    private readonly store: ImageStore,
    private readonly settings: ImageMirrorSettings = DEFAULT_IMAGE_MIRROR_SETTINGS,
  ) {
    this.dispatcher = new Agent({ connections: settings.concurrency, headersTimeout: settings.timeoutMs, bodyTimeout: settings.timeoutMs }).compose(
      interceptors.redirect({ maxRedirections: 3 }),
    );
    this.retries = retry(
      handleWhen((e) => e instanceof ImageFault && e.retryable),
      { maxAttempts: settings.maxRetries, backoff: new ExponentialBackoff({ initialDelay: settings.retryDelayMs ?? 250, maxDelay: 5_000 }) },
    );
    this.slots = bulkhead(settings.concurrency, Number.MAX_SAFE_INTEGER);
    if (settings.ratePerSecond > 0) {
      this.rate = new RateLimiterQueue(new RateLimiterMemory({ points: settings.ratePerSecond, duration: 1 }), { maxQueueSize: Number.MAX_SAFE_INTEGER });
    }
  }

  /** Fetches `url` unless the held copy is current, and stores new bytes under their content key. Never throws. */
  async mirror(url: string, held: HeldImage = {}): Promise<MirrorResult> {
    let attempts = 0;
    const refused = this.refusal(url);
    if (refused) return { status: 'failed', url, attempts, reason: refused };
    try {
      return await this.retries.execute(() =>
        this.slots.execute(async () => {
          await this.rate?.removeTokens(1);
          attempts++;
          return this.attempt(url, held, attempts);
        }),
      );
    } catch (err) {
      const fault = err instanceof ImageFault ? err : new ImageFault(`could not fetch the image: ${(err as Error).message}`, false);
      return { status: 'failed', url, attempts, reason: fault.message, ...(fault.httpStatus !== undefined && { httpStatus: fault.httpStatus }) };
    }
  }

  private closing?: Promise<void>;

  /** Closes the connections to the image hosts (once: a second call waits for the first). */
  close(): Promise<void> {
    this.closing ??= this.dispatcher.close();
    return this.closing;
  }

  private refusal(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return `not a URL: ${url.slice(0, 200)}`;
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return `only http(s) images are fetched, not ${u.protocol}`;
    const hosts = this.settings.allowedHosts ?? [];
    if (hosts.length && !hosts.includes(u.host) && !hosts.includes(u.hostname))
      return `image host ${u.host} is not in HAIER_IMAGE_HOSTS (${hosts.join(', ')}); add it there to mirror its images`;
    return undefined;
  }

  private async attempt(url: string, held: HeldImage, attempts: number): Promise<MirrorResult> {
    const headers: Record<string, string> = { accept: 'image/png, image/jpeg, image/webp, image/gif;q=0.9' };
    // only ask "not modified?" for a copy we really hold
    if (held.sha256) {
      if (held.etag) headers['if-none-match'] = held.etag;
      if (held.lastModified) headers['if-modified-since'] = held.lastModified;
    }
    const signal = AbortSignal.timeout(this.settings.timeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, { method: 'GET', headers, dispatcher: this.dispatcher, signal });
    } catch (err) {
      throw new ImageFault(signal.aborted ? `no answer within ${this.settings.timeoutMs} ms` : `could not reach the image host: ${(err as Error).message}`, true);
    }
    const { statusCode } = res;
    if (statusCode === 304 && held.sha256) {
      res.body.resume();
      return { status: 'unchanged', url, attempts };
    }
    if (statusCode !== 200) {
      res.body.resume();
      const retryable = statusCode >= 500 || statusCode === 429 || statusCode === 408;
      throw new ImageFault(`the image host answered HTTP ${statusCode}${statusCode === 404 ? ' (the image is gone)' : ''}`, retryable, statusCode);
    }
    const declared = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (!declared.startsWith('image/')) {
      res.body.resume();
      throw new ImageFault(`not an image: the host sent ${declared || 'no content type'}`, false, statusCode);
    }
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && length > this.settings.maxBytes) {
      res.body.destroy();
      throw new ImageFault(`the image is ${length} bytes, over the limit of ${this.settings.maxBytes} (HAIER_IMAGE_MAX_BYTES)`, false, statusCode);
    }
    const body = await this.readBounded(res.body, signal);
    let kind: { type?: string; width?: number; height?: number };
    try {
      kind = imageSize(body);
    } catch {
      throw new ImageFault(`not an image: the ${body.length} bytes sent as ${declared} are not a PNG, JPEG, GIF or WebP`, false, statusCode);
    }
    const contentType = kind.type ? STORED_TYPES[kind.type] : undefined;
    if (!contentType) throw new ImageFault(`unsupported image type ${kind.type}: PNG, JPEG, GIF and WebP are kept`, false, statusCode);
    const sha256 = sha256Hex(body);
    const stored = await this.store.put(body, contentType);
    return {
      status: 'stored',
      url,
      attempts,
      sha256,
      key: stored.key,
      bytes: body.length,
      contentType,
      width: kind.width ?? 0,
      height: kind.height ?? 0,
      etag: String(res.headers['etag'] ?? ''),
      lastModified: String(res.headers['last-modified'] ?? ''),
      written: stored.written,
    };
  }

  /** The body, refused as soon as it passes maxBytes (an oversized image is never held whole). */
  private async readBounded(body: Dispatcher.ResponseData['body'], signal: AbortSignal): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of body) {
        size += (chunk as Buffer).length;
        if (size > this.settings.maxBytes) {
          body.destroy();
          throw new ImageFault(`the image is over the limit of ${this.settings.maxBytes} bytes (HAIER_IMAGE_MAX_BYTES)`, false, 200);
        }
        chunks.push(chunk as Buffer);
      }
    } catch (err) {
      if (err instanceof ImageFault) throw err;
      throw new ImageFault(signal.aborted ? `the image did not arrive within ${this.settings.timeoutMs} ms` : `the download broke off: ${(err as Error).message}`, true);
    }
    return Buffer.concat(chunks);
  }
}
