// Exponential back-off with full jitter (the sleep itself is the runtime's `sleep`).

/** Delay before retry number `attempt` (1-based): random in [base/2, min(max, base*2^(attempt-1))]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}
