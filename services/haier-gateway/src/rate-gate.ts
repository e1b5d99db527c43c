// The pace of upstream calls: at most `rate` call starts in any 1-second window, spread out by
// a token bucket (refilled continuously at `rate`/s, holding at most `burst`).
//
// Why not a fixed spacing (Bottleneck's minTime)? A timer asked for 10 ms fires after 12-15 ms
// on a loaded machine, and fixed spacing never makes up the lost time: 100 calls/s became 78.
// Here tokens accrue from the clock, so a late wake-up starts the calls that are due (a small
// catch-up burst), while the 1-second window still guarantees the limit is never exceeded.
// Time is read from the clock, never counted in timer ticks, so there is no drift.

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
  /** Call starts per second (a whole number >= 1). */
  rate: number;
  /** Most starts at once after an idle or late moment (default rate/4, at least 1): how much
   *  lost time (a starved process, a late timer) is made up; the 1-second window still holds. */
  burst?: number;
  now?: () => number;
}

export class RateGate {
  readonly rate: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  /** Start times of the last `rate` calls (a ring; `head` is the oldest once full). */
  private readonly starts: number[] = [];
  private head = 0;
  private readonly waiters: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(opts: RateGateOptions) {
    if (!(Number.isInteger(opts.rate) && opts.rate >= 1)) throw new RangeError(`rate must be a whole number >= 1, got ${opts.rate}`);
    this.rate = opts.rate;
    this.burst = Math.max(1, Math.min(opts.rate, opts.burst ?? Math.round(opts.rate / 4)));
    this.now = opts.now ?? (() => performance.now());
    this.tokens = this.burst;
    this.last = this.now();
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

  /** Calls waiting for their turn. */
  waiting(): number {
    return this.waiters.length;
  }

  /** Call starts in the last second (of the `rate` the window allows): the budget in use. */
  startedInLastSecond(): number {
    const t = this.now();
    let n = 0;
    for (const s of this.starts) if (t - s < 1000) n++;
    return n;
  }

  /** Fails every waiting call and refuses new ones. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) w.reject(new GateClosed());
  }

  private drain(): void {
    if (this.timer || this.closed) return; // a wake-up is already due
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.rate) / 1000);
    this.last = t;
    while (this.waiters.length > 0) {
      const wait = this.waitMs(t);
      if (wait > 0) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.drain();
        }, Math.ceil(wait));
        return;
      }
      this.tokens -= 1;
      this.record(t);
      this.waiters.shift()!.resolve();
    }
  }

  /** How long until one more start keeps both rules (0 = now). */
  private waitMs(t: number): number {
    const forToken = this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.rate;
    const oldest = this.starts.length < this.rate ? undefined : this.starts[this.head];
    const forWindow = oldest === undefined ? 0 : oldest + 1000 - t;
    return Math.max(0, forToken, forWindow);
  }

  private record(t: number): void {
    if (this.starts.length < this.rate) {
      this.starts.push(t);
    } else {
      this.starts[this.head] = t;
      this.head = (this.head + 1) % this.rate;
    }
  }
}
