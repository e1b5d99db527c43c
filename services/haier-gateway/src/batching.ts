// Code lists of any length become upstream calls of at most 20 codes (Haier's limit), run
// concurrently (the limiter paces them), merged back in the order asked for.

import { rules } from '@haier-sync/contracts';

export const HAIER_MAX_CODES = rules.HAIER_CODES_PER_CALL;

/** Trimmed, non-empty, first-seen order, no duplicates. */
export function dedupeCodes(codes: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const raw of codes) {
    const c = raw.trim();
    if (c && !seen.has(c)) {
      seen.add(c);
      out.push(c);
    }
  }
  return out;
}

export function chunk<T>(list: readonly T[], size: number): T[][] {
  if (size < 1) throw new RangeError('chunk size must be at least 1');
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** A batch that failed after its retries; names which codes were lost so nothing fails silently. */
export class BatchError extends Error {
  constructor(
    readonly index: number,
    readonly count: number,
    readonly codes: readonly string[],
    override readonly cause: unknown,
  ) {
    super(`batch ${index + 1} of ${count} (${codes.length} codes: ${codes[0]}…${codes[codes.length - 1]}) failed`);
    this.name = 'BatchError';
  }
}

/**
 * Runs `fn` on each batch concurrently and concatenates results in batch order (so in the
 * requested order when each batch answers in its own order). Any batch failing rejects with a
 * BatchError for the first failing batch (in batch order) once all batches have settled.
 */
export async function runBatches<I, E>(
  codes: readonly string[],
  size: number,
  fn: (batch: string[], index: number) => Promise<{ items: I[]; errors: E[] }>,
): Promise<{ items: I[]; errors: E[] }> {
  const batches = chunk(codes, size);
  const settled = await Promise.allSettled(batches.map((b, i) => fn(b, i)));
  const items: I[] = [];
  const errors: E[] = [];
  for (let i = 0; i < settled.length; i++) {
    const s = settled[i]!;
    if (s.status === 'rejected') throw new BatchError(i, batches.length, batches[i]!, s.reason);
    items.push(...s.value.items);
    errors.push(...s.value.errors);
  }
  return { items, errors };
}

/** Runs `fn` over items with at most `limit` in flight, results in input order (settled). */
export async function mapSettled<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const results: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i]!, i) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
