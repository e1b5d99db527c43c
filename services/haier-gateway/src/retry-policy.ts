// Retries for upstream calls (cockatiel): exponential back-off with jitter, at most
// HAIER_MAX_RETRIES, only for retryable faults, and never sooner than a Retry-After asked.
import { ExponentialBackoff, handleWhen, retry, type IBackoff, type IBackoffFactory, type IRetryBackoffContext, type RetryPolicy } from 'cockatiel';
import { isRetryable, UpstreamError } from './errors';

/** Retry-After as milliseconds: delay-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined) return undefined;
  const t = v.trim();
  if (/^\d+$/.test(t)) return Number(t) * 1000;
  const date = Date.parse(t);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function retryAfterOf(ctx: IRetryBackoffContext<unknown>): number {
  const err = 'error' in ctx.result ? ctx.result.error : undefined;
  if (err instanceof UpstreamError && err.fault.kind === 'http') return err.fault.retryAfterMs ?? 0;
  return 0;
}

/** Wraps a back-off so each wait is at least the Retry-After of the answer that caused it. */
export class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<IRetryBackoffContext<unknown>>) {}
  next(ctx: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const step = this.inner.next(ctx);
    return {
      duration: Math.max(step.duration, retryAfterOf(ctx)),
      next: (c) => new RetryAfterBackoff(step).next(c),
    };
  }
}

export interface RetryOptions {
  maxRetries: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** The retry policy shared by every upstream call. */
export function upstreamRetryPolicy(opts: RetryOptions): RetryPolicy {
  return retry(handleWhen(isRetryable), {
    maxAttempts: opts.maxRetries,
    backoff: new RetryAfterBackoff(new ExponentialBackoff({ initialDelay: opts.initialDelayMs ?? 200, maxDelay: opts.maxDelayMs ?? 10_000 })),
  });
}
