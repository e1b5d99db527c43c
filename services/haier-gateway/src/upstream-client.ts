// Every HTTP exchange with Haier goes through here: one keep-alive connection pool (undici),
// a concurrency cap (call-slots.ts) and one rate gate (rate-gate.ts) in front of every business
// call including retries, retries
// with back-off (cockatiel), the shared token (with one refresh + retry on 401), the answer
// envelope, and one DEBUG log line, one counter and one metric per exchange (an INFO summary per
// endpoint every GATEWAY_CALL_SUMMARY_INTERVAL). Secrets never reach a log line.
import type { Readable } from 'node:stream';
import type { RetryPolicy } from 'cockatiel';
import { parse as parseLossless, stringify as stringifyLossless } from 'lossless-json';
import { Agent } from 'undici';
import { redact, registerSecret, type Logger } from '@haier-sync/runtime';
import type { GatewayConfig } from './config';
import type { Endpoint } from './endpoints';
import { loggableBody } from './endpoints';
import { businessError, unwrapEnvelope } from './envelope';
import { CallAbandoned, UpstreamError, type UpstreamFault } from './errors';
import { ListBusinessError, ListStreamError, streamListBatches } from './list-stream';
import { CallSlots } from './call-slots';
import { budgetFor, type CallBudget } from './budget';
import { currentLane, type Lane } from './lanes';
import { RateGate, type LaneSnapshot } from './rate-gate';
import { parseRetryAfter, upstreamRetryPolicy } from './retry-policy';
import { extractToken, TokenManager, type FetchedToken, type Token } from './token-manager';
import { outcomeOf, UsageCounters } from './usage';
import type { UpstreamObserver } from './metrics';
import { CallSummary } from './call-summary';

export interface UpstreamClientOptions {
  config: GatewayConfig;
  logger: Logger;
  usage?: UsageCounters;
  /** Prometheus metrics of each exchange (metrics.ts); none when unset. */
  metrics?: UpstreamObserver;
  /** Back-off tuning (tests shorten it); defaults 200 ms initial, 10 s max. */
  backoff?: { initialDelayMs?: number; maxDelayMs?: number };
  /** This process's share of the account's calls per window (budget.ts); default the whole budget of a single gateway. Closed with the client. */
  budget?: CallBudget;
}

interface Exchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface OpenExchange {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

interface Judged {
  fault?: UpstreamFault;
  data?: unknown;
}

interface CallMeta {
  batchSize?: number;
  /** The caller's abort signal (the RPC's): once aborted, waiting and running calls stop, and no retry follows. */
  signal?: AbortSignal;
}

function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  return String(e?.code ?? e?.cause?.code ?? e?.name ?? 'connection error');
}

/** Haier's own description of a failure, from an error body (redacted, shortened). */
function describeErrorBody(text: string): string | undefined {
  if (!text) return undefined;
  try {
    const body = parseLossless(text);
    if (body && typeof body === 'object' && !Array.isArray(body)) {
      const biz = businessError(body as Record<string, unknown>) ?? { code: '', message: '' };
      const rec = body as Record<string, unknown>;
      const msg = biz.message || String(rec['message'] ?? rec['description'] ?? rec['error'] ?? '');
      if (msg) return redact(msg).slice(0, 300);
    }
  } catch {
    // not JSON: fall through
  }
  return redact(text).slice(0, 200);
}

/** Where and with what a token is asked for. */
export interface TokenAccount {
  tokenUrl: URL;
  clientId: string;
  clientSecret: string;
}

export class UpstreamClient {
  readonly tokens: TokenManager;
  readonly usage: UsageCounters;
  private readonly agent: Agent;
  private readonly slots: CallSlots;
  private readonly gate: RateGate;
  readonly budget: CallBudget;
  private readonly policy: RetryPolicy;
  private readonly config: GatewayConfig;
  private readonly logger: Logger;
  private readonly base: URL;
  private readonly tokenUrl: URL;
  private readonly metrics?: UpstreamObserver;
  private readonly summary: CallSummary;

  constructor(opts: UpstreamClientOptions) {
    this.config = opts.config;
    this.logger = opts.logger;
    this.usage = opts.usage ?? new UsageCounters();
    this.metrics = opts.metrics;
    this.summary = new CallSummary(this.logger, this.config.GATEWAY_CALL_SUMMARY_INTERVAL);
    this.base = new URL(this.config.HAIER_BASE_URL);
    this.tokenUrl = new URL(this.config.HAIER_TOKEN_URL);
    this.agent = new Agent({ connections: this.config.HAIER_MAX_CONCURRENCY, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
    // The slots cap the calls in flight; the gate (taken inside a slot, right before the
    // exchange starts, retries included; a call counts until 1 s after it ended) keeps every
    // sliding second at Haier within this process's share of HAIER_RATE_LIMIT.
    this.slots = new CallSlots(this.config.HAIER_MAX_CONCURRENCY);
    this.budget = opts.budget ?? budgetFor(this.config, this.logger);
    this.gate = new RateGate({ limit: () => this.budget.limit(), capBase: () => this.budget.equalShare(), lanes: this.config.HAIER_LANES });
    this.budget.onRaise(() => this.gate.wake());
    this.budget.demand(() => this.gate.waiting(), () => this.gate.needed());
    this.policy = upstreamRetryPolicy({ maxRetries: this.config.HAIER_MAX_RETRIES, ...opts.backoff });
    this.tokens = new TokenManager({
      fetchToken: () =>
        this.fetchToken().then(
          (t) => (this.metrics?.tokenRefresh(true), t),
          (err: unknown) => {
            this.metrics?.tokenRefresh(false);
            throw err;
          },
        ),
      refreshMarginSeconds: this.config.HAIER_TOKEN_REFRESH_MARGIN_S,
      onRefreshError: (err) => this.logger.warn({ err: String(err) }, 'token refresh failed; keeping the current token until it expires'),
    });
  }

  // ---------------------------------------------------------------------------- token

  /** The account the gateway runs with. */
  private ownAccount(): TokenAccount {
    return { tokenUrl: this.tokenUrl, clientId: this.config.HAIER_CLIENT_ID, clientSecret: this.config.HAIER_CLIENT_SECRET };
  }

  /**
   * A fresh token, with the usual retries: for the gateway's own account (what the shared token
   * manager calls), or for another one (a Haier config's test; the shared token is untouched).
   */
  async fetchToken(account: TokenAccount = this.ownAccount()): Promise<FetchedToken> {
    let attempt = 0;
    try {
      return await this.policy.execute(() => {
        attempt++;
        if (attempt > 1) this.usage.retry();
        return this.fetchTokenOnce(account, attempt);
      });
    } catch (err) {
      if (err instanceof UpstreamError) err.retries = attempt - 1;
      throw err;
    }
  }

  /** One token request. Token requests bypass the business limiter (Haier counts business calls). */
  private async fetchTokenOnce(account: TokenAccount, attempt: number): Promise<FetchedToken> {
    this.usage.tokenRequest();
    const tokenUrl = account.tokenUrl;
    const body = { client_id: account.clientId, client_secret: account.clientSecret, grant_type: 'client_credentials' };
    const started = performance.now();
    let ex: Exchange;
    try {
      ex = await this.exchange(tokenUrl, body, undefined);
    } catch (err) {
      const fault = err as UpstreamError;
      this.logCall('token', tokenUrl.pathname, fault.fault, started, attempt, body);
      throw new UpstreamError(fault.fault, 'token');
    }
    if (ex.status !== 200) {
      const fault: UpstreamFault = { kind: 'token-rejected', status: ex.status, detail: describeErrorBody(ex.text) };
      this.logCall('token', tokenUrl.pathname, fault, started, attempt, body, ex.status);
      throw new UpstreamError(fault, 'token');
    }
    let parsed: unknown;
    try {
      parsed = parseLossless(ex.text);
    } catch {
      const fault: UpstreamFault = { kind: 'bad-body', detail: 'the token answer is not JSON' };
      this.logCall('token', tokenUrl.pathname, fault, started, attempt, body, ex.status);
      throw new UpstreamError(fault, 'token');
    }
    const token = extractToken(parsed);
    if (!token) {
      const biz = parsed && typeof parsed === 'object' ? businessError(parsed as Record<string, unknown>) : undefined;
      const fault: UpstreamFault = biz ? { kind: 'token-rejected', status: 401, detail: redact(biz.message) } : { kind: 'token-missing' };
      this.logCall('token', tokenUrl.pathname, fault, started, attempt, body, ex.status);
      throw new UpstreamError(fault, 'token');
    }
    registerTokenSecret(token.value);
    this.logCall('token', tokenUrl.pathname, undefined, started, attempt, body, ex.status, { expiresInSeconds: token.expiresInSeconds });
    return token;
  }

  // ---------------------------------------------------------------------------- business calls

  /** One logical business call with retries; answers the envelope's data (lossless). */
  async call(endpoint: Endpoint, body: Record<string, unknown>, meta: CallMeta = {}): Promise<unknown> {
    let attempt = 0;
    try {
      return await this.policy.execute(() => {
        attempt++;
        if (attempt > 1) this.usage.retry();
        return this.callOnce(endpoint, body, attempt, meta);
      }, meta.signal);
    } catch (err) {
      if (meta.signal?.aborted) throw new CallAbandoned(endpoint.name);
      if (err instanceof UpstreamError) err.retries = attempt - 1;
      throw err;
    }
  }

  private async callOnce(endpoint: Endpoint, body: Record<string, unknown>, attempt: number, meta: CallMeta): Promise<unknown> {
    let token = await this.tokens.get();
    let ex = await this.limited(endpoint, body, token, attempt, meta);
    if (ex.status === 401) {
      token = await this.tokens.renewAfterUnauthorized(token);
      ex = await this.limited(endpoint, body, token, attempt, meta);
    }
    return this.interpret(endpoint, ex);
  }

  /** One exchange through the rate limiter, logged and counted. */
  private async limited(endpoint: Endpoint, body: Record<string, unknown>, token: Token, attempt: number, meta: CallMeta): Promise<Exchange & Judged> {
    // the gate first (in the request's lane: a live lookup goes ahead of queued bulk work), then
    // a slot; the call counts against the budget from the gate on, until it has ended
    const lane = currentLane.getStore() ?? 'scheduled';
    const ended = await this.gate.take(meta.signal, lane);
    try {
      return await this.slots.run(async () => {
        const started = performance.now();
        try {
          const ex = await this.exchange(this.url(endpoint), body, token, meta.signal);
          const judged = this.judge(ex);
          this.logCall(endpoint.name, endpoint.path, judged.fault, started, attempt, body, ex.status, { batchSize: meta.batchSize, lane });
          return { ...ex, ...judged };
        } catch (err) {
          if (err instanceof CallAbandoned) throw err;
          const f = err instanceof UpstreamError ? err.fault : ({ kind: 'network', code: errorCode(err), origin: this.base.origin } as UpstreamFault);
          this.logCall(endpoint.name, endpoint.path, f, started, attempt, body, undefined, { batchSize: meta.batchSize, lane });
          throw new UpstreamError(f, endpoint.name);
        }
      }, meta.signal);
    } finally {
      ended();
    }
  }

  /** What an exchange amounts to: the envelope's data, or the fault it represents. */
  private judge(ex: Exchange): Judged {
    if (ex.status !== 200) return { fault: { kind: 'http', status: ex.status, retryAfterMs: parseRetryAfter(ex.headers['retry-after']), detail: describeErrorBody(ex.text) } };
    try {
      const u = unwrapEnvelope(parseLossless(ex.text));
      return u.ok ? { data: u.data } : { fault: { kind: 'business', code: u.code, message: redact(u.message) } };
    } catch (err) {
      return { fault: { kind: 'bad-body', detail: `not valid JSON (${(err as Error).message.slice(0, 80)})` } };
    }
  }

  private interpret(endpoint: Endpoint, ex: Judged): unknown {
    if (ex.fault) throw new UpstreamError(ex.fault, endpoint.name);
    return ex.data;
  }

  /**
   * A list answer read as a stream (the whole catalog): yields records in batches. Retries
   * apply until the answer starts; a fault in the middle of the list fails the stream.
   */
  async *streamList(endpoint: Endpoint, body: Record<string, unknown>, batchSize: number, signal?: AbortSignal, lane: Lane = 'bulk'): AsyncGenerator<unknown[], void> {
    let attempt = 0;
    let open: OpenExchange;
    try {
      open = await this.policy.execute(async () => {
        attempt++;
        if (attempt > 1) this.usage.retry();
        let token = await this.tokens.get();
        let o = await this.limitedOpen(endpoint, body, token, attempt, lane, signal);
        if (o.status === 401) {
          o.body.resume();
          token = await this.tokens.renewAfterUnauthorized(token);
          o = await this.limitedOpen(endpoint, body, token, attempt, lane, signal);
        }
        if (o.status !== 200) {
          const text = await readText(o.body);
          throw new UpstreamError({ kind: 'http', status: o.status, retryAfterMs: parseRetryAfter(o.headers['retry-after']), detail: describeErrorBody(text) }, endpoint.name);
        }
        return o;
      }, signal);
    } catch (err) {
      if (signal?.aborted) throw new CallAbandoned(endpoint.name);
      if (err instanceof UpstreamError) err.retries = attempt - 1;
      throw err;
    }
    let seen = 0;
    const started = performance.now();
    try {
      for await (const batch of streamListBatches(open.body, batchSize)) {
        seen += batch.length;
        yield batch;
      }
      this.logger.info({ endpoint: endpoint.name, records: seen, durationMs: Math.round(performance.now() - started) }, 'upstream list streamed');
    } catch (err) {
      if (signal?.aborted) {
        open.body.destroy();
        throw new CallAbandoned(endpoint.name);
      }
      let fault: Extract<UpstreamFault, { kind: 'business' | 'bad-body' | 'timeout' | 'network' }>;
      if (err instanceof ListBusinessError) fault = { kind: 'business', code: err.code, message: redact(err.description) };
      else if (err instanceof ListStreamError) fault = { kind: 'bad-body', detail: err.message };
      else if ((err as { code?: string }).code === 'UND_ERR_BODY_TIMEOUT') fault = { kind: 'timeout', timeoutMs: this.config.HAIER_TIMEOUT_MS };
      else fault = { kind: 'network', code: errorCode(err), origin: this.base.origin };
      this.usage.record(endpoint.name, outcomeOf(undefined, fault.kind));
      this.metrics?.exchange(endpoint.name, outcomeOf(undefined, fault.kind), attempt, (performance.now() - started) / 1000);
      this.logger.warn({ endpoint: endpoint.name, records: seen, fault: fault.kind }, 'upstream list failed while streaming');
      throw new UpstreamError(fault, endpoint.name);
    }
  }

  private async limitedOpen(endpoint: Endpoint, body: Record<string, unknown>, token: Token, attempt: number, lane: Lane, signal?: AbortSignal): Promise<OpenExchange> {
    const ended = await this.gate.take(signal, lane);
    return this.slots.run(async () => {
      const started = performance.now();
      try {
        // the call has arrived once its answer's headers are here: it ends then for the gate
        const res = await this.agent.request({
          origin: this.base.origin,
          path: this.url(endpoint).pathname,
          method: 'POST',
          headers: this.headers(token),
          body: stringifyLossless(body) ?? '{}',
          headersTimeout: this.config.HAIER_TIMEOUT_MS,
          bodyTimeout: this.config.HAIER_TIMEOUT_MS,
          signal,
        }).finally(ended);
        const fault: UpstreamFault | undefined = res.statusCode === 200 ? undefined : { kind: 'http', status: res.statusCode };
        this.logCall(endpoint.name, endpoint.path, fault, started, attempt, body, res.statusCode, { streaming: true, lane });
        return { status: res.statusCode, headers: res.headers, body: res.body };
      } catch (err) {
        const code = errorCode(err);
        const f: UpstreamFault = code === 'UND_ERR_HEADERS_TIMEOUT' ? { kind: 'timeout', timeoutMs: this.config.HAIER_TIMEOUT_MS } : { kind: 'network', code, origin: this.base.origin };
        this.logCall(endpoint.name, endpoint.path, f, started, attempt, body, undefined, { lane });
        throw new UpstreamError(f, endpoint.name);
      }
    }, signal).finally(ended); // also when the wait for a slot was given up
  }

  // ---------------------------------------------------------------------------- HTTP

  private url(endpoint: Endpoint): URL {
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return new URL(`${prefix}${endpoint.path}`, this.base.origin);
  }

  private headers(token: Token | undefined): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (token) h['authorization'] = this.config.HAIER_AUTH_SCHEME ? `${this.config.HAIER_AUTH_SCHEME} ${token.value}` : token.value;
    return h;
  }

  /** POST JSON, read the whole answer, all within HAIER_TIMEOUT_MS. Throws UpstreamError for timeouts and connection faults. */
  private async exchange(url: URL, body: Record<string, unknown>, token: Token | undefined, caller?: AbortSignal): Promise<Exchange> {
    if (caller?.aborted) throw new CallAbandoned(url.pathname);
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    caller?.addEventListener('abort', onAbort, { once: true });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.config.HAIER_TIMEOUT_MS);
    try {
      const res = await this.agent.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers: this.headers(token),
        body: stringifyLossless(body) ?? '{}',
        signal: ac.signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      if (timedOut) throw new UpstreamError({ kind: 'timeout', timeoutMs: this.config.HAIER_TIMEOUT_MS }, url.pathname);
      if (caller?.aborted) throw new CallAbandoned(url.pathname);
      throw new UpstreamError({ kind: 'network', code: errorCode(err), origin: url.origin }, url.pathname);
    } finally {
      clearTimeout(timer);
      caller?.removeEventListener('abort', onAbort);
    }
  }

  private logCall(
    endpoint: string,
    path: string,
    fault: UpstreamFault | undefined,
    started: number,
    attempt: number,
    body: Record<string, unknown>,
    status?: number,
    extra: Record<string, unknown> = {},
  ): void {
    const kind = fault && fault.kind !== 'http' && fault.kind !== 'token-rejected' && fault.kind !== 'token-missing' ? fault.kind : undefined;
    const outcome = outcomeOf(status, kind);
    const ms = performance.now() - started;
    this.usage.record(endpoint, outcome);
    this.metrics?.exchange(endpoint, outcome, attempt, ms / 1000);
    this.summary.note(endpoint, outcome, attempt, ms);
    const line = {
      upstream: endpoint,
      path,
      status,
      outcome,
      attempt,
      durationMs: Math.round(ms),
      request: loggableBody(body),
      ...(fault && fault.kind === 'business' ? { haierCode: fault.code, haierMessage: fault.message } : {}),
      ...(fault && 'detail' in fault && fault.detail ? { detail: fault.detail } : {}),
      ...extra,
    };
    // one line per exchange at DEBUG; INFO has the periodic summary per endpoint (call-summary.ts)
    if (outcome === 'ok') this.logger.debug(line, 'upstream call');
    else this.logger.warn(line, 'upstream call failed');
  }

  /**
   * Admission of a request that will make `calls` upstream calls in `lane` (RateGate.admit):
   * an interactive request the lane cannot start within HAIER_INTERACTIVE_MAX_WAIT_MS is refused
   * (LaneFull) rather than queued; other lanes are always admitted (they wait their turn).
   * Returns the function to call when the request has ended.
   */
  admit(lane: Lane, calls: number): () => void {
    if (lane !== 'interactive') return () => {};
    return this.gate.admit(lane, calls, this.config.HAIER_INTERACTIVE_MAX_WAIT_MS);
  }

  /** Upstream queue depth (calls waiting for the limiter), for diagnostics. */
  queued(): number {
    return this.slots.waiting() + this.gate.waiting();
  }

  /** Business calls that count against the limit now (in flight, or ended within the window): the budget in use. */
  inWindow(): number {
    return this.gate.inWindow();
  }

  /** The budget's lanes now (policy, cap, calls in the window and waiting, calls started), for GetUsage. */
  lanes(): LaneSnapshot[] {
    return this.gate.laneSnapshots();
  }

  /** This replica's share of HAIER_RATE_LIMIT now (less the margin; see budget.ts). */
  get rateLimit(): number {
    return this.gate.limit();
  }

  private closing: Promise<void> | undefined;

  /** Refuses new calls, fails those waiting for a slot or the budget, closes the connection pool. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.summary.flush();
      this.slots.close();
      this.gate.close();
      await this.budget.close(); // after the gate: no call starts once the others may count this replica out
      await this.agent.close();
    })();
    return this.closing;
  }
}

/** Tokens are secrets too: once issued, every log line and message masks them. */
function registerTokenSecret(value: string): void {
  registerSecret(value);
}

async function readText(body: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
