// The HTTP server: Haier's token and business endpoints, plus the /__sim/ control surface.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { handleControl } from './control-http';
import { HANDLERS, type Answer } from './endpoints';
import { IMAGE_PATH_PREFIX, imageFaultFor, notModified, parseImagePath, renderImage, sendOversized } from './images';
import { productRow } from './wire';
import { BodyTooLarge, readBody, sendJson, write } from './http-io';
import { endpointFor, TOKEN_PATHS, type Endpoint } from './paths';
import { Simulator } from './simulator';
import type { SimHandle, SimOptions } from './types';
import { errorBody } from './wire';

const STATUS_OUTCOME: Record<number, string> = { 400: 'bad_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 429: 'throttled', 500: 'fault_500', 503: 'fault_503', 504: 'timeout' };
const STATUS_TEXT: Record<number, string> = {
  400: 'bad parameters', 401: 'unauthorised: token invalid or expired — fetch a new token', 403: 'forbidden: no permission',
  404: 'no such endpoint', 429: 'too many requests: over the per-account rate limit', 500: 'internal server error (simulated fault)',
  503: 'service unavailable (simulated fault)', 504: 'gateway timeout (simulated fault)',
};
const STREAM_CHUNK_ROWS = 500;

export async function startSimulator(opts: SimOptions = {}): Promise<SimHandle> {
  const sim = new Simulator(opts);
  const log = pino({ name: 'haier-sim', level: opts.quiet ? 'silent' : (process.env.SIM_LOG_LEVEL ?? 'info') });
  const pending = new Set<NodeJS.Timeout>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (ms <= 0) return resolve();
      const t = setTimeout(() => {
        pending.delete(t);
        resolve();
      }, ms);
      pending.add(t);
    });

  const server = createServer((req, res) => {
    route(sim, log, sleep, req, res).catch((err: unknown) => {
      log.error({ err, path: req.url }, 'simulator failed to answer');
      if (!res.headersSent) sendJson(res, 500, errorBody('500', `the simulator itself failed: ${String(err)}`));
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  sim.catalog.imageBase = (opts.imageBaseUrl ?? url).replace(/\/+$/, '');
  log.info({ url, seed: sim.catalog.seed, size: sim.catalog.size, ...sim.config() }, 'haier-sim listening (a development stand-in, not Haier)');

  return {
    url,
    port,
    control: sim,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of pending) clearTimeout(t);
        pending.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function route(sim: Simulator, log: Logger, sleep: (ms: number) => Promise<void>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://sim');
  const path = url.pathname;
  if (path.startsWith('/__sim/')) return handleControl(sim, req, res, url);
  if (TOKEN_PATHS.has(path.replace(/\/+$/, ''))) return token(sim, req, res);
  if (path.startsWith(IMAGE_PATH_PREFIX)) return image(sim, sleep, req, res, path);
  const endpoint = endpointFor(path);
  if (!endpoint) {
    sim.recorder.outcome('unknown', 'not_found');
    return sendJson(res, 404, errorBody('404', `no such endpoint: ${req.method} ${path}`));
  }
  return business(sim, log, sleep, endpoint, path, req, res);
}

async function token(sim: Simulator, req: IncomingMessage, res: ServerResponse): Promise<void> {
  sim.recorder.tokenRequest();
  const answer = (status: number, outcome: string, body: string) => {
    sim.recorder.outcome('token', outcome);
    sendJson(res, status, body);
  };
  if (req.method !== 'POST') return answer(405, 'bad_request', errorBody('405', 'use POST for the token endpoint'));
  let body: Record<string, unknown>;
  try {
    body = parseForm(await readBody(req, 64 * 1024), req.headers['content-type']);
  } catch (err) {
    return answer(400, 'bad_request', errorBody('400', `the token request is not valid JSON: ${(err as Error).message}`));
  }
  const { client_id: clientId, client_secret: clientSecret, grant_type: grantType } = body;
  if (typeof clientId !== 'string' || typeof clientSecret !== 'string' || !clientId || !clientSecret)
    return answer(400, 'bad_request', errorBody('400', 'client_id and client_secret are required'));
  if (grantType !== 'client_credentials') return answer(400, 'bad_request', errorBody('400', `grant_type must be client_credentials, got ${String(grantType)}`));
  if (clientId !== sim.credentials.clientId || clientSecret !== sim.credentials.clientSecret)
    return answer(401, 'unauthorized', errorBody('401', 'invalid client credentials: check the client id and secret of this environment'));
  const ttl = sim.config().tokenTtlSeconds;
  answer(200, 'ok', JSON.stringify({ access_token: sim.tokens.issue(clientId, ttl), token_type: 'bearer', expires_in: ttl }));
}

/** An image host's answer (no token, not rate limited): the PNG, a 304, or the fault set for it. */
async function image(sim: Simulator, sleep: (ms: number) => Promise<void>, req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
  const plain = (status: number, outcome: string, text: string, type = 'text/plain; charset=utf-8') => {
    sim.recorder.image(outcome, 0);
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(405, 'bad_request', `use GET for images, not ${req.method}`);
  const ref = parseImagePath(path);
  const id = ref && sim.catalog.image(ref);
  if (!ref || !id) return plain(404, 'not_found', `no image at ${path}`);
  const { rates } = sim.imageFaultState();
  const fault = imageFaultFor(sim.catalog.seed, path, sim.takeImageFault(ref.code), rates);
  if (fault === 'not_found') return plain(404, 'not_found', `no image at ${path} (simulated fault)`);
  if (fault === 'server_error') return plain(503, 'server_error', 'image host unavailable (simulated fault)');
  if (fault === 'wrong_type') return plain(200, 'wrong_type', '<!doctype html><title>Not an image</title><p>moved</p>', 'text/html; charset=utf-8');
  if (fault === 'oversized') {
    sim.recorder.image('oversized', rates.oversizedBytes);
    return sendOversized(res, rates.oversizedBytes);
  }
  if (fault === 'slow') await sleep(rates.slowMs);
  const img = renderImage(id);
  const headers = { etag: img.etag, 'last-modified': img.lastModified, 'cache-control': 'public, max-age=3600' };
  if (notModified(req, img)) {
    sim.recorder.image('not_modified', 0);
    res.writeHead(304, headers);
    return void res.end();
  }
  const body = req.method === 'HEAD' ? 0 : img.bytes.length;
  sim.recorder.image(fault ?? 'ok', body);
  res.writeHead(200, { ...headers, 'content-type': 'image/png', 'content-length': img.bytes.length });
  res.end(req.method === 'HEAD' ? undefined : img.bytes);
}

function parseForm(text: string, contentType: string | undefined): Record<string, unknown> {
  if (contentType?.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  const parsed: unknown = JSON.parse(text || '{}');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('expected a JSON object');
  return parsed as Record<string, unknown>;
}

async function business(sim: Simulator, log: Logger, sleep: (ms: number) => Promise<void>, endpoint: Endpoint, path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const arrivedAt = performance.now();
  sim.recorder.arrival(arrivedAt);
  const started = Date.now();
  const settings = sim.config();
  const latency = () => sleep(settings.latencyMs + (settings.latencyJitterMs > 0 ? Math.random() * settings.latencyJitterMs : 0));
  const finish = async (status: number, outcome: string, body: string, headers?: Record<string, string>) => {
    await latency();
    sim.recorder.outcome(endpoint, outcome);
    log.debug({ endpoint, status, outcome, ms: Date.now() - started }, 'call');
    sendJson(res, status, body, headers);
  };
  const fail = (status: number, description = STATUS_TEXT[status] ?? `HTTP ${status} (simulated)`, headers?: Record<string, string>) =>
    finish(status, STATUS_OUTCOME[status] ?? `status_${status}`, errorBody(String(status), description), headers);

  let raw: string;
  try {
    raw = await readBody(req);
  } catch (err) {
    return fail(err instanceof BodyTooLarge ? 413 : 400, err instanceof BodyTooLarge ? err.message : 'the request body could not be read');
  }
  if (req.method !== 'POST') return fail(405, `use POST for ${path}`);

  const auth = sim.tokens.check(req.headers.authorization);
  if ('refused' in auth) return fail(401, auth.refused);
  const take = sim.limiter.take(auth.clientId, arrivedAt);
  if (!take.ok) return fail(429, `too many requests: over ${settings.rateLimit} calls/s for this account; retry after ${take.retryAfterSeconds} s`, { 'retry-after': String(take.retryAfterSeconds) });

  const fault = sim.faultState.decide(endpoint, path);
  if (fault.kind === 'status') return fail(fault.status);
  if (fault.kind === 'timeout') {
    await sleep(fault.ms);
    sim.recorder.outcome(endpoint, 'timeout');
    if (fault.drop) return void res.destroy();
    return sendJson(res, 504, errorBody('504', STATUS_TEXT[504]!));
  }

  let body: unknown;
  try {
    body = JSON.parse(raw || 'null');
  } catch {
    return fail(400, 'the request body is not valid JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(400, 'the request body must be a JSON object');
  if (fault.kind === 'business_error') return finish(200, 'business_error', errorBody('SYSTEM_BUSY', '系统繁忙，请稍后再试 (simulated business error)'));

  const answer: Answer = HANDLERS[endpoint]({ catalog: sim.catalog, credentials: sim.credentials, malformed: fault.kind === 'malformed' ? fault.pick : undefined }, body as Record<string, unknown>);
  if (answer.kind === 'body') return finish(answer.status, answer.outcome, answer.body);

  // The whole listed catalog: streamed in chunks, waiting for the socket to drain, never one giant string.
  await latency();
  res.writeHead(200, { 'content-type': 'application/json;charset=UTF-8' });
  let chunk = '{"success":true,"data":[';
  let n = 0;
  for (const index of sim.catalog.listedIndices()) {
    chunk += (n > 0 ? ',' : '') + productRow(sim.catalog.product(index), n === answer.malformedAt ? answer.malformation : undefined);
    if (++n % STREAM_CHUNK_ROWS === 0) {
      if (!(await write(res, chunk))) return void sim.recorder.outcome(endpoint, 'client_gone');
      chunk = '';
    }
  }
  res.end(`${chunk}]}`);
  sim.recorder.outcome(endpoint, answer.outcome);
  log.debug({ endpoint, rows: n, ms: Date.now() - started }, 'streamed full list');
}
