// Lanes in the rate gate: interactive calls go ahead of queued bulk work, each lane keeps its
// floor and never holds more than its cap; the lane policy and the request header are checked.
import { RateGate } from '../src/rate-gate';
import { DEFAULT_LANES, laneOfHeader, parseLanes, type Lane } from '../src/lanes';

const settle = () => new Promise((r) => setTimeout(r, 5));

/** A gate on a fake clock and a log of which lane started when; each call ends at once. */
function rig(lanes = DEFAULT_LANES) {
  const clock = { now: 0 };
  const gate = new RateGate({ limit: 10, windowMs: 1000, burst: 10, now: () => clock.now, lanes });
  const started: Array<{ lane: Lane; at: number }> = [];
  const ask = (lane: Lane, n: number, hold = false): Array<Promise<() => void>> =>
    Array.from({ length: n }, () =>
      gate.take(undefined, lane).then(
        (ended) => {
          started.push({ lane, at: clock.now });
          if (!hold) ended();
          return ended;
        },
        () => () => undefined, // refused when the gate closes at the end of a test
      ),
    );
  const advance = async (to: number) => {
    clock.now = to;
    gate.wake();
    await settle();
  };
  const inWindow = (lane: Lane, from: number) => started.filter((s) => s.lane === lane && s.at >= from && s.at < from + 1000).length;
  return { gate, clock, started, ask, advance, inWindow };
}

describe('lanes in the rate gate', () => {
  it('serves a live lookup ahead of queued bulk work', async () => {
    const r = rig();
    r.ask('bulk', 10); // the whole window
    await settle();
    r.ask('bulk', 20);
    r.ask('interactive', 3);
    r.ask('scheduled', 2);
    await settle();
    expect(r.started).toHaveLength(10);
    await r.advance(1001); // the first ten have left the window
    expect(r.started.slice(10, 20).map((s) => s.lane)).toEqual(['interactive', 'interactive', 'interactive', 'scheduled', 'scheduled', 'bulk', 'bulk', 'bulk', 'bulk', 'bulk']);
    r.gate.close();
  });

  it('keeps each lane under its cap and the lower lane at its floor while the higher one floods', async () => {
    // interactive may take the whole budget here (cap 100%), bulk keeps its floor of 20%
    const r = rig({ ...DEFAULT_LANES, interactive: { floorPct: 10, capPct: 100 } });
    r.ask('interactive', 200);
    r.ask('bulk', 200);
    await settle(); // the first window went to interactive alone: bulk was not waiting yet
    for (let t = 1001; t <= 6006; t += 1001) await r.advance(t);
    for (let w = 1001; w <= 5005; w += 1001) {
      expect(r.inWindow('bulk', w)).toBe(2); // its floor, not starved
      expect(r.inWindow('interactive', w)).toBe(8);
    }
    r.gate.close();
    // with the default cap (50%), interactive takes at most half even when it alone waits
    const d = rig();
    d.ask('interactive', 100);
    await settle();
    for (let t = 1001; t <= 4004; t += 1001) await d.advance(t);
    for (let w = 1001; w <= 3003; w += 1001) expect(d.inWindow('interactive', w)).toBe(5);
    expect(d.gate.waiting('interactive')).toBeGreaterThan(0);
    d.gate.close();
  });

  it('counts a lane until its calls have ended and left the window, as the limit does', async () => {
    const r = rig();
    const held = r.ask('interactive', 5, true); // 5 in flight: the cap
    await settle();
    r.ask('interactive', 1);
    await r.advance(5000);
    expect(r.started).toHaveLength(5); // still in flight: the cap holds
    (await Promise.all(held)).forEach((ended) => ended());
    expect(r.gate.laneInWindow('interactive')).toBe(5);
    await r.advance(6001);
    expect(r.started).toHaveLength(6);
    r.gate.close();
  });
});

describe('lane policy and header', () => {
  it('reads HAIER_LANES (floor:cap percent), keeping the defaults of lanes left out, and says what is wrong', () => {
    expect(parseLanes(undefined)).toEqual(DEFAULT_LANES);
    expect(parseLanes('interactive=5:30, bulk=30:100')).toEqual({ ...DEFAULT_LANES, interactive: { floorPct: 5, capPct: 30 }, bulk: { floorPct: 30, capPct: 100 } });
    expect(parseLanes('fast=1:2')).toEqual({ error: expect.stringMatching(/expected lane=floor:cap in percent.*got "fast=1:2"/) });
    expect(parseLanes('bulk=60:50')).toEqual({ error: expect.stringMatching(/bulk: the floor must be at most the cap/) });
    expect(parseLanes('interactive=50:100,scheduled=40:100')).toEqual({ error: 'the floors add up to 110%, more than the whole budget' });
  });

  it('takes the lane from the x-haier-lane header', () => {
    expect(laneOfHeader(null)).toBeUndefined();
    expect(laneOfHeader('Interactive')).toBe('interactive');
    expect(laneOfHeader('urgent')).toEqual({ error: 'x-haier-lane: expected one of interactive, scheduled, bulk, got "urgent"' });
  });
});
