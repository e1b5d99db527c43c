// Group commit: many workers each hand in one item (a batch's catalog write, a batch's completion);
// while a flush is in flight, the items that arrive wait and go out together as one flush (same
// key, up to maxSize), and each caller gets back exactly its own answer. At low load an item goes
// out at once, alone: no added delay. Under load, N concurrent items cost one round trip, one
// statement and one commit instead of N of each, and they stop queueing on the same lock.
//
// A flush that fails (or answers the wrong number of items) must not fail the items' neighbours:
// each item is then sent again on its own and gets its own answer or error, exactly as without
// grouping.

export interface GroupCommitOptions<T> {
  /** Flushes in flight at once. */
  maxInFlight: number;
  /** Items only go out together when their keys are equal. */
  key: (item: T) => string;
  /** Size of an item (default 1); a flush holds at most maxSize (a bigger item goes alone). */
  size?: (item: T) => number;
  maxSize: number;
  /** After a flush, items wait this long (ms) before the next one goes (default 0): bigger groups,
   *  fewer statements, for items that queue on one row anyway. The first item after a rest goes at once. */
  restMs?: number;
  /** Whether a failed flush is worth sending again item by item (default: always). A flush that
   *  failed for a reason its items share (the peer is down) fails them all at once instead. */
  fallback?: (err: unknown) => boolean;
}

export interface GroupCommit<T, R> {
  submit(item: T): Promise<R>;
  /** Flushes made, items they carried, and flushes that fell back to one item each. */
  stats(): { flushes: number; items: number; fallbacks: number };
}

interface Waiting<T, R> {
  item: T;
  key: string;
  size: number;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * `flush(items)` answers one result per item, in order; `single(item)` sends one item alone (used
 * for a group of one and for the fallback).
 */
export function createGroupCommit<T, R>(flush: (items: T[]) => Promise<R[]>, single: (item: T) => Promise<R>, opts: GroupCommitOptions<T>): GroupCommit<T, R> {
  const queue: Waiting<T, R>[] = [];
  let inFlight = 0;
  const stats = { flushes: 0, items: 0, fallbacks: 0 };

  /** The oldest waiting item and the others of its key that fit with it, in arrival order. */
  function takeGroup(): Waiting<T, R>[] {
    const key = queue[0]!.key;
    const group: Waiting<T, R>[] = [];
    let size = 0;
    for (let i = 0; i < queue.length; ) {
      const w = queue[i]!;
      if (w.key === key && (group.length === 0 || size + w.size <= opts.maxSize)) {
        group.push(w);
        size += w.size;
        queue.splice(i, 1);
      } else {
        i++;
      }
    }
    return group;
  }

  async function alone(w: Waiting<T, R>): Promise<void> {
    try {
      w.resolve(await single(w.item));
    } catch (e) {
      w.reject(e);
    }
  }

  async function send(group: Waiting<T, R>[]): Promise<void> {
    stats.flushes++;
    stats.items += group.length;
    if (group.length === 1) return alone(group[0]!);
    let results: R[] | undefined;
    try {
      results = await flush(group.map((w) => w.item));
    } catch (e) {
      if (opts.fallback && !opts.fallback(e)) {
        for (const w of group) w.reject(e);
        return;
      }
      results = undefined;
    }
    if (results && results.length === group.length) {
      group.forEach((w, i) => w.resolve(results[i]!));
      return;
    }
    stats.fallbacks++;
    for (const w of group) await alone(w);
  }

  let resting = false;
  function pump(): void {
    while (!resting && inFlight < opts.maxInFlight && queue.length > 0) {
      const group = takeGroup();
      inFlight++;
      void send(group).finally(() => {
        inFlight--;
        if (!opts.restMs) return pump();
        resting = true;
        setTimeout(() => {
          resting = false;
          pump();
        }, opts.restMs);
      });
    }
  }

  return {
    submit(item) {
      return new Promise<R>((resolve, reject) => {
        queue.push({ item, key: opts.key(item), size: opts.size?.(item) ?? 1, resolve, reject });
        pump();
      });
    },
    stats: () => ({ ...stats }),
  };
}
