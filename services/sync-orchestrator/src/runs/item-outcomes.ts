// What happened to each product of a batch, as the run counts it. A product counts once per run:
// created, updated (its record or its stock changed), unchanged, or failed (a reason about it).
// Pure.
import type { FailureRow } from './model';
import type { ImageCounts } from './images';
import type { LogLine } from './repository';

export const ITEM_OUTCOMES = ['failed', 'unchanged', 'updated', 'created'] as const;
export type ItemOutcome = (typeof ITEM_OUTCOMES)[number];

/** What a batch reports: its own result per code, failures and the preview of its changes. */
export interface BatchOutcome {
  /** The catalog's answer per code written (or found unchanged). */
  items: Record<string, Exclude<ItemOutcome, 'failed'>>;
  /** Codes whose stock the catalog changed. */
  stockChanged: string[];
  failures: FailureRow[];
  upstreamCalls: number;
  changes: string[];
  /** The batch's images (runs with the images option): counts, and a WARNING line per image that failed. Never a product failure. */
  images?: { counts: ImageCounts; lines: LogLine[] };
}

export function emptyOutcome(): BatchOutcome {
  return { items: {}, stockChanged: [], failures: [], upstreamCalls: 0, changes: [] };
}

export interface ItemRecord {
  code: string;
  outcome: ItemOutcome;
  stockChanged: boolean;
}

/**
 * One record per code of the batch: failed when the batch failed it (even after its record was
 * written: it did not sync in full), created as the catalog said, updated when its record or its
 * stock changed, unchanged otherwise. A code with no answer at all is failed, so the run's counts
 * always add up to its products.
 */
export function itemRecords(codes: readonly string[], o: BatchOutcome): ItemRecord[] {
  const failed = new Set(o.failures.map((f) => f.code));
  const stock = new Set(o.stockChanged);
  const out: ItemRecord[] = [];
  for (const code of new Set([...codes, ...failed])) {
    const s = stock.has(code);
    const item = o.items[code];
    if (failed.has(code) || item === undefined) out.push({ code, outcome: 'failed', stockChanged: s });
    else if (item === 'created') out.push({ code, outcome: 'created', stockChanged: s });
    else out.push({ code, outcome: item === 'updated' || s ? 'updated' : 'unchanged', stockChanged: s });
  }
  return out;
}

/** Codes a batch failed without saying why (no answer for them): failures to record with a reason. */
export function unansweredFailures(codes: readonly string[], o: BatchOutcome): FailureRow[] {
  const failed = new Set(o.failures.map((f) => f.code));
  return codes.filter((c) => !failed.has(c) && o.items[c] === undefined).map((code) => ({ code, reason: 'the batch gave no result for this product; run again to retry it' }));
}
