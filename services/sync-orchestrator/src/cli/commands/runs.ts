// `haier-sync runs list|show|cancel|watch|retry|log`: the run log (the old HaierSyncLog) from the terminal.
import { toJson } from '@bufbuild/protobuf';
import { sync } from '@haier-sync/contracts';
import { EXIT } from '../exit-codes';
import { logCountsLine, logLine, runHeadline, runJson, runSummary, runsTable, statusLabel } from '../format';
import { followRunLog } from '../follow';
import { buildListRuns, type ListOptions } from '../options';
import type { CliContext } from '../context';
import { changeLogHead, followAndReport } from './sync';

export async function runsList(ctx: CliContext, o: ListOptions & { json?: boolean }): Promise<void> {
  const res = await ctx.sync().listRuns(buildListRuns(o));
  if (o.json) return ctx.printJson(toJson(sync.ListRunsResponseSchema, res, { alwaysEmitImplicit: true }));
  ctx.print(runsTable(res.runs));
  ctx.print(`(${res.runs.length} of ${res.total} matching run${res.total === 1n ? '' : 's'})`);
  if (res.nextCursor) ctx.print(`more: haier-sync runs list --cursor ${res.nextCursor}${o.limit ? ` --limit ${o.limit}` : ''}${o.operations ? ' --operations' : ''} (with the same filters)`);
}

async function getRun(ctx: CliContext, id: string): Promise<sync.Run> {
  const { run } = await ctx.sync().getRun({ id });
  if (!run) throw new Error(`the service answered GetRun(${id}) without a run`);
  return run;
}

export async function runsShow(ctx: CliContext, id: string, o: { json?: boolean }): Promise<void> {
  const run = await getRun(ctx, id);
  if (o.json) ctx.printJson(runJson(run));
  else ctx.print(runSummary(run, { maxFailures: Number.MAX_SAFE_INTEGER, maxPlanned: Number.MAX_SAFE_INTEGER }));
}

export async function runsCancel(ctx: CliContext, id: string, o: { json?: boolean }): Promise<void> {
  const { run } = await ctx.sync().cancelRun({ id, cancelledBy: ctx.whoAmI() });
  if (!run) throw new Error(`the service answered CancelRun(${id}) without a run`);
  if (o.json) return ctx.printJson(runJson(run));
  if (run.status === sync.RunStatus.CANCELLED) ctx.print(`run ${run.id} is CANCELLED; batches done before the cancel stay done`);
  else if (run.status === sync.RunStatus.PENDING || run.status === sync.RunStatus.PROCESSING)
    ctx.print(`cancel requested: run ${run.id} stops claiming batches and ends as CANCELLED once the batches in flight finish (haier-sync runs watch ${run.id})`);
  else {
    ctx.print(`run ${run.id} had already ended as ${statusLabel(run.status)}; nothing to cancel`);
    ctx.exitCode = EXIT.FAILED;
  }
}

export async function runsWatch(ctx: CliContext, id: string, o: { json?: boolean; verbose?: boolean }): Promise<void> {
  const run = await getRun(ctx, id);
  let afterSeq: bigint | undefined;
  if (o.verbose) {
    try {
      afterSeq = (await ctx.catalog().stats({}, { timeoutMs: 5000 })).headSeq;
    } catch {
      afterSeq = undefined;
    }
  }
  await followAndReport(ctx, run, { json: o.json, verbose: o.verbose, verboseAfterSeq: afterSeq });
}

/** `runs retry ID`: a MANUAL run over exactly the products that failed in run ID, followed like `sync`. */
export async function runsRetry(ctx: CliContext, id: string, o: { json?: boolean; verbose?: boolean }): Promise<void> {
  const afterSeq = o.verbose ? await changeLogHead(ctx) : undefined;
  const res = await ctx.sync().retryFailed({ id, startedBy: ctx.whoAmI() });
  const run = res.run;
  if (!run) throw new Error('the service answered RetryFailed without a run');
  if (!o.json) {
    if (res.alreadyActive) ctx.note(`The retry of run ${id} is already running; following it:\n  ${runHeadline(run)}`);
    else ctx.note(`Retrying the ${run.scope?.productCodes.length ?? 0} failed product(s) of run ${id}:\n  ${runHeadline(run)}`);
  }
  await followAndReport(ctx, run, { json: o.json, verbose: o.verbose, verboseAfterSeq: afterSeq });
}

export interface LogOptions {
  follow?: boolean;
  level?: sync.LogLevel[];
  code?: string;
  json?: boolean;
}

/**
 * `runs log ID`: the run's own log (every stored line, oldest first, then the counts per level and
 * how many lines the cap left out); `--follow` streams new lines until the run ends. `--json`: one
 * line object per output line (proto3 JSON), the counts last.
 */
export async function runsLog(ctx: CliContext, id: string, o: LogOptions): Promise<void> {
  const filter = { levels: o.level ?? [], productCode: o.code ?? '' };
  const show = (l: sync.RunLogLine) => (o.json ? ctx.print(JSON.stringify(toJson(sync.RunLogLineSchema, l))) : ctx.print(logLine(l)));
  const counts = (c: readonly sync.RunLogCount[], cap: number) =>
    o.json ? ctx.print(JSON.stringify({ counts: c.map((x) => toJson(sync.RunLogCountSchema, x, { alwaysEmitImplicit: true })), cap })) : ctx.print(logCountsLine(c, cap));
  if (o.follow) {
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once('SIGINT', onSigint);
    try {
      const last = await followRunLog({ client: ctx.sync(), runId: id, ...filter, signal: abort.signal, line: show, note: (t) => ctx.note(t) });
      if (last) counts(last.counts, last.cap);
      else ctx.note(`stopped following; run ${id} goes on (haier-sync runs log ${id} --follow follows it again)`);
    } finally {
      process.off('SIGINT', onSigint);
    }
    return;
  }
  let pageToken = '';
  let res: sync.ListRunLogResponse;
  do {
    res = await ctx.sync().listRunLog({ runId: id, ...filter, pageSize: 1000, pageToken });
    for (const l of res.lines) show(l);
    pageToken = res.nextPageToken;
  } while (pageToken !== '');
  counts(res.counts, res.cap);
}
