// One upstream watch per run (WatchRun: its progress; WatchRunLog: its log lines, keyed by run and
// filter), however many SSE followers it has: the orchestrator polls its database once per watch,
// so fifty browser tabs on one run would otherwise be fifty pollers.
// Followers join and leave at any time; the upstream watch starts with the first and is
// cancelled when the last one leaves. A late joiner gets the updates from when it joined (the
// route sends it the run's current state first); with `replay`, it first gets every message the
// upstream sent so far (a log's backlog: bounded by the run log's cap).
//
// With `reconnect`, a broken upstream (the orchestrator restarting: the stream is cancelled or
// reset, connections are refused, or it ends before the run does) is opened again, every
// `pauseMs`, for up to `forMs`; followers are told once per outage (`onReconnecting`) and keep
// their place (the watch is reopened with the last message it sent, to resume after it). Only an answer about the run itself (not found, refused) or an outage longer than
// `forMs` ends them with the error.
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError } from '@connectrpc/connect';
import type { sync } from '@haier-sync/contracts';

/** The upstream stream of `key`; `last`: the last message it sent before it broke (resume after it). */
type Watch<T> = (key: string, signal: AbortSignal, last?: T) => AsyncIterable<T>;

interface Follower<T> {
  push(message: T): void;
  reconnecting(why: string): void;
  end(err?: unknown): void;
}

export interface ReconnectOptions<T = sync.Run> {
  /** Whether a message is the run's last (its stream ending then is the run's end, not a break). */
  isFinal(message: T): boolean;
  /** How long to keep reopening a broken upstream (default 120 s). */
  forMs?: number;
  /** Pause between reopenings (default 1 s). */
  pauseMs?: number;
}

/** Codes with which the orchestrator answered about the run itself: not a broken stream. */
const ANSWERED = new Set([Code.NotFound, Code.InvalidArgument, Code.PermissionDenied, Code.Unauthenticated, Code.FailedPrecondition, Code.Unimplemented]);

interface Shared<T> {
  followers: Set<Follower<T>>;
  abort: AbortController;
  /** With `replay`: every message so far, for followers who join later. */
  seen: T[];
}

export interface HubOptions {
  /** A late follower first gets every message the upstream sent so far (default false). */
  replay?: boolean;
}

export class RunWatchHub<T = sync.Run> {
  private shared = new Map<string, Shared<T>>();

  constructor(
    private readonly watch: Watch<T>,
    private readonly reconnect?: ReconnectOptions<T>,
    private readonly options: HubOptions = {},
  ) {}

  /** Upstream watches open now (for tests and metrics). */
  get open(): number {
    return this.shared.size;
  }

  /**
   * The run's updates until the run ends (the upstream stream completes), the upstream fails
   * (throws its error) or `signal` aborts (returns quietly). `onReconnecting` hears of a broken
   * upstream being reopened (once per outage).
   */
  async *follow(id: string, signal: AbortSignal, onReconnecting?: (why: string) => void): AsyncGenerator<T> {
    if (signal.aborted) return;
    const queue: T[] = [];
    let done = false;
    let failure: { err: unknown } | undefined;
    let wake: (() => void) | undefined;
    const follower: Follower<T> = {
      push(run) {
        queue.push(run);
        wake?.();
      },
      reconnecting(why) {
        onReconnecting?.(why);
      },
      end(err) {
        done = true;
        if (err !== undefined) failure = { err };
        wake?.();
      },
    };
    const s = this.join(id, follower);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (signal.aborted) return;
        if (queue.length) {
          yield queue.shift()!;
          continue;
        }
        if (done) {
          if (failure) throw failure.err;
          return;
        }
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.leave(id, s, follower);
    }
  }

  private join(id: string, follower: Follower<T>): Shared<T> {
    let s = this.shared.get(id);
    if (!s) {
      const created: Shared<T> = { followers: new Set(), abort: new AbortController(), seen: [] };
      this.shared.set(id, created);
      s = created;
      void this.pump(id, created);
    }
    for (const m of s.seen) follower.push(m);
    s.followers.add(follower);
    return s;
  }

  private leave(id: string, s: Shared<T>, follower: Follower<T>): void {
    s.followers.delete(follower);
    if (s.followers.size === 0) {
      if (this.shared.get(id) === s) this.shared.delete(id);
      s.abort.abort();
    }
  }

  private async pump(id: string, s: Shared<T>): Promise<void> {
    let err: unknown;
    let last: T | undefined;
    let downSince: number | undefined;
    for (;;) {
      let broke: unknown;
      try {
        for await (const message of this.watch(id, s.abort.signal, last)) {
          last = message;
          downSince = undefined;
          if (this.options.replay) s.seen.push(message);
          for (const f of s.followers) f.push(message);
        }
        if (!this.reconnect || (last && this.reconnect.isFinal(last))) break;
        broke = new ConnectError(`the orchestrator ended the watch of run ${id} before the run ended`, Code.Unavailable);
      } catch (e) {
        broke = e;
      }
      if (s.abort.signal.aborted) break;
      const ce = ConnectError.from(broke);
      if (!this.reconnect || ANSWERED.has(ce.code) || (downSince !== undefined && Date.now() - downSince > (this.reconnect.forMs ?? 120_000))) {
        err = broke;
        break;
      }
      if (downSince === undefined) {
        downSince = Date.now();
        for (const f of s.followers) f.reconnecting(ce.rawMessage);
      }
      await sleep(this.reconnect.pauseMs ?? 1_000, undefined, { signal: s.abort.signal }).catch(() => undefined);
    }
    // later followers start a new watch rather than join one that has ended
    if (this.shared.get(id) === s) this.shared.delete(id);
    if (s.abort.signal.aborted) return; // everyone left
    for (const f of s.followers) f.end(err);
  }
}
