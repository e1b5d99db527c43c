// How runs and configs are shown: the summary after a run, one-line progress, tables, JSON.
// Pure functions of the protobuf messages.
import { toJson } from '@bufbuild/protobuf';
import { timestampDate, type Duration, type Timestamp } from '@bufbuild/protobuf/wkt';
import { sync } from '@haier-sync/contracts';
import { enumName } from '@haier-sync/runtime';

/** An enum value's name for a person (the runtime's enumName), UNSPECIFIED for 0 and UNKNOWN(n) for a value this build lacks. */
function enumLabel(e: Record<string, string | number>, value: number): string {
  return enumName(e, value) ?? (value === 0 ? 'UNSPECIFIED' : `UNKNOWN(${value})`);
}

export const statusLabel = (s: sync.RunStatus) => enumLabel(sync.RunStatus, s);
export const typeLabel = (t: sync.SyncType) => enumLabel(sync.SyncType, t);
export const modeLabel = (m: sync.RunMode) => enumLabel(sync.RunMode, m);
export const triggerLabel = (t: sync.RunTrigger) => enumLabel(sync.RunTrigger, t);

export function durationMs(d: Duration | undefined): number {
  if (!d) return 0;
  return Number(d.seconds) * 1000 + Math.round(d.nanos / 1e6);
}

/** 850 ms, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

export function isoTime(t: Timestamp | undefined): string {
  return t ? timestampDate(t).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

/** The run as proto3 JSON (the contract's JSON mapping: camelCase fields, enum names, 64-bit numbers as strings). */
export function runJson(run: sync.Run): unknown {
  return toJson(sync.RunSchema, run, { alwaysEmitImplicit: true });
}

export function configJson(c: sync.HaierConfig): unknown {
  return toJson(sync.HaierConfigSchema, c, { alwaysEmitImplicit: true });
}

function scopeText(run: sync.Run): string {
  const s = run.scope;
  const parts: string[] = [];
  if (s?.productCodes.length) parts.push(s.productCodes.length <= 5 ? `codes ${s.productCodes.join(',')}` : `${s.productCodes.length} codes`);
  if (s?.category) parts.push(`category "${s.category}"`);
  if (s?.brand) parts.push(`brand "${s.brand}"`);
  if (s?.limit) parts.push(`limit ${s.limit}`);
  if (!parts.length) parts.push('whole catalog');
  const o = run.options;
  if (o?.prices) parts.push('prices');
  if (o?.stock) parts.push(`stock${o.countyCodes.length ? ` (${o.countyCodes.join(',')})` : ''}`);
  if (o?.images) parts.push(o.recheckImages ? 'images (all rechecked)' : 'images');
  if (o?.dryRun) parts.push('DRY RUN');
  return parts.join(', ');
}

/** `run 42 FULL PRODUCTS (MANUAL by cli:ana) — whole catalog, prices`. */
export function runHeadline(run: sync.Run): string {
  return `run ${run.id} ${modeLabel(run.mode)} ${typeLabel(run.syncType)} (${triggerLabel(run.trigger)} by ${run.startedBy || 'unknown'}): ${scopeText(run)}${run.retryOf ? ` (retry of run ${run.retryOf})` : ''}`;
}

/** One line of progress for logs and pipes (no TTY). */
export function progressLine(run: sync.Run, elapsedMs: number): string {
  const c = run.counts;
  const bt = Number(c?.batchesTotal ?? 0n);
  const bd = Number(c?.batchesDone ?? 0n);
  const pct = bt > 0 ? ` ${Math.floor((bd / bt) * 100)}%` : '';
  return (
    `[${humanDuration(elapsedMs)}] ${statusLabel(run.status)}${pct} batches ${bd}/${bt || '?'}` +
    ` | products ${c?.total ?? 0n}: ${c?.created ?? 0n} created, ${c?.updated ?? 0n} updated, ${c?.unchanged ?? 0n} unchanged, ${c?.failed ?? 0n} failed` +
    ` | Haier calls ${c?.upstreamCalls ?? 0n}`
  );
}

/** What each final status means for the operator. */
function verdict(run: sync.Run): string {
  switch (run.status) {
    case sync.RunStatus.SUCCESS:
      return run.options?.dryRun ? 'SUCCESS (dry run: nothing was written)' : 'SUCCESS';
    case sync.RunStatus.PARTIAL:
      return 'PARTIAL: some products failed (listed below); the rest were synced. A rerun retries them.';
    case sync.RunStatus.FAILED:
      return 'FAILED: nothing more was synced; see the message and the reasons below.';
    case sync.RunStatus.CANCELLED:
      return 'CANCELLED: batches done before the cancel stay done.';
    default:
      return `${statusLabel(run.status)} (still going: \`haier-sync runs watch ${run.id}\`)`;
  }
}

/** The summary printed when a run ends (and by `runs show`). */
export function runSummary(run: sync.Run, opts: { maxFailures?: number; maxPlanned?: number } = {}): string {
  const c = run.counts;
  const dry = run.options?.dryRun ?? false;
  const rows: [string, string][] = [
    ['status', verdict(run)],
    ['total', String(c?.total ?? 0n)],
    [dry ? 'would create' : 'created', String(c?.created ?? 0n)],
    [dry ? 'would update' : 'updated', String(c?.updated ?? 0n)],
    ['unchanged', String(c?.unchanged ?? 0n)],
    [dry ? 'would delist' : 'delisted', String(c?.delisted ?? 0n)],
    ['failed', String(c?.failed ?? 0n)],
    ['duration', humanDuration(durationMs(run.duration))],
    ['Haier calls', String(c?.upstreamCalls ?? 0n)],
    ['started', isoTime(run.startedAt ?? run.createdAt)],
    ['completed', isoTime(run.completedAt)],
  ];
  if (run.message) rows.push(['message', run.message]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = [runHeadline(run), ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)];

  const maxF = opts.maxFailures ?? 50;
  if (run.failedItems.length) {
    lines.push(`Failed products (${c?.failed ?? run.failedItems.length}):`);
    for (const f of run.failedItems.slice(0, maxF)) lines.push(`  ✗ ${f.productCode}  ${f.reason}`);
    const more = Math.max(Number(c?.failed ?? 0n), run.failedItems.length) - Math.min(maxF, run.failedItems.length);
    if (more > 0) lines.push(`  … and ${more} more (\`haier-sync runs show ${run.id} --json\` lists them)`);
  }
  if (dry && run.plannedChanges.length) {
    const maxP = opts.maxPlanned ?? 20;
    lines.push('Changes a real run would apply:');
    for (const p of run.plannedChanges.slice(0, maxP)) lines.push(`  ${p}`);
    if (run.plannedChanges.length > maxP) lines.push(`  … and ${run.plannedChanges.length - maxP} more lines (--verbose shows all)`);
  }
  return lines.join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i] ?? 0))).join('  ');
  return [fmt(header), ...rows.map(fmt)].join('\n');
}

export function runsTable(runs: sync.Run[]): string {
  if (!runs.length) return 'no runs match';
  return table(
    ['ID', 'STATUS', 'MODE', 'TYPE', 'TRIGGER', 'STARTED', 'DURATION', 'TOTAL', 'FAILED', 'BY'],
    runs.map((r) => [
      r.id,
      statusLabel(r.status),
      modeLabel(r.mode),
      typeLabel(r.syncType),
      triggerLabel(r.trigger),
      isoTime(r.startedAt ?? r.createdAt),
      humanDuration(durationMs(r.duration)),
      String(r.counts?.total ?? 0n),
      String(r.counts?.failed ?? 0n),
      r.startedBy,
    ]),
  );
}

export function configsTable(configs: sync.HaierConfig[]): string {
  if (!configs.length) return 'no Haier configs yet (the services use their environment until one is created and activated)';
  return table(
    ['ID', 'ACTIVE', 'NAME', 'ENVIRONMENT', 'UPDATED'],
    configs.map((c) => [String(c.id), c.active ? '*' : '', c.name, c.environment, isoTime(c.updatedAt ?? c.createdAt)]),
  );
}

export function configText(c: sync.HaierConfig): string {
  const j = configJson(c) as { settings?: unknown };
  return [
    `config ${c.id} "${c.name}" (${c.environment || 'no environment'})${c.active ? ' ACTIVE' : ''}`,
    `  created  ${isoTime(c.createdAt)}`,
    `  updated  ${isoTime(c.updatedAt)}`,
    '  settings (secrets are named by environment variable, never shown):',
    ...JSON.stringify(j.settings ?? {}, null, 2).split('\n').map((l) => `    ${l}`),
  ].join('\n');
}

export const scheduleKindLabel = (k: sync.ScheduleKind) => enumLabel(sync.ScheduleKind, k);

export function scheduleJson(j: sync.ScheduleJob): unknown {
  return toJson(sync.ScheduleJobSchema, j, { alwaysEmitImplicit: true });
}

/** A job's "when": its cron (UTC), or its freshness target (and check cadence). */
export function scheduleWhen(j: sync.ScheduleJob): string {
  if (j.kind === sync.ScheduleKind.FRESHNESS) return `max age ${humanDuration(durationMs(j.maxAge))}${j.cron ? `, checks ${j.cron}` : ''}`;
  return j.enabled ? j.cron : `off (${j.variable})`;
}

export function schedulesTable(jobs: sync.ScheduleJob[]): string {
  if (!jobs.length) return 'no scheduled jobs';
  return table(
    ['JOB', 'KIND', 'WHEN (UTC)', 'NEXT', 'LAST RUN', 'LAST STATUS', 'PAUSED'],
    jobs.map((j) => [
      j.name,
      scheduleKindLabel(j.kind),
      scheduleWhen(j),
      j.paused ? 'paused' : isoTime(j.nextFireAt),
      j.lastRunId || '-',
      j.lastError ? 'ERROR' : j.lastRunId ? statusLabel(j.lastRunStatus) : '-',
      j.paused ? `by ${j.pausedBy || 'unknown'} at ${isoTime(j.pausedAt)}` : 'no',
    ]),
  );
}

/** One job after a change: its state and next fire in a line or two. */
export function scheduleText(j: sync.ScheduleJob): string {
  const lines = [`${j.name} (${scheduleKindLabel(j.kind)}, ${scheduleWhen(j)}): ${j.description}`];
  lines.push(j.paused ? `  paused by ${j.pausedBy || 'unknown'} at ${isoTime(j.pausedAt)}; it does not fire until resumed (haier-sync schedules resume ${j.name})` : `  next fire ${isoTime(j.nextFireAt)}`);
  if (j.lastRunId) lines.push(`  last run ${j.lastRunId} ${statusLabel(j.lastRunStatus)}`);
  if (j.lastError) lines.push(`  last firing failed: ${j.lastError}`);
  return lines.join('\n');
}

export const levelLabel = (l: sync.LogLevel) => enumLabel(sync.LogLevel, l);

/** One line of a run's log: time, level, product code, message, and where it came from. */
export function logLine(l: sync.RunLogLine): string {
  const where = [l.endpoint ? `endpoint ${l.endpoint}` : '', l.attempt ? `attempt ${l.attempt}` : ''].filter(Boolean).join(', ');
  // the code in front unless the message already starts with it
  const code = l.productCode && !l.message.startsWith(l.productCode) ? `${l.productCode} ` : '';
  return `${isoTime(l.at)} ${levelLabel(l.level).padEnd(7)} ${code}${l.message}${where ? ` [${where}]` : ''}`;
}

/** The counts under a run's log: per level, and how many lines past the cap were not kept. */
export function logCountsLine(counts: readonly sync.RunLogCount[], cap: number): string {
  const parts = counts.filter((c) => c.total > 0n).map((c) => `${levelLabel(c.level)} ${c.total}${c.dropped > 0n ? ` (${c.dropped} more not kept)` : ''}`);
  const dropped = counts.some((c) => c.dropped > 0n);
  return `lines: ${parts.length ? parts.join(', ') : 'none'}${dropped ? ` — at most ${cap} lines are kept per level (SYNC_RUN_LOG_CAP)` : ''}`;
}
