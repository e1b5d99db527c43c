// sync_publisher_lag_seconds: how long the oldest unpublished log entry has waited, from the head
// seqs seen at each scrape (src/metrics.ts LagClock). Pure: times are given.
import { LagClock } from '../src/metrics';

describe('LagClock (publisher lag in seconds)', () => {
  it('is 0 while the cursor is at the head, then the age of the first scrape that saw the head past the cursor', () => {
    const c = new LagClock();
    expect(c.secondsBehind(10n, 10n, 0)).toBe(0);
    expect(c.secondsBehind(15n, 10n, 15_000)).toBe(0); // first seen now
    expect(c.secondsBehind(20n, 12n, 30_000)).toBe(15); // entry 11 was known at 15 s
    expect(c.secondsBehind(25n, 16n, 45_000)).toBe(15); // 16 published: entry 17 was first seen at 30 s (head 20)
    expect(c.secondsBehind(25n, 25n, 60_000)).toBe(0); // caught up
    expect(c.secondsBehind(26n, 25n, 75_000)).toBe(0);
    expect(c.secondsBehind(26n, 25n, 90_000)).toBe(15);
  });

  it('keeps only what is not yet published (bounded memory while the publisher keeps up)', () => {
    const c = new LagClock();
    for (let i = 1; i <= 10_000; i++) c.secondsBehind(BigInt(i * 10), BigInt(i * 10 - 5), i * 1000);
    expect((c as unknown as { seen: unknown[] }).seen.length).toBeLessThanOrEqual(2);
    expect(c.secondsBehind(100_010n, 100_000n, 10_001_000)).toBe(0);
  });
});
