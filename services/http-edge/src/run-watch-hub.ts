// One upstream WatchRun per run, however many SSE followers it has: the orchestrator polls its
// database once per watch, so fifty browser tabs on one run would otherwise be fifty pollers.
// Followers join and leave at any time; the upstream watch starts with the first and is
// cancelled when the last one leaves. A late joiner gets the updates from when it joined (the
// route sends it the run's current state first).
//
// With `reconnect`, a broken upstream (the orchestrator restarting: the stream is cancelled or
// reset, connections are refused, or it ends before the run does) is opened again, every
// `pauseMs`, for up to `forMs`; followers are told once per outage (`onReconnecting`) and keep
// their place. Only an answer about the run itself (not found, refused) or an outage longer than
// `forMs` ends them with the error.
import { setTimeout as sleep } from 'node:timers/promises';
import { Code, ConnectError } from '@connectrpc/connect';
import type { sync } from '@haier-sync/contracts';

type Watch = (id: string, signal: AbortSignal) => AsyncIterable<sync.Run>;

interface Follower {
  push(run: sync.Run): void;
  reconnecting(why: string): void;
  end(err?: unknown): void;
}

export interface ReconnectOptions {
  /** Whether a run has ended (its stream ending then is the run's end, not a break). */
  isFinal(run: sync.Run): boolean;
  /** How long to keep reopening a broken upstream (default 120 s). */
  forMs?: number;
  /** Pause between reopenings (default 1 s). */
  pauseMs?: number;
}

/** Codes with which the orchestrator answered about the run itself: not a broken stream. */
const ANSWERED = new Set([Code.NotFound, Code.InvalidArgument, Code.PermissionDenied, Code.Unauthenticated, Code.FailedPrecondition, Code.Unimplemented]);

interface Shared {
  followers: Set<Follower>;
  abort: AbortController;
}

export class RunWatchHub {
  private shared = new Map<string, Shared>();

  constructor(
    private readonly watch: Watch,
    private readonly reconnect?: ReconnectOptions,
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
  async *follow(id: string, signal: AbortSignal, onReconnecting?: (why: string) => void): AsyncGenerator<sync.Run> {
    if (signal.aborted) return;
    const queue: sync.Run[] = [];
    let done = false;
    let failure: { err: unknown } | undefined;
    let wake: (() => void) | undefined;
    const follower: Follower = {
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
        const run = queue.shift();
        if (run) {
          yield run;
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

  private join(id: string, follower: Follower): Shared {
    let s = this.shared.get(id);
    if (!s) {
      const created: Shared = { followers: new Set(), abort: new AbortController() };
      this.shared.set(id, created);
      s = created;
      void this.pump(id, created);
    }
    s.followers.add(follower);
    return s;
  }

  private leave(id: string, s: Shared, follower: Follower): void {
    s.followers.delete(follower);
    if (s.followers.size === 0) {
      if (this.shared.get(id) === s) this.shared.delete(id);
      s.abort.abort();
    }
  }

  private async pump(id: string, s: Shared): Promise<void> {
    let err: unknown;
    let last: sync.Run | undefined;
    let downSince: number | undefined;
    for (;;) {
      let broke: unknown;
      try {
        for await (const run of this.watch(id, s.abort.signal)) {
          last = run;
          downSince = undefined;
          for (const f of s.followers) f.push(run);
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
