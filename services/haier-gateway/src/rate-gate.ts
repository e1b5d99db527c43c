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
//
// Lanes: every call waits in its lane's queue (lanes.ts). When a place is free, the next call
// comes from the first lane in priority order (interactive, scheduled, bulk) with calls waiting,
// unless the places left in the window are owed to lower lanes' floors; a lane never holds more
// than its cap of the limit. So live lookups go ahead of queued bulk work, and bulk work keeps
// its floor.
import { DEFAULT_LANES, LANES, type Lane, type LanePolicies } from './lanes';

/** A request the lane cannot start within its bound (see RateGate.admit): the caller is told when to retry. */
export class LaneFull extends Error {
  constructor(
    readonly lane: Lane,
    readonly calls: number,
    readonly retryAfterS: number,
    message: string,
    /** The lane's cap (calls per window) and the calls it held or had admitted when it refused. */
    readonly cap: number,
    readonly load: number,
  ) {
    super(message);
    this.name = 'LaneFull';
  }
}

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
  /** Floors and caps per lane (percent of the limit), default DEFAULT_LANES. */
  lanes?: LanePolicies;
  /** What the lanes' caps are percentages of when it is more than the limit (default the limit):
   *  an equal split of the account's budget, for a replica whose share is sized to its few calls
   *  (budget.ts), so that its caps do not shrink with it. */
  capBase?: () => number;
}

/** One lane's calls: waiting, in flight, ended (ascending) from `head` on; started since the gate was made. */
interface LaneState {
  queue: Waiter[];
  inFlight: number;
  ends: number[];
  head: number;
  started: number;
}

/** One lane as the gate runs it now (GetUsage). */
export interface LaneSnapshot {
  lane: Lane;
  floorPct: number;
  capPct: number;
  /** The cap in calls per window at the current limit. */
  cap: number;
  inWindow: number;
  waiting: number;
  started: number;
}

export class RateGate {
  readonly windowMs: number;
  private readonly limitOf: () => number;
  private readonly capBaseOf: () => number;
  private readonly burstOpt: number | undefined;
  private tokens: number;
  private last: number;
  /** Calls started and not yet ended. */
  private inFlight = 0;
  /** End times (ascending) from `head` on: those within the last window, and a few older. */
  private ends: number[] = [];
  private head = 0;
  private readonly lanes: Record<Lane, LaneState>;
  private readonly policies: LanePolicies;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Upstream calls of admitted requests still being served, per lane (admit()). */
  private readonly reserved: Record<Lane, number> = { interactive: 0, scheduled: 0, bulk: 0 };
  private readonly now: () => number;

  constructor(opts: RateGateOptions) {
    const fixed = typeof opts.limit === 'number' ? opts.limit : undefined;
    if (fixed !== undefined) checkLimit(fixed);
    this.limitOf = typeof opts.limit === 'number' ? () => fixed! : opts.limit;
    this.capBaseOf = opts.capBase ?? (() => 0);
    this.windowMs = opts.windowMs ?? 1000;
    if (!(Number.isFinite(this.windowMs) && this.windowMs >= 1)) throw new RangeError(`windowMs must be at least 1, got ${opts.windowMs}`);
    this.burstOpt = opts.burst;
    this.now = opts.now ?? (() => performance.now());
    this.tokens = this.burstFor(this.limit());
    this.last = this.now();
    this.policies = opts.lanes ?? DEFAULT_LANES;
    this.lanes = Object.fromEntries(LANES.map((l) => [l, { queue: [], inFlight: 0, ends: [], head: 0, started: 0 }])) as unknown as Record<Lane, LaneState>;
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
  async take(signal?: AbortSignal, lane: Lane = 'scheduled'): Promise<() => void> {
    if (this.closed) throw new GateClosed();
    if (signal?.aborted) throw signal.reason;
    const ls = this.lanes[lane];
    const waiting = waitInQueue(ls.queue, signal);
    this.drain();
    await waiting;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      const t = this.now();
      this.inFlight--;
      this.ends.push(t);
      ls.inFlight--;
      ls.ends.push(t);
      this.drain();
    };
  }

  /**
   * Admission of a request that will make `calls` upstream calls in `lane`: refused (LaneFull,
   * with the seconds after which it would fit) when the lane could not start them all within
   * `maxWaitMs`, judged from the lane's cap per window and what it holds already (calls in the
   * window plus the calls of requests admitted and still being served: a conservative count).
   * Admitted: returns the function to call when the request has ended. A limit of 0 (a replica
   * without a share, budget.ts) admits: those calls wait for the share as before.
   */
  admit(lane: Lane, calls: number, maxWaitMs: number): () => void {
    const limit = this.limit();
    if (calls > 0 && limit > 0 && maxWaitMs >= 0) {
      const cap = this.capOf(lane, limit);
      const load = this.reserved[lane] + this.laneInWindow(lane);
      const waitMs = (Math.max(0, load + calls - cap) / cap) * this.windowMs;
      if (waitMs > maxWaitMs) {
        const fits = Math.floor(cap * (1 + maxWaitMs / this.windowMs));
        const retryAfterS = Math.max(1, Math.ceil((waitMs - maxWaitMs) / 1000));
        const message =
          calls > fits
            ? `this request needs ${calls} Haier calls and the ${lane} lane starts at most ${cap} a second (its cap, HAIER_LANES), more than fit in ${maxWaitMs} ms; ask for fewer product codes (at most ${fits} calls' worth)`
            : `the ${lane} lane of the Haier call budget is full (${load} calls in use or admitted, cap ${cap} a second): this request's ${calls} calls could not start within ${maxWaitMs} ms; retry after ${retryAfterS} s`;
        throw new LaneFull(lane, calls, retryAfterS, message, cap, load);
      }
    }
    this.reserved[lane] += calls;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.reserved[lane] -= calls;
    };
  }

  /** Calls of `lane` that count against its floor and cap now (in flight or ended within the window). */
  laneInWindow(lane: Lane): number {
    this.prune(this.now());
    const ls = this.lanes[lane];
    return ls.inFlight + ls.ends.length - ls.head;
  }

  /** The most calls of `lane` that may count against the limit at once: its cap of `limit`, or of
   *  the cap base when that is more (an idle replica's small share), at least 1. */
  capOf(lane: Lane, limit = this.limit()): number {
    return Math.max(1, Math.floor((Math.max(limit, this.capBaseOf()) * this.policies[lane].capPct) / 100));
  }

  /**
   * The smallest limit under which what is here now would fit with a place to spare: every lane's
   * calls (in the window or waiting), plus one, under its cap, and all of them under the limit
   * (0 when nothing is here). An idle replica asks the others for this much (budget.ts).
   */
  needed(): number {
    let total = 0;
    let need = 0;
    const base = this.capBaseOf();
    for (const lane of LANES) {
      const c = this.laneInWindow(lane) + this.lanes[lane].queue.length;
      if (c === 0) continue;
      total += c;
      const pct = this.policies[lane].capPct;
      // within the cap the cap base gives whatever the limit: only the total counts then
      if (Math.floor((base * pct) / 100) < c + 1) need = Math.max(need, Math.ceil(((c + 1) * 100) / pct));
    }
    return total === 0 ? 0 : Math.max(need, total + 1);
  }

  /** Every lane now, in priority order: its policy and cap, its calls in the window and waiting, and its calls started so far. */
  laneSnapshots(): LaneSnapshot[] {
    const limit = this.limit();
    return LANES.map((lane) => {
      const ls = this.lanes[lane];
      return { lane, ...this.policies[lane], cap: this.capOf(lane, limit), inWindow: this.laneInWindow(lane), waiting: ls.queue.length, started: ls.started };
    });
  }

  /** The limit may have risen: start what is now due. */
  wake(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.drain();
  }

  /** Calls waiting for their turn (in every lane, or in one). */
  waiting(lane?: Lane): number {
    if (lane) return this.lanes[lane].queue.length;
    let n = 0;
    for (const l of LANES) n += this.lanes[l].queue.length;
    return n;
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
    for (const l of LANES) for (const w of this.lanes[l].queue.splice(0)) w.reject(new GateClosed());
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
    while (this.waiting() > 0) {
      const wait = this.waitMs(t, limit);
      if (wait === Infinity) return; // nothing starts until a call ends or wake() after a raise
      if (wait > 0) return this.wakeIn(wait);
      const lane = this.pick(limit);
      if (lane === undefined) {
        // every lane with calls waiting is at its cap: until one of its calls leaves the window
        const capWait = this.capWaitMs(t);
        if (capWait !== Infinity) this.wakeIn(capWait);
        return;
      }
      const ls = this.lanes[lane];
      this.tokens -= 1;
      this.inFlight++;
      ls.inFlight++;
      ls.started++;
      ls.queue.shift()!.resolve();
    }
  }

  private wakeIn(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, Math.ceil(ms));
  }

  private laneCount(ls: LaneState): number {
    return ls.inFlight + ls.ends.length - ls.head;
  }

  /**
   * The lane whose call goes next: the first in priority order with calls waiting and under its
   * cap, unless starting it would leave too few places in the window for the floors still owed
   * to lower lanes with calls waiting (then the next lane is considered). None under its cap:
   * undefined.
   */
  private pick(limit: number): Lane | undefined {
    const free = limit - this.inFlight - (this.ends.length - this.head);
    let fallback: Lane | undefined;
    for (let i = 0; i < LANES.length; i++) {
      const l = LANES[i]!;
      const ls = this.lanes[l];
      if (ls.queue.length === 0 || this.laneCount(ls) >= this.capOf(l, limit)) continue;
      fallback ??= l;
      let owed = 0;
      for (const m of LANES.slice(i + 1)) {
        const ms = this.lanes[m];
        if (ms.queue.length > 0) owed += Math.max(0, Math.floor((limit * this.policies[m].floorPct) / 100) - this.laneCount(ms));
      }
      if (free - 1 >= owed) return l;
    }
    return fallback;
  }

  private capWaitMs(t: number): number {
    let wait = Infinity;
    for (const l of LANES) {
      const ls = this.lanes[l];
      if (ls.queue.length > 0 && ls.head < ls.ends.length) wait = Math.min(wait, ls.ends[ls.head]! + this.windowMs - t);
    }
    return Math.max(0, wait);
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
    for (const l of LANES) {
      const ls = this.lanes[l];
      while (ls.head < ls.ends.length && ls.ends[ls.head]! <= t - this.windowMs) ls.head++;
      if (ls.head > 1024) {
        ls.ends = ls.ends.slice(ls.head);
        ls.head = 0;
      }
    }
  }
}

function checkLimit(limit: number): void {
  if (!(Number.isInteger(limit) && limit >= 0)) throw new RangeError(`limit must be a whole number >= 0, got ${limit}`);
}
