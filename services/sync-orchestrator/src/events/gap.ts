// Sequence gaps. A bigserial log can show seq 12 before seq 11 commits (two writers in flight),
// so the relay only takes the contiguous run after its cursor and waits a little for a hole to
// fill; a hole that stays (a rolled-back writer) is skipped after `waitMs`. Pure.

export interface GapState {
  /** The seq we are waiting for, and since when. */
  missing?: bigint;
  since?: number;
}

/**
 * How many of `seqs` (ascending, all > cursor) may be relayed now. Mutates `state` to remember
 * the hole being waited for.
 */
export function contiguousCount(cursor: bigint, seqs: bigint[], state: GapState, now: number, waitMs: number | ((missing: bigint) => number)): number {
  const waitFor = typeof waitMs === 'number' ? () => waitMs : waitMs;
  let expected = cursor + 1n;
  let n = 0;
  for (const s of seqs) {
    if (s === expected) {
      n++;
      expected = s + 1n;
      continue;
    }
    // a hole before s: wait for it unless we've waited long enough for exactly this hole
    if (state.missing !== expected) {
      state.missing = expected;
      state.since = now;
    }
    if (now - (state.since ?? now) >= waitFor(expected)) {
      n++;
      expected = s + 1n;
      state.missing = undefined;
      state.since = undefined;
      continue;
    }
    return n;
  }
  return n;
}
