// The one abortable sleep: node:timers/promises' setTimeout, but resolving (never rejecting)
// when a signal aborts, so loops read `await sleep(ms, signal); if (signal.aborted) return;`.
import { setTimeout as delay } from 'node:timers/promises';

/** Resolves after `ms`, or at once when any of `signals` aborts (never rejects). */
export async function sleep(ms: number, ...signals: Array<AbortSignal | undefined>): Promise<void> {
  const given = signals.filter((s): s is AbortSignal => s !== undefined);
  const signal = given.length > 1 ? AbortSignal.any(given) : given[0];
  if (signal?.aborted) return;
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
}
