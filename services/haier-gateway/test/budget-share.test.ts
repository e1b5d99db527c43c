// The share computation (budget.ts ShareState): each replica's share of the account's budget as
// members join, leave and die, and the rule that keeps the sum of the shares under the limit
// while they do (lower at once, raise only after the membership held for holdMs).
import { accountKey, ShareState, soleBudget } from '../src/budget';

const OPTS = { limit: 100, marginPct: 5, heartbeatMs: 500, expiryMs: 2000, holdMs: 1525 };

/** A replica whose own heartbeats are acknowledged every 500 ms up to `until`. */
function replica(until = 60_000): ShareState {
  const s = new ShareState(OPTS);
  for (let t = 0; t <= until; t += 500) s.acked(t);
  return s;
}

describe('ShareState', () => {
  it('alone: the limit less the margin; with n live members: a whole nth of that', () => {
    const s = replica();
    expect(s.target(10)).toBe(95);
    s.seen('b', 100, 10);
    expect(s.target(10)).toBe(47);
    s.seen('c', 100, 10);
    expect(s.target(10)).toBe(31);
    expect(s.live(10)).toBe(3);
  });

  it('a newcomer starts at 0 and takes its share only after the membership held for holdMs', () => {
    const s = replica();
    s.seen('a', 100, 0);
    s.seen('b', 100, 0);
    expect(s.current(0)).toBe(0);
    expect(s.current(1000)).toBe(0);
    s.seen('a', 100, 1400);
    s.seen('b', 100, 1400);
    expect(s.current(1524)).toBe(0);
    expect(s.current(1525)).toBe(31);
  });

  it('lowers at once when a member joins, raises after holdMs when one leaves or stops beating', () => {
    const s = replica();
    s.current(0);
    expect(s.current(2000)).toBe(95);
    s.seen('b', 100, 2100);
    expect(s.current(2100)).toBe(47); // at once
    s.gone('b'); // a graceful stop (its gate closed first)
    expect(s.current(2200)).toBe(47); // not yet: its last starts may still be in the window
    expect(s.current(2200 + 1524)).toBe(47);
    expect(s.current(2200 + 1525)).toBe(95);
    // killed: its heartbeats stop; gone after expiryMs, raised holdMs after that
    s.seen('c', 100, 5000);
    expect(s.current(5000)).toBe(47);
    expect(s.current(7000)).toBe(47); // seen 2000 ms ago: still counted
    expect(s.current(7001)).toBe(47); // gone now; the raise waits
    expect(s.current(7001 + 1525)).toBe(95);
  });

  it('keeps the sum of the shares within the budget through joins, deaths and restarts (3 replicas, simulated)', () => {
    // Each replica sees the others' heartbeats 5 ms after they are sent; each window's starts are
    // bounded by the share in force at each start, and a lowered share binds fully one window
    // later. So the safe check is: for every moment t, the sum over replicas of the HIGHEST share
    // each held during (t - window, t] stays within 95.
    const WINDOW = 1025;
    const ids = ['a', 'b', 'c'];
    const alive: Record<string, [number, number][]> = { a: [[0, 30_000]], b: [[3000, 12_000], [16_000, 30_000]], c: [[6000, 30_000]] };
    const isAlive = (id: string, t: number) => alive[id]!.some(([from, to]) => t >= from && t < to);
    const states = Object.fromEntries(ids.map((id) => [id, new ShareState(OPTS)]));
    const history: Record<string, number[]> = { a: [], b: [], c: [] };
    for (let t = 0; t < 30_000; t += 5) {
      for (const id of ids) {
        const st = states[id]!;
        if (!isAlive(id, t)) {
          if (isAlive(id, t - 5)) states[id] = new ShareState(OPTS); // killed: it restarts from scratch
          history[id]!.push(0);
          continue;
        }
        if (t % 500 === 0) {
          st.acked(t);
          for (const other of ids) if (other !== id && isAlive(other, t + 5)) states[other]!.seen(id, 100, t + 5);
        }
        history[id]!.push(st.current(t));
      }
    }
    const steps = WINDOW / 5;
    let worst = 0;
    for (let i = 0; i < history.a!.length; i++) {
      let sum = 0;
      for (const id of ids) sum += Math.max(...history[id]!.slice(Math.max(0, i - steps), i + 1));
      worst = Math.max(worst, sum);
    }
    expect(worst).toBeLessThanOrEqual(95);
    // and the budget is used: with two live replicas each holds 47 once settled
    const at = (ms: number) => ids.map((id) => history[id]![ms / 5]!);
    expect(at(2000)).toEqual([95, 0, 0]);
    expect(at(5500)).toEqual([47, 47, 0]);
    expect(at(10_000)).toEqual([31, 31, 31]);
    expect(at(15_500)).toEqual([47, 0, 47]); // b killed at 12 s: expiry 2 s + hold 1.5 s
    expect(at(20_000)).toEqual([31, 31, 31]);
  });

  it('stops spending when its own heartbeat is not acknowledged (the others would count it gone) or it cannot watch them', () => {
    const s = new ShareState(OPTS);
    expect(s.current(0)).toBe(0); // nothing acknowledged yet
    s.acked(0);
    expect(s.current(0)).toBe(0); // the raise waits holdMs
    expect(s.current(1501)).toBe(0); // acknowledged 1501 ms ago (> expiry 2000 - heartbeat 500): fenced, the wait starts over
    s.acked(1500);
    expect(s.current(1600)).toBe(0);
    for (let t = 2000; t <= 3000; t += 500) s.acked(t);
    expect(s.current(1600 + 1525)).toBe(95);
    expect(s.current(3000 + 1500)).toBe(95);
    expect(s.current(3000 + 1501)).toBe(0); // lowered at once
    s.acked(4600);
    s.blind(); // its watch of the others broke
    expect(s.current(4700)).toBe(0);
  });

  it('busy replicas split what idle ones leave; turning busy raises only after holdMs, turning idle lowers at once', () => {
    // a (this one) and c idle, b busy; every 500 ms each heartbeat is stored and seen
    const a = new ShareState(OPTS);
    const busy = { a: false, b: true, c: false };
    const beat = (t: number) => {
      a.acked(t, busy.a);
      a.seen('b', 100, t, busy.b);
      a.seen('c', 100, t, busy.c);
    };
    for (let t = 0; t <= 2000; t += 500) beat(t), a.current(t);
    expect(a.current(2000)).toBe(3); // idle: a tenth of an equal share (31)
    const b = new ShareState(OPTS);
    b.acked(0, true);
    b.seen('a', 100, 0, false);
    b.seen('c', 100, 0, false);
    expect(b.target(0)).toBe(89); // the busy one: 95 less 2 idle x 3
    busy.a = true; // calls wait here: announced with the next heartbeat
    beat(2500);
    expect(a.current(2500)).toBe(3); // raised only after the hold: b may not have lowered yet
    for (let t = 3000; t <= 4000; t += 500) beat(t), expect(a.current(t)).toBe(3);
    expect(a.current(2500 + 1525)).toBe(46); // 2 busy split 95 less 1 idle x 3
    b.acked(2500, true);
    b.seen('c', 100, 2500, false);
    b.seen('a', 100, 2505, true);
    expect(b.target(2505)).toBe(46); // b lowers as soon as it sees a busy
    busy.a = false;
    beat(4500);
    expect(a.current(4500)).toBe(3); // idle again: lowered at once
    busy.b = false;
    beat(5000);
    expect(a.target(5000)).toBe(31); // nobody busy: an equal split
  });

  it("an idle replica keeps what it announced it needs (its live lookups), within a tenth and an equal share; the busy ones split the rest", () => {
    // a (this one) idle with lookups needing 8 places; b and c busy with bulk work
    const a = new ShareState(OPTS);
    for (let t = 0; t <= 2000; t += 500) {
      a.acked(t, false, 8);
      a.seen('b', 100, t, true);
      a.seen('c', 100, t, true);
      a.current(t);
    }
    expect(a.current(2000)).toBe(8); // not the tenth (3): its lookups fit under their lane's cap
    const b = new ShareState(OPTS);
    b.acked(0, true);
    b.seen('a', 100, 0, false, 8);
    b.seen('c', 100, 0, true);
    expect(b.target(0)).toBe(43); // (95 - 8) / 2
    // a want below the tenth keeps the tenth; above an equal share gets an equal share
    b.seen('a', 100, 10, false, 1);
    expect(b.target(10)).toBe(46); // (95 - 3) / 2
    b.seen('a', 100, 20, false, 500);
    expect(b.target(20)).toBe(32); // (95 - 31) / 2
    // a replica that announces no want (an older one) keeps the tenth, as before
    b.seen('a', 100, 30, false);
    expect(b.target(30)).toBe(46);
  });

  it('equal(): an equal split among the live members, the lowest limit winning', () => {
    const s = replica();
    expect(s.equal(0)).toBe(95);
    s.seen('b', 100, 0);
    s.seen('c', 60, 0);
    expect(s.equal(0)).toBe(19); // floor(57 / 3)
  });

  it('takes the lowest limit among members that disagree', () => {
    const s = replica();
    s.seen('b', 60, 0);
    expect(s.target(0)).toBe(28); // floor(60 x 0.95 / 2)
  });
});

describe('soleBudget and accountKey', () => {
  it('a single gateway spends the limit less the margin (whole calls); the account key hides the account', () => {
    expect(soleBudget(100, 5).limit()).toBe(95);
    expect(soleBudget(20, 0).limit()).toBe(20);
    expect(soleBudget(20, 5).limit()).toBe(19);
    expect(soleBudget(1, 5).limit()).toBe(1); // the margin is whole calls: none below 20 calls/s at 5%
    expect(accountKey('http://h|client|8800633175')).toMatch(/^[0-9a-f]{16}$/);
    expect(accountKey('http://h|client|8800633175')).not.toBe(accountKey('http://h|client|8800633176'));
  });
});
