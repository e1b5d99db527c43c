// The pace of upstream calls: a call may start only while fewer than `limit` calls are in flight
// or ended within the last `windowMs`; starts are spread out by a token bucket (refilled
// continuously at `limit` per `windowMs`, holding at most `burst`).
//
// Why count by when calls END, not when they start: Haier counts calls when they ARRIVE, in any
// sliding second, and a call arrives somewhere between its start here and its answer. Counting a
// call from its start until one window after its answer covers every moment it may have arrived
// at, so no 1-second window at Haier can hold more than `limit` of this process's calls, whatever
// the network or Haier's own pauses do (proof in README, "The call budget"). Counting starts
// instead (what this gate did before) holds at the gateway, but a stall anywhere on the way
// bunches the arrivals: a window at Haier then saw up to 1.5x the limit. The cost: each call
// holds its place for its round trip longer, about limit x 1000 / (1000 + round trip) calls/s.
//
// Why not a fixed spacing (Bottleneck's minTime)? A timer asked for 10 ms fires after 12-15 ms
// on a loaded machine, and fixed spacing never makes up the lost time: 100 calls/s became 78.
// Here tokens accrue from the clock, so a late wake-up starts the calls that are due (a small
// catch-up burst), while the window still guarantees the limit: the burst only spends what the
// window allows. Time is read from the clock, never counted in timer ticks, so there is no drift.
//
// The limit may change at run time (this replica's share of the account's budget, budget.ts): it
// is read before every start, so lowering it takes effect at once and raising it after wake().

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
  /** Calls started and not yet ended. */
  private inFlight = 0;
  /** End times (ascending) from `head` on: those within the last window, and a few older. */
  private ends: number[] = [];
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
   * Resolves when a call may start now (FIFO); the caller must start it right away, and call the
   * function it resolves with once the call has ended (answered, failed or abandoned: from then on
   * it counts for one more window). A call whose `signal` aborts while it waits leaves the queue
   * without spending a token.
   */
  async take(signal?: AbortSignal): Promise<() => void> {
    if (this.closed) throw new GateClosed();
    if (signal?.aborted) throw signal.reason;
    const waiting = waitInQueue(this.waiters, signal);
    this.drain();
    await waiting;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.inFlight--;
      this.ends.push(this.now());
      this.drain();
    };
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

  /** Calls that count against the limit now: in flight, or ended within the last window. */
  inWindow(): number {
    this.prune(this.now());
    return this.inFlight + this.ends.length - this.head;
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
      if (wait === Infinity) return; // nothing starts until a call ends or wake() after a raise
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, Math.ceil(wait));
        return;
      }
      this.tokens -= 1;
      this.inFlight++;
      this.waiters.shift()!.resolve();
    }
  }

  /** How long until one more start keeps both rules (0 = now, Infinity = not until a call ends or the limit rises). */
  private waitMs(t: number, limit: number): number {
    const free = limit - this.inFlight; // places the calls that ended recently may hold
    if (free <= 0) return Infinity;
    const forToken = this.tokens >= 1 ? 0 : ((1 - this.tokens) * this.windowMs) / limit;
    const recent = this.ends.length - this.head;
    // fewer than `free` ends in (t - windowMs, t] once the oldest extra ones have left
    const forWindow = recent < free ? 0 : this.ends[this.ends.length - free]! + this.windowMs - t;
    return Math.max(0, forToken, forWindow);
  }

  private prune(t: number): void {
    while (this.head < this.ends.length && this.ends[this.head]! <= t - this.windowMs) this.head++;
    if (this.head > 1024) {
      this.ends = this.ends.slice(this.head);
      this.head = 0;
    }
  }
}

function checkLimit(limit: number): void {
  if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
}
