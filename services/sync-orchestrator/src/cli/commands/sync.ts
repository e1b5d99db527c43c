// `haier-sync sync …`: start a run (or join the active one of the same kind), follow it with a
// progress bar, print the summary; the exit status tells how it ended.
import { exitForStatus, EXIT } from '../exit-codes';
import { followRun } from '../follow';
import { runHeadline, runJson, runSummary } from '../format';
import { buildStartRun, type SyncOptions } from '../options';
import { createProgress, progressMode } from '../progress';
import type { CliContext } from '../context';
import type { sync } from '@haier-sync/contracts';

export interface SyncCommandOptions extends SyncOptions {
  json?: boolean;
  verbose?: boolean;
}

/** Follows a run to its end and reports it; shared by `sync` and `runs watch`. */
export async function followAndReport(ctx: CliContext, run: sync.Run, o: { json?: boolean; verbose?: boolean; verboseAfterSeq?: bigint | undefined }): Promise<void> {
  const view = createProgress(progressMode({ json: o.json ?? false, stderrIsTTY: ctx.io.err.isTTY === true }), { out: ctx.io.out, err: ctx.io.err });
  const abort = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.INTERRUPTED);
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  let final: sync.Run | undefined;
  try {
    final = await followRun({
      client: ctx.sync(),
      run,
      view,
      signal: abort.signal,
      verbose: o.verbose ?? false,
      changes: o.verbose && o.verboseAfterSeq !== undefined ? { catalog: ctx.catalog(), afterSeq: o.verboseAfterSeq } : undefined,
    });
  } catch (e) {
    if (!abort.signal.aborted) {
      view.stop();
      throw e;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  view.stop();
  if (abort.signal.aborted || !final) {
    ctx.note(
      `\nStopped following run ${run.id}; the run goes on in the service.\n` +
        `  follow it again: haier-sync runs watch ${run.id}\n  cancel it:       haier-sync runs cancel ${run.id}`,
    );
    ctx.exitCode = EXIT.INTERRUPTED;
    return;
  }
  if (o.json) ctx.printJson(runJson(final));
  else ctx.print(runSummary(final, { maxPlanned: o.verbose ? Number.MAX_SAFE_INTEGER : 20, maxFailures: o.verbose ? Number.MAX_SAFE_INTEGER : 50 }));
  ctx.exitCode = exitForStatus(final.status) ?? EXIT.SOFTWARE;
}

/** Where the catalog's change log is now, so --verbose lists only this run's changes. */
export async function changeLogHead(ctx: CliContext): Promise<bigint | undefined> {
  try {
    return (await ctx.catalog().stats({}, { timeoutMs: 5000 })).headSeq;
  } catch (e) {
    ctx.note(`(--verbose: cannot reach the catalog at ${ctx.catalogUrl} (${e instanceof Error ? e.message : String(e)}); set CATALOG_URL to list changed products; failures are still listed)`);
    return undefined;
  }
}

export async function syncCommand(ctx: CliContext, o: SyncCommandOptions): Promise<void> {
  const req = buildStartRun(o, ctx.whoAmI());
  const afterSeq = o.verbose ? await changeLogHead(ctx) : undefined;
  const res = await ctx.sync().startRun(req);
  const run = res.run;
  if (!run) throw new Error('the service answered StartRun without a run');
  if (!o.json) {
    if (res.alreadyActive) ctx.note(`A run of this kind is already active; following it instead of starting another:\n  ${runHeadline(run)}`);
    else ctx.note(`Started ${runHeadline(run)}`);
  }
  await followAndReport(ctx, run, { json: o.json, verbose: o.verbose, verboseAfterSeq: afterSeq });
}
