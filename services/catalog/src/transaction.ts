// Retrying a whole transaction on the conflicts Postgres (or a concurrent batch) can cause.
import { sleep } from '@haier-sync/runtime';

/** A conflict our own code detected (e.g. a concurrent batch created the same code first): retry the transaction. */
export class RetryableConflict extends Error {}

const RETRYABLE_PG = new Set(['40001', '40P01']); // serialization failure, deadlock

export function isRetryable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown };
  if (err instanceof RetryableConflict) return true;
  if (typeof e.code === 'string' && RETRYABLE_PG.has(e.code)) return true;
  const cause = (err as { cause?: unknown }).cause;
  return cause !== undefined && cause !== err && isRetryable(cause);
}

export async function withRetry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts || !isRetryable(err)) throw err;
      await sleep(5 * i + Math.floor(Math.random() * 10));
    }
  }
}
