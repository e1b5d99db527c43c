// How a run ends: its final status and a summary an operator can read. Pure.
import type { OutcomeStatus } from './lifecycle';
import { imagesSummary, type ImageCounts } from './images';

export interface RunTotals {
  total: number;
  succeeded: number;
  failed: number;
  created: number;
  updated: number;
  unchanged: number;
  delisted: number;
  upstreamCalls: number;
  /** Products whose stock changed (already in updated, or created). */
  stockChanged?: number;
  /** Codes the listing repeated (each was planned once). */
  duplicates?: readonly string[];
}

export function finalStatus(t: RunTotals, fatal?: string): OutcomeStatus {
  if (fatal) return 'FAILED';
  if (t.failed === 0) return 'SUCCESS';
  if (t.succeeded === 0) return 'FAILED';
  return 'PARTIAL';
}

export function summaryMessage(label: string, t: RunTotals, status: string, opts: { dryRun: boolean; fatal?: string; images?: ImageCounts }): string {
  if (opts.fatal) return `${label} failed: ${opts.fatal}`;
  const dry = opts.dryRun ? ' (dry run: nothing written)' : '';
  const parts = [`${t.created} created`, `${t.updated} updated`, `${t.unchanged} unchanged`, `${t.failed} failed`];
  if (t.delisted) parts.push(`${t.delisted} delisted`);
  if (t.stockChanged) parts.push(`${t.stockChanged} with stock changes`);
  const lead = status === 'SUCCESS' ? 'completed' : status === 'PARTIAL' ? 'completed with failures' : 'failed';
  const hint = status === 'PARTIAL' || status === 'FAILED' ? '; see the failed items for reasons and run again to retry them' : '';
  const dups = t.duplicates?.length ?? 0;
  const repeated = dups ? `; ${dups} duplicate code${dups === 1 ? '' : 's'} in the listing, planned once (${t.duplicates!.slice(0, 5).join(', ')}${dups > 5 ? ', …' : ''})` : '';
  const images = opts.images ? `; ${imagesSummary(opts.images)}${opts.images.failed ? ' (failed images are listed as warnings in the run log; their products synced)' : ''}` : '';
  return `${label} ${lead}${dry}: ${t.total} products, ${parts.join(', ')}; ${t.upstreamCalls} calls to Haier${images}${repeated}${hint}`;
}
