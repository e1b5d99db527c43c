// The automatic FULL runs that are not on a clock: first deployment (the catalog is empty) and
// a failed integrity check. Each asks the catalog over gRPC and starts the run through the
// engine, which answers the active FULL run instead of starting a second one.
import type { Client } from '@connectrpc/connect';
import { sync, type catalog } from '@haier-sync/contracts';
import { redact, type Logger } from '@haier-sync/runtime';
import { startedRun, type StartRun } from '../configs/service';
import { fullRunRequest } from './jobs';

export interface TriggerDeps {
  catalog: Client<typeof catalog.CatalogService>;
  startRun: StartRun;
  logger: Logger;
  counties: string[];
  /** Per catalog call, default 30 s. */
  timeoutMs?: number;
}

export type TriggerOutcome =
  | { action: 'none'; reason: string }
  | { action: 'started' | 'joined'; trigger: sync.RunTrigger; runId: string; reason: string };

async function startFull(deps: TriggerDeps, trigger: sync.RunTrigger, startedBy: string, reason: string): Promise<TriggerOutcome> {
  const { run, alreadyActive } = startedRun(await deps.startRun(fullRunRequest(trigger, deps.counties, startedBy)));
  return { action: alreadyActive ? 'joined' : 'started', trigger, runId: run?.id ?? '', reason };
}

/** First deployment: an empty catalog gets a FULL run (trigger FIRST_DEPLOY). */
export async function firstDeployCheck(deps: TriggerDeps): Promise<TriggerOutcome> {
  const stats = await deps.catalog.stats({}, { timeoutMs: deps.timeoutMs ?? 30_000 });
  if (stats.products > 0n) return { action: 'none', reason: `the catalog holds ${stats.products} products` };
  const log = deps.logger;
  log.info('the catalog is empty (first deployment); starting a FULL sync');
  const out = await startFull(deps, sync.RunTrigger.FIRST_DEPLOY, 'scheduler:first-deploy', 'the catalog is empty');
  log.info({ run_id: out.action === 'none' ? undefined : out.runId, joined: out.action === 'joined' }, 'FULL sync for the first deployment requested');
  return out;
}

/** A summary of CheckIntegrity's findings fit for a log line (codes are not secrets, but keep it short). */
export function findingsSummary(findings: catalog.IntegrityFinding[]): string {
  return findings.map((f) => `${f.check}: ${f.count} (e.g. ${f.sampleCodes.slice(0, 3).join(', ') || 'no sample'})`).join('; ');
}

/**
 * Runs the catalog's integrity check; when it fails, a FULL run (trigger INTEGRITY), unless
 * `allowRun()` says one was already triggered recently (the cool-down that stops a catalog whose
 * upstream data itself breaks a rule from being fully re-synced every hour).
 */
export async function integrityCheck(deps: TriggerDeps, allowRun: () => Promise<boolean> = async () => true): Promise<TriggerOutcome> {
  const res = await deps.catalog.checkIntegrity({ sampleLimit: 5 }, { timeoutMs: deps.timeoutMs ?? 30_000 });
  if (res.ok) return { action: 'none', reason: `integrity check passed (${res.productsChecked} products)` };
  const summary = redact(findingsSummary(res.findings));
  const log = deps.logger;
  if (!(await allowRun())) {
    log.warn({ findings: summary }, 'catalog integrity check failed again, but a FULL sync for integrity ran recently; not starting another (look at the findings, or run "haier-sync sync --full")');
    return { action: 'none', reason: `integrity check failed (${summary}); a FULL sync for integrity ran recently` };
  }
  // mark the flagged products so the FULL rewrites them even where Haier's data has not changed
  const marked = await deps.catalog.checkIntegrity({ sampleLimit: 5, markForRepair: true }, { timeoutMs: deps.timeoutMs ?? 30_000 });
  log.warn({ findings: summary, checked: Number(res.productsChecked), marked: Number(marked.productsMarked) }, 'catalog integrity check failed; starting a FULL sync to repair it');
  return startFull(deps, sync.RunTrigger.INTEGRITY, 'scheduler:integrity', `integrity check failed: ${summary}`);
}
