// One upstream WatchRun per run, however many SSE followers it has: the orchestrator polls its
// database once per watch, so fifty browser tabs on one run would otherwise be fifty pollers.
// Followers join and leave at any time; the upstream watch starts with the first and is
// cancelled when the last one leaves. A late joiner gets the updates from when it joined (the
// route sends it the run's current state first).
import type { sync } from '@haier-sync/contracts';

type Watch = (id: string, signal: AbortSignal) => AsyncIterable<sync.Run>;

interface Follower {
  push(run: sync.Run): void;
  end(err?: unknown): void;
}

interface Shared {
  followers: Set<Follower>;
  abort: AbortController;
}

export class RunWatchHub {
  private shared = new Map<string, Shared>();

  constructor(private readonly watch: Watch) {}

  /** Upstream watches open now (for tests and metrics). */
  get open(): number {
    return this.shared.size;
  }

  /**
   * The run's updates until the run ends (the upstream stream completes), the upstream fails
   * (throws its error) or `signal` aborts (returns quietly).
   */
  async *follow(id: string, signal: AbortSignal): AsyncGenerator<sync.Run> {
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
    try {
      for await (const run of this.watch(id, s.abort.signal)) {
        for (const f of s.followers) f.push(run);
      }
    } catch (e) {
      err = e;
    }
    // later followers start a new watch rather than join one that has ended
    if (this.shared.get(id) === s) this.shared.delete(id);
    if (s.abort.signal.aborted) return; // everyone left
    for (const f of s.followers) f.end(err);
  }
}
