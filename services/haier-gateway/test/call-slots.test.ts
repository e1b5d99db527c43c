// The cap on upstream calls in flight: never more than `max` running, first come first served,
// a failing call frees its slot, and close() refuses what waits.
import { CallSlots } from '../src/call-slots';
import { GateClosed } from '../src/rate-gate';

describe('CallSlots', () => {
  it('runs at most `max` at once, in arrival order, and frees the slot of a failed call', async () => {
    const slots = new CallSlots(3);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) =>
        slots.run(async () => {
          order.push(i);
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
          if (i % 4 === 0) throw new Error(`call ${i} failed`);
          return i;
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(5);
    expect(slots.running()).toBe(0);
    expect(slots.waiting()).toBe(0);
  });

  it('close() fails the waiting calls, lets the running one finish, and refuses new ones', async () => {
    const slots = new CallSlots(1);
    let release!: () => void;
    const first = slots.run(() => new Promise<string>((r) => (release = () => r('done'))));
    const second = slots.run(async () => 'never');
    expect(slots.waiting()).toBe(1);
    slots.close();
    await expect(second).rejects.toBeInstanceOf(GateClosed);
    release();
    await expect(first).resolves.toBe('done');
    await expect(slots.run(async () => 'late')).rejects.toBeInstanceOf(GateClosed);
  });
});
