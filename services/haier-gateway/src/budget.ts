// The account's call budget across gateway replicas: how many calls THIS process may have in
// flight or ended within the last second (its share, read by the rate gate), kept so that the
// shares of all live replicas of one Haier account never add up to more than HAIER_RATE_LIMIT
// less the margin. README, "The call budget".
//
// Membership lives in a NATS JetStream KV bucket: each replica puts its key every heartbeat
// (saying whether it has calls waiting: busy, and what an idle one needs: want) and watches the
// others'. Nothing is asked of NATS per call: the gate reads `limit()`, a local computation. Busy
// replicas split what idle ones leave; an idle one keeps what it needs (the places its calls of
// the last second took, and one spare: RateGate.needed), at least a tenth of an equal share and at
// most an equal share. The rules that keep the sum within the budget while members
// come, go, and turn busy or idle:
//  - a replica LOWERS its share as soon as what it sees calls for it (a newcomer, a member turning
//    busy, its own idle announcement stored); the gate reads the share before every start, and a
//    lowered share has fully taken effect one window later;
//  - it RAISES its share only after the new view has held for `holdMs` (one window plus a
//    heartbeat): by then every other replica has seen the same and lowered, or the leaver's last
//    calls have left every window. A newcomer starts at 0 and raises by the same rule;
//  - a member is gone when it deletes its key (graceful stop: its gate is closed first) or when
//    no heartbeat came for `expiryMs` (killed, stalled, cut off);
//  - a replica whose own heartbeat has not been acknowledged for `expiryMs - heartbeatMs`, or that
//    cannot watch the others, spends nothing (share 0): the others are about to count it gone.
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { connect, type KV, type NatsConnection } from 'nats';
import type { Logger } from '@haier-sync/runtime';
import type { GatewayConfig } from './config';

/** Ticks in a row with calls waiting before a replica says it is busy (at the default 100 ms tick: 300 ms). */
const BUSY_TICKS = 3;

/** Calls this process may start per window of the rate gate, now. */
export interface CallBudget {
  limit(): number;
  /** An equal split of the account's budget among the live replicas (what the lanes' caps are
   *  percentages of when this replica's share is smaller: rate-gate.ts capBase). */
  equalShare(): number;
  /** `fn` runs when the limit may have risen (the gate starts what is now due). */
  onRaise(fn: () => void): void;
  /** How many calls wait for the limit now (a replica whose calls keep waiting asks for a bigger
   *  share), and the limit what is here now would need (what an idle replica asks for). */
  demand(waiting: () => number, needed: () => number): void;
  close(): Promise<void>;
}

/** What the replicas of one account may spend together: the limit less the margin (in whole calls, rounded down: none below 100/margin calls/s). */
export function usable(limit: number, marginPct: number): number {
  return limit - Math.floor((limit * marginPct) / 100);
}

/** The whole budget for a single gateway (no NATS_URL). */
export function soleBudget(limit: number, marginPct: number): CallBudget {
  const share = usable(limit, marginPct);
  return { limit: () => share, equalShare: () => share, onRaise: () => undefined, demand: () => undefined, close: async () => undefined };
}

export interface ShareOptions {
  /** The account's calls per window (HAIER_RATE_LIMIT). */
  limit: number;
  /** Percent of the limit held back (HAIER_RATE_MARGIN_PCT). */
  marginPct: number;
  heartbeatMs: number;
  /** No heartbeat for this long: the member is gone. */
  expiryMs: number;
  /** How long a membership must hold before a share is raised to it. */
  holdMs: number;
}

/**
 * The share computation, without NATS or timers (unit-tested): members' heartbeats and leaving in,
 * this replica's share out. Times are this process's clock (ms), read when events arrive.
 */
export class ShareState {
  private readonly members = new Map<string, { limit: number; seenAt: number; busy: boolean; want: number }>();
  private granted = 0;
  private pending: { value: number; since: number } | undefined;
  /** When the latest acknowledged heartbeat of this replica was sent, and whether it said busy. */
  private ackedSentAt = -Infinity;
  private ackedBusy = true;
  private ackedWant = 0;

  constructor(readonly opts: ShareOptions) {}

  /** Another replica's heartbeat (its limit, as it is configured; whether its calls keep waiting; what it needs when idle). */
  seen(id: string, limit: number, now: number, busy = true, want = 0): void {
    this.members.set(id, { limit, seenAt: now, busy, want });
  }

  /** Another replica deleted its key (stopped). */
  gone(id: string): void {
    this.members.delete(id);
  }

  /** This replica's heartbeat sent at `sentAt` (saying `busy` and `want`) was stored: the others know what it says. */
  acked(sentAt: number, busy = true, want = 0): void {
    if (sentAt < this.ackedSentAt) return;
    this.ackedSentAt = sentAt;
    this.ackedBusy = busy;
    this.ackedWant = want;
  }

  /** Members can no longer be seen: spend nothing until a heartbeat is acknowledged again. */
  blind(): void {
    this.ackedSentAt = -Infinity;
  }

  /** Replicas with calls waiting, as announced (this one included). */
  busyMembers(): number {
    let n = this.ackedBusy ? 1 : 0;
    for (const m of this.members.values()) if (m.busy) n++;
    return n;
  }

  /** Live replicas (this one included) as of `now`. */
  live(now: number): number {
    let n = 1;
    for (const [id, m] of this.members) {
      if (now - m.seenAt > this.opts.expiryMs) this.members.delete(id);
      else n++;
    }
    return n;
  }

  /**
   * What the share should be for the membership seen at `now` (0 while this replica's heartbeat
   * is not acknowledged). Replicas with calls waiting (busy) split what the idle ones leave; an
   * idle replica keeps what it announced it needs (`want`: the calls it gets, e.g. live lookups
   * that reach it), at least a tenth of an equal share (at least 1) and at most an equal share,
   * and when none is busy all split equally. Every replica computes the same split from the same
   * announcements, and its own flags count only once announced, so the shares add up to the
   * budget at most.
   */
  target(now: number): number {
    if (now - this.ackedSentAt > this.opts.expiryMs - this.opts.heartbeatMs) return 0;
    const n = this.live(now);
    let busy = this.ackedBusy ? 1 : 0;
    for (const m of this.members.values()) if (m.busy) busy++;
    const total = this.total();
    const equal = Math.floor(total / n);
    if (busy === 0 || busy === n) return equal;
    const tenth = Math.max(1, Math.floor(total / n / 10));
    const idleShare = (want: number) => Math.min(equal, Math.max(tenth, want));
    if (!this.ackedBusy) return idleShare(this.ackedWant);
    let idle = 0;
    for (const m of this.members.values()) if (!m.busy) idle += idleShare(m.want);
    return Math.max(0, Math.floor((total - idle) / busy));
  }

  /** An equal split of the budget among the members seen at `now`. */
  equal(now: number): number {
    const n = this.live(now);
    return Math.floor(this.total() / n);
  }

  /** What the members may spend together: the lowest limit any of them announces (replicas that disagree), less the margin. */
  private total(): number {
    let limit = this.opts.limit;
    for (const m of this.members.values()) limit = Math.min(limit, m.limit);
    return usable(limit, this.opts.marginPct);
  }

  /** The share to use at `now`: lowered at once, raised after the membership held for holdMs. */
  current(now: number): number {
    const target = this.target(now);
    if (target <= this.granted) {
      this.granted = target;
      this.pending = undefined;
    } else if (!this.pending || this.pending.value !== target) {
      this.pending = { value: target, since: now };
    } else if (now - this.pending.since >= this.opts.holdMs) {
      this.granted = target;
      this.pending = undefined;
    }
    return this.granted;
  }
}

export interface SharedBudgetOptions extends ShareOptions {
  natsUrl: string;
  bucket: string;
  /** Identifies the Haier account (hashed into the keys; the same for every replica of one account). */
  account: string;
  logger: Logger;
  /** How often the share is re-evaluated between events (default 100 ms). */
  tickMs?: number;
}

/** A KV key part from any text: letters, digits, '-' and '_' only. */
function keyPart(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 60);
}

/** The account's key prefix: a hash, so neither the client id nor the customer code is stored in NATS. */
export function accountKey(account: string): string {
  return createHash('sha256').update(account).digest('hex').slice(0, 16);
}

/**
 * The budget shared through NATS JetStream KV. `start()` returns at once: until the first
 * heartbeat is stored (NATS reachable), the share is 0 and calls wait in the gate.
 */
export class SharedBudget implements CallBudget {
  readonly id = `${keyPart(hostname())}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly state: ShareState;
  private readonly prefix: string;
  private readonly raised: Array<() => void> = [];
  private nc: NatsConnection | undefined;
  private kv: KV | undefined;
  private closing = false;
  private last = 0;
  private beatTimer: NodeJS.Timeout | undefined;
  private tick: NodeJS.Timeout | undefined;
  private failingSince: number | undefined;
  private unusableLoggedAt = -Infinity;
  private waitingCalls: () => number = () => 1;
  private neededLimit: () => number = () => 0;
  /** When calls were last seen waiting for the limit BUSY_TICKS ticks in a row: busy for 2 heartbeats after. */
  private waitedAt = -Infinity;
  private waitTicks = 0;
  /** What the gate needed at each tick of the last 2 heartbeats (an idle replica asks for the most of them). */
  private needs: Array<{ at: number; need: number }> = [];
  /** A heartbeat counts only while the others' are watched (a replica that cannot see newcomers must not spend). */
  private watching = false;

  constructor(private readonly opts: SharedBudgetOptions) {
    this.state = new ShareState(opts);
    this.prefix = accountKey(opts.account);
  }

  limit(): number {
    return this.evaluate();
  }

  equalShare(): number {
    return this.state.equal(performance.now());
  }

  onRaise(fn: () => void): void {
    this.raised.push(fn);
  }

  demand(waiting: () => number, needed: () => number): void {
    this.waitingCalls = waiting;
    this.neededLimit = needed;
  }

  /** Samples the gate (every tick): calls that keep waiting make this replica busy; what it needs, for its want. */
  private sample(now: number): void {
    if (this.waitingCalls() > 0) {
      // a call that waits a moment (a lookup at its lane's cap) is not demand for a bigger share
      if (++this.waitTicks >= BUSY_TICKS) this.waitedAt = now;
    } else this.waitTicks = 0;
    this.needs.push({ at: now, need: this.neededLimit() });
    const since = now - 2 * this.opts.heartbeatMs;
    while (this.needs.length > 1 && this.needs[0]!.at < since) this.needs.shift();
  }

  /** What an idle replica asks for: the most the gate needed over the last 2 heartbeats. */
  private want(): number {
    let w = 0;
    for (const n of this.needs) w = Math.max(w, n.need);
    return w;
  }

  /** Replicas of this account seen alive (this one included). */
  members(): number {
    return this.state.live(performance.now());
  }

  /** The NATS URL without any user or password in it, for messages. */
  private where(): string {
    return this.opts.natsUrl.replace(/\/\/[^@/]*@/, '//');
  }

  start(): void {
    setTimeout(() => {
      if (!this.kv && !this.closing)
        this.opts.logger.warn({ nats: this.where() }, 'still waiting for NATS to share the Haier call budget with the other gateway replicas; no Haier calls until it answers (check NATS_URL)');
    }, 5000).unref();
    this.tick = setInterval(() => {
      this.sample(performance.now());
      this.evaluate();
    }, this.opts.tickMs ?? 100);
    this.tick.unref();
    void this.connectLoop();
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.tick) clearInterval(this.tick);
    if (this.beatTimer) clearTimeout(this.beatTimer);
    // the gate is closed before this (upstream-client close): no call starts after the key goes
    try {
      await this.kv?.delete(`${this.prefix}.${this.id}`);
    } catch {
      // NATS gone: the others count this replica out after expiryMs
    }
    await this.nc?.close().catch(() => undefined);
  }

  private evaluate(): number {
    const share = this.state.current(performance.now());
    if (share !== this.last) {
      const before = this.last;
      this.last = share;
      this.opts.logger.info({ share, before, replicas: this.state.live(performance.now()), busy: this.state.busyMembers(), limit: this.opts.limit }, "this gateway's share of the Haier call budget changed");
      if (share > before) for (const fn of this.raised) fn();
    }
    return share;
  }

  private async connectLoop(): Promise<void> {
    const log = this.opts.logger;
    try {
      this.nc = await connect({
        servers: this.opts.natsUrl,
        name: `haier-gateway ${this.id}`,
        waitOnFirstConnect: true,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        noAsyncTraces: true,
      });
      if (this.closing) return void (await this.nc.close());
      const js = this.nc.jetstream();
      this.kv = await js.views.kv(this.opts.bucket, { history: 1, ttl: Math.max(5_000, this.opts.expiryMs * 3) });
      log.info({ bucket: this.opts.bucket, replica: this.id }, 'sharing the Haier call budget through NATS KV');
      void this.watchLoop();
      this.beat();
    } catch (err) {
      if (this.closing) return;
      // said once, then every 30 s while it lasts
      const now = performance.now();
      if (now - this.unusableLoggedAt >= 30_000) {
        this.unusableLoggedAt = now;
        log.error({ err: String(err) }, `cannot share the Haier call budget: NATS KV bucket ${this.opts.bucket} at ${this.where()} is not usable; no Haier calls are made until it is. Check NATS_URL and that JetStream is enabled; retrying every 2 s`);
      }
      await this.nc?.close().catch(() => undefined);
      this.nc = undefined;
      setTimeout(() => void this.connectLoop(), 2000).unref();
    }
  }

  private beat(): void {
    if (this.closing || !this.kv) return;
    const sentAt = performance.now();
    const busy = sentAt - this.waitedAt < 2 * this.opts.heartbeatMs;
    const want = busy ? 0 : this.want();
    const value = JSON.stringify({ limit: this.opts.limit, busy, want, heartbeatMs: this.opts.heartbeatMs, host: hostname(), pid: process.pid });
    this.kv
      .put(`${this.prefix}.${this.id}`, value)
      .then(
        () => {
          if (this.watching) this.state.acked(sentAt, busy, want);
          if (this.failingSince !== undefined) this.opts.logger.info('heartbeat to NATS KV stored again; sharing the Haier call budget');
          this.failingSince = undefined;
          this.evaluate();
        },
        (err: unknown) => {
          if (this.failingSince === undefined) {
            this.failingSince = sentAt;
            this.opts.logger.warn({ err: String(err) }, 'heartbeat to NATS KV failed; this gateway stops calling Haier if it stays unstored (the other replicas would count it gone)');
          }
        },
      )
      .finally(() => {
        if (this.closing) return;
        // the next beat one period after this one was sent (a slow put does not push it later)
        this.beatTimer = setTimeout(() => this.beat(), Math.max(0, sentAt + this.opts.heartbeatMs - performance.now()));
        this.beatTimer.unref();
      });
  }

  private async watchLoop(): Promise<void> {
    const own = `${this.prefix}.${this.id}`;
    while (!this.closing && this.kv) {
      try {
        const w = await this.kv.watch({ key: `${this.prefix}.*` });
        this.watching = true;
        for await (const e of w) {
          if (e.key === own) continue;
          const id = e.key.slice(this.prefix.length + 1);
          if (e.operation === 'PUT') {
            let limit = this.opts.limit;
            let busy = true;
            let want = 0;
            try {
              const v = JSON.parse(e.string()) as { limit?: unknown; busy?: unknown; want?: unknown };
              if (typeof v.limit === 'number' && v.limit > 0) limit = v.limit;
              if (v.busy === false) busy = false;
              if (typeof v.want === 'number' && Number.isFinite(v.want) && v.want > 0) want = Math.floor(v.want);
            } catch {
              // an unreadable value still counts as a busy member, at this replica's limit
            }
            this.state.seen(id, limit, performance.now(), busy, want);
          } else this.state.gone(id);
          this.evaluate();
          if (this.closing) break;
        }
      } catch (err) {
        if (this.closing) return;
        this.opts.logger.warn({ err: String(err) }, 'watching the gateway replicas in NATS KV failed; no Haier calls from this gateway until it watches again (in 1 s)');
      }
      this.watching = false;
      this.state.blind();
      await new Promise((r) => setTimeout(r, 1000).unref());
    }
  }
}

/**
 * The budget for a gateway's configuration: shared through NATS KV when NATS_URL is set (any
 * number of replicas), else the whole budget for this one process.
 */
export function budgetFor(config: GatewayConfig, logger: Logger): CallBudget {
  if (!config.NATS_URL) return soleBudget(config.HAIER_RATE_LIMIT, config.HAIER_RATE_MARGIN_PCT);
  const heartbeatMs = config.HAIER_BUDGET_HEARTBEAT_MS;
  const b = new SharedBudget({
    natsUrl: config.NATS_URL,
    bucket: config.HAIER_BUDGET_BUCKET,
    account: `${config.HAIER_BASE_URL}|${config.HAIER_CLIENT_ID}|${config.HAIER_CUSTOMER_CODE}`,
    logger,
    limit: config.HAIER_RATE_LIMIT,
    marginPct: config.HAIER_RATE_MARGIN_PCT,
    heartbeatMs,
    expiryMs: 4 * heartbeatMs,
    holdMs: 1000 + heartbeatMs, // the gate's window, and a heartbeat for the news to spread
  });
  b.start();
  return b;
}
