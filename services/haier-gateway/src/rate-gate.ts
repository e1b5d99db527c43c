// The pace of upstream calls: at most `limit` call starts in ANY sliding window of `windowMs`,
// spread out by a token bucket (refilled continuously at `limit` per `windowMs`, holding at most
// `burst`).
//
// Why the window is longer than Haier's second: Haier counts calls when they ARRIVE, and the time
// from a start here to its arrival there varies (connection reuse, the event loop, the network).
// If that delay varies by at most J ms, every 1-second window of arrivals holds only calls that
// started within 1000 + J ms of each other, so `windowMs` = 1000 + HAIER_RATE_JITTER_MS keeps the
// arrivals within `limit` as well (config.ts; README, "The call budget").
//
// Why not a fixed spacing (Bottleneck's minTime)? A timer asked for 10 ms fires after 12-15 ms
// on a loaded machine, and fixed spacing never makes up the lost time: 100 calls/s became 78.
// Here tokens accrue from the clock, so a late wake-up starts the calls that are due (a small
// catch-up burst), while the sliding window still guarantees the limit is never exceeded: the
// burst only spends what the window allows. Time is read from the clock, never counted in timer
// ticks, so there is no drift.
//
// The limit may change at run time (a replica's share of the account's budget, budget.ts): it is
// read before every start, so lowering it takes effect at once (no start until fewer than the new
// limit started in the last window) and raising it after wake().

export class GateClosed extends Error {
  constructor() {
    super('the gateway is shutting down; the upstream call was not made');
    this.name = 'GateClosed';
  }
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/**
 * A place at the end of `queue`, settled by whoever serves the queue (resolve) or closes it
 * (reject); a `signal` aborting first takes the place out (rejects with the signal's reason).
 */
export function waitInQueue(queue: Waiter[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      const i = queue.indexOf(waiter);
      if (i >= 0) queue.splice(i, 1);
      reject(signal!.reason);
    };
    const waiter: Waiter = {
      resolve: () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      reject: (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(e);
      },
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    queue.push(waiter);
  });
}

export interface RateGateOptions {
  /** Call starts allowed in any sliding window (a whole number >= 0; 0 = none until raised), or a function read before every start. */
  limit: number | (() => number);
  /** The sliding window (ms), default 1000. */
  windowMs?: number;
  /** Most starts at once after an idle or late moment (default limit/4, at least 1): how much
   *  lost time (a starved process, a late timer) is made up; the sliding window still holds. */
  burst?: number;
  now?: () => number;
}

export class RateGate {
  readonly windowMs: number;
  private readonly limitOf: () => number;
  private readonly burstOpt: number | undefined;
  private tokens: number;
  private last: number;
  /** Start times (ascending) from `head` on: those within the last window, and a few older. */
  private starts: number[] = [];
  private head = 0;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(opts: RateGateOptions) {
    const fixed = typeof opts.limit === 'number' ? opts.limit : undefined;
    if (fixed !== undefined) checkLimit(fixed);
    this.limitOf = typeof opts.limit === 'number' ? () => fixed! : opts.limit;
    this.windowMs = opts.windowMs ?? 1000;
    if (!(Number.isFinite(this.windowMs) && this.windowMs >= 1)) throw new RangeError(`windowMs must be at least 1, got ${opts.windowMs}`);
    this.burstOpt = opts.burst;
    this.now = opts.now ?? (() => performance.now());
    this.tokens = this.burstFor(this.limit());
    this.last = this.now();
  }

  /** The current limit (starts per window). */
  limit(): number {
    return this.limitOf();
  }

  /**
   * Resolves when a call may start now (FIFO); the caller must start it right away. A call whose
   * `signal` aborts while it waits leaves the queue without spending a token.
   */
  take(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new GateClosed());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const waiting = waitInQueue(this.waiters, signal);
    this.drain();
    return waiting;
  }

  /** The limit may have risen: start what is now due. */
  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
  }

  /** Calls waiting for their turn. */
  waiting(): number {
    return this.waiters.length;
  }

  /** Starts within the last window (as of now). */
  inWindow(): number {
    this.prune(this.now());
    return this.starts.length - this.head;
  }

  /** Fails every waiting call and refuses new ones. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w.reject(new GateClosed());
  }

  private burstFor(limit: number): number {
    return Math.max(1, Math.min(Math.max(limit, 1), this.burstOpt ?? Math.round(limit / 4)));
  }

  private drain(): void {
    if (this.timer || this.closed) return; // a wake-up is already due
    const t = this.now();
    const limit = this.limit();
    const burst = this.burstFor(limit);
    this.tokens = Math.min(burst, this.tokens + ((t - this.last) * limit) / this.windowMs);
    this.last = t;
    this.prune(t);
    while (this.waiters.length > 0) {
      const wait = this.waitMs(t, limit);
      if (wait === Infinity) return; // limit 0: nothing starts until wake() after a raise
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, Math.ceil(wait));
        return;
      }
      this.tokens -= 1;
      this.starts.push(t);
      this.waiters.shift()!.resolve();
    }
  }

  /** How long until one more start keeps both rules (0 = now, Infinity = not at this limit). */
  private waitMs(t: number, limit: number): number {
    if (limit <= 0) return Infinity;
    const forToken = this.tokens >= 1 ? 0 : ((1 - this.tokens) * this.windowMs) / limit;
    const inWindow = this.starts.length - this.head;
    // fewer than `limit` starts in (t - windowMs, t] once the oldest extra ones have left
    const forWindow = inWindow < limit ? 0 : this.starts[this.starts.length - limit]! + this.windowMs - t;
    return Math.max(0, forToken, forWindow);
  }

  private prune(t: number): void {
    while (this.head < this.starts.length && this.starts[this.head]! <= t - this.windowMs) this.head++;
    if (this.head > 1024) {
      this.starts = this.starts.slice(this.head);
      this.head = 0;
    }
  }
}

function checkLimit(limit: number): void {
  if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
}
