// The cap on upstream calls in flight (HAIER_MAX_CONCURRENCY): a FIFO of waiting calls and a
// count of running ones. (Bottleneck did this before, at ~0.5 ms of CPU per call: a sixth of
// the gateway's whole cost per upstream call.)
import { GateClosed, waitInQueue } from './rate-gate';

export class CallSlots {
  private active = 0;
  private readonly queue: Parameters<typeof waitInQueue>[0] = [];
  private closed = false;

  constructor(readonly max: number) {
    if (!(Number.isInteger(max) && max >= 1)) throw new RangeError(`max must be a whole number >= 1, got ${max}`);
  }

  /**
   * Runs `fn` once a slot is free (first come, first served); the slot is freed when it settles.
   * A call whose `signal` aborts while it waits leaves the queue (rejects with the signal's reason).
   */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Calls waiting for a slot. */
  waiting(): number {
    return this.queue.length;
  }

  /** Calls holding a slot. */
  running(): number {
    return this.active;
  }

  /** Fails every waiting call and refuses new ones; running calls finish. */
  close(): void {
    this.closed = true;
    for (const w of this.queue.splice(0)) w.reject(new GateClosed());
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (this.closed) return Promise.reject(new GateClosed());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.active < this.max) {
      this.active++;
      return Promise.resolve();
    }
    return waitInQueue(this.queue, signal);
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next.resolve(); // the slot passes straight to the next call
    else this.active--;
  }
}
