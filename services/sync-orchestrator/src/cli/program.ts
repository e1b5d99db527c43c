// The command line: commands, options and help text (commander), and the one place that turns
// every failure into a message on stderr and an exit status.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { sync } from '@haier-sync/contracts';
import { closeGrpcClients } from '@haier-sync/runtime';
import { CliFailure, DEFAULT_CATALOG_URL, DEFAULT_SYNC_URL, explainRpcError } from './client';
import { CliContext, type CliIO } from './context';
import { EXIT } from './exit-codes';
import {
  MAX_LIMIT,
  UsageError,
  parseCodes,
  parseConfigId,
  parseCounties,
  parseLevels,
  parseName,
  parseRunId,
  parseStatus,
  parseSyncType,
  parseTime,
  parseTrigger,
  parseWholeNumber,
} from './options';
import { configActivate, configList, configShow, configTest } from './commands/config';
import { runsCancel, runsList, runsLog, runsRetry, runsShow, runsWatch } from './commands/runs';
import { syncCommand } from './commands/sync';
import { eventsStatus, eventsTail, parseSince } from './commands/events';
import { schedulesList, schedulesPause, schedulesResume, schedulesRun } from './commands/schedules';

/** Commander calls parsers with (value, previous); ours throw UsageError, commander wants InvalidArgumentError. */
function parser<T>(fn: (v: string) => T): (v: string) => T {
  return (v: string) => {
    try {
      return fn(v);
    } catch (e) {
      if (e instanceof UsageError) throw new InvalidArgumentError(e.message);
      throw e;
    }
  };
}

function argument<T>(fn: (v: string) => T): (v: string) => T {
  return parser(fn);
}

const EXIT_HELP = `
Exit status:
  0   the run ended SUCCESS (other commands: done)
  1   the run ended FAILED, or the service refused the request (e.g. no such run)
  2   the run ended PARTIAL: some products failed (listed), the rest were synced
  3   the run was CANCELLED
  64  bad command line (nothing was started)
  69  the sync-orchestrator could not be reached (SYNC_URL)
  70  unexpected error
  130 interrupted while following a run (the run goes on in the service)

Environment:
  SYNC_URL     the sync-orchestrator (default ${DEFAULT_SYNC_URL})
  CATALOG_URL  the catalog, read by --verbose for the per-product lines (default ${DEFAULT_CATALOG_URL})
  NATS_URL     NATS, read by \`events tail\` (default nats://127.0.0.1:4222)`;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('haier-sync')
    .description("Operate the Haier catalog sync: start and follow sync runs, read the run log, manage Haier configs.\n(`haier-sync keys …` manages the REST API keys; it is served by http-edge.)")
    .exitOverride()
    .configureOutput({ writeOut: (s) => void ctx.io.out.write(s), writeErr: (s) => void ctx.io.err.write(s) })
    .showHelpAfterError('(add --help for the options)')
    .allowExcessArguments(false)
    .addHelpText('after', EXIT_HELP);

  program
    .command('sync')
    .description('Start a sync run and follow it to the end (a progress bar on a terminal), then print the summary.\nWithout a scope it is a FULL run (products + prices of every procurable product, then delisting).')
    .addOption(new Option('--full', 'a full run: every procurable product, prices included, delisting what Haier no longer lists').conflicts('incremental'))
    .addOption(new Option('--incremental', 'an incremental run: prices (and stock with --stock) of the products in scope').conflicts('full'))
    .option('--codes <codes>', 'only these product codes (comma separated)', parser(parseCodes))
    .option('--category <name>', 'only products of this category', parser((v) => parseName('--category', v)))
    .option('--brand <name>', 'only products of this brand', parser((v) => parseName('--brand', v)))
    .option('--prices', 'also sync prices (always part of a full run)')
    .option('--stock', 'also sync stock (for --county, else the configured counties)')
    .option('--county <codes>', '6-digit county codes for --stock (comma separated), e.g. 110101,310104', parser(parseCounties))
    .option('--limit <n>', 'at most this many products', parser((v) => parseWholeNumber('--limit', v, 1, MAX_LIMIT)))
    .option('--images', 'also mirror the products\' images (main + pages; the default of a full run)')
    .option('--no-images', 'do not mirror images (e.g. a full run that only refreshes data)')
    .option('--recheck-images', 'revalidate every image, also those checked within SYNC_IMAGE_RECHECK_AFTER (implies --images)')
    .option('--dry-run', 'do everything but write: print the changes a real run would apply')
    .option('--json', 'print only the final run as JSON (proto3 JSON mapping) on stdout')
    .option('--verbose', 'print a ✓/✗ line per product as the run goes (✓ changed products, ✗ failures with reasons)')
    .addHelpText(
      'after',
      `
Examples:
  haier-sync sync                                  full sync of the whole catalog
  haier-sync sync --codes CE0X2Y2IS,MW1DMBJGR --prices --verbose
  haier-sync sync --incremental --category 冰箱 --stock --county 110101
  haier-sync sync --full --dry-run --json > plan.json
${EXIT_HELP}`,
    )
    .action(async (o: Record<string, unknown>) => {
      await syncCommand(ctx, { ...o, verbose: o['verbose'] === true && o['json'] !== true } as Parameters<typeof syncCommand>[1]);
    });

  const runs = program.command('runs').description('The run log: list, show, watch, cancel and retry runs, and read one run\'s own log.');
  runs
    .command('list')
    .description('List runs, newest first.')
    .option('--type <type>', 'PRODUCTS, PRICES, STOCK, ORDER, LOGISTICS or MANUAL', parser(parseSyncType))
    .option('--status <status>', 'PENDING, PROCESSING, SUCCESS, FAILED, PARTIAL or CANCELLED', parser(parseStatus))
    .option('--trigger <trigger>', 'FIRST_DEPLOY, CONFIG_CHANGE, INTEGRITY, SCHEDULE, PRICE_CHANGE, LOW_STOCK or MANUAL', parser(parseTrigger))
    .option('--since <time>', 'started at or after (2026-11-25, 2026-11-25T10:00:00Z, or an age: 30m, 12h, 7d)', parser((v) => parseTime('--since', v)))
    .option('--until <time>', 'started before', parser((v) => parseTime('--until', v)))
    .option('--limit <n>', 'runs per page, 1 to 200 (default 20)', parser((v) => parseWholeNumber('--limit', v, 1, 200)))
    .option('--cursor <cursor>', 'the next page (printed under the list)')
    .option('--operations', 'also list recorded live lookups (left out by default; /api/haier/logs/ shows them too)')
    .option('--json', 'print the page as JSON')
    .action(async (o) => runsList(ctx, o));
  runs
    .command('show')
    .description('Show one run: counts, timings, every failed product with its reason.')
    .argument('<id>', 'run id', argument(parseRunId))
    .option('--json', 'print the run as JSON')
    .action(async (id: string, o) => runsShow(ctx, id, o));
  runs
    .command('watch')
    .description('Follow a running run to its end (exit status as for `sync`).')
    .argument('<id>', 'run id', argument(parseRunId))
    .option('--json', 'print only the final run as JSON')
    .option('--verbose', 'a ✓/✗ line per product from now on')
    .action(async (id: string, o: { json?: boolean; verbose?: boolean }) => runsWatch(ctx, id, { json: o.json, verbose: o.verbose === true && o.json !== true }));
  runs
    .command('cancel')
    .description('Cancel a run: it stops claiming batches; what is done stays done; it ends CANCELLED.')
    .argument('<id>', 'run id', argument(parseRunId))
    .option('--json', 'print the run as JSON')
    .action(async (id: string, o) => runsCancel(ctx, id, o));

  runs
    .command('retry')
    .description('Retry the products that failed in an ended run: a MANUAL run over exactly those codes, linked to it (retry_of),\nfollowed to its end like `sync` (same exit status).')
    .argument('<id>', 'run id of the ended run', argument(parseRunId))
    .option('--json', 'print only the final run as JSON')
    .option('--verbose', 'a ✓/✗ line per product')
    .action(async (id: string, o: { json?: boolean; verbose?: boolean }) => runsRetry(ctx, id, { json: o.json, verbose: o.verbose === true && o.json !== true }));

  runs
    .command('log')
    .description(
      "A run's own log: INFO (start: who, when, parameters), SUCCESS per product, WARNING per failed product (code, reason,\nendpoint, attempt), ERROR per failed batch or run, DEBUG; oldest first, then the counts per level (at most\nSYNC_RUN_LOG_CAP lines are kept per level; the count of the others is exact).",
    )
    .argument('<id>', 'run id', argument(parseRunId))
    .option('--follow', 'stream new lines while the run goes, until it ends')
    .option('--level <levels>', 'only these levels: INFO, SUCCESS, WARNING, ERROR, DEBUG (comma separated)', parser(parseLevels))
    .option('--code <code>', 'only lines about this product code', parser((v) => parseCodes(v)[0]!))
    .option('--json', 'one JSON object per line (proto3 JSON), the counts last')
    .action(async (id: string, o: { follow?: boolean; level?: sync.LogLevel[]; code?: string; json?: boolean }) => runsLog(ctx, id, o));

  const config = program.command('config').description('Named Haier configs (one active; secrets are environment variable names, never values).');
  config.command('list').description('List the configs; * marks the active one.').option('--json', 'print as JSON').action(async (o) => configList(ctx, o));
  const onOneConfig = [
    ['show', 'Show one config and its settings.', configShow],
    ['activate', 'Make a config the active one (a change of active config starts a FULL run).', configActivate],
    ['test', 'Does this config authenticate against Haier? (exit 0 yes, 1 no)', configTest],
  ] as const;
  for (const [name, description, action] of onOneConfig) {
    config
      .command(name)
      .description(description)
      .argument('<id>', 'config id', argument(parseConfigId))
      .option('--json', 'print as JSON')
      .action(async (id: bigint, o) => action(ctx, id, o));
  }

  const schedules = program
    .command('schedules')
    .description('The scheduled jobs (full, prices, low_stock, integrity, image_orphans): cron or freshness target, next fire, last run; pause, resume, run now.\nChanges are kept in the database: every replica obeys them, and they survive restarts.');
  schedules
    .command('list')
    .description('Each job: kind, cron (UTC) or max age, next fire, last run and its status, paused (by whom, when).')
    .option('--json', 'print as JSON (with each job\'s recent changes)')
    .action(async (o: { json?: boolean }) => schedulesList(ctx, o));
  const onOneJob = [
    ['pause', 'Pause a job: no replica fires it until it is resumed (run-now still works).', schedulesPause],
    ['resume', 'Resume a paused job: it fires again at its next tick.', schedulesResume],
    ['run', 'Fire a job now (once, whichever replica answers); prints the run it started, or its run still active.', schedulesRun],
  ] as const;
  for (const [name, description, action] of onOneJob) {
    schedules
      .command(name)
      .description(description)
      .argument('<name>', 'the job: full, prices, low_stock, integrity or image_orphans (haier-sync schedules list)', argument((v) => parseName('NAME', v)))
      .option('--json', 'print as JSON')
      .action(async (job: string, o: { json?: boolean }) => action(ctx, job, o));
  }

  const events = program.command('events').description('The event streams on NATS: follow them, and see how far the publisher and the consumers are.');
  events
    .command('tail')
    .description('Print events as they are published, one decoded line each (new ones only, unless --since).\nReads NATS directly (NATS_URL, NATS_SUBJECT_PREFIX) with an ephemeral consumer: nothing is acknowledged.')
    .option('--subject <subject>', 'only this subject (wildcards * and > allowed), e.g. catalog.product.price_changed or sync.run.*')
    .option('--since <seq|time>', 'start at this stream sequence (with --subject), or at a time (2026-11-25T10:00:00Z, or an age: 30m, 12h)', parser((v) => parseSince(v, parseTime)))
    .option('--max <n>', 'stop after this many events', parser((v) => parseWholeNumber('--max', v, 1, 1_000_000)))
    .option('--json', 'one JSON object per line: stream, streamSeq, subject, msgId, time, and the payload in proto3 JSON')
    .addHelpText(
      'after',
      `
Examples:
  haier-sync events tail                                        everything from now on
  haier-sync events tail --subject catalog.product.price_changed --since 1h
  haier-sync events tail --subject 'sync.run.>' --since 1 --max 20 --json

Environment:
  NATS_URL             the NATS server (default nats://127.0.0.1:4222)
  NATS_SUBJECT_PREFIX  the deployment's subject prefix (default none)`,
    )
    .action(async (o: { subject?: string; since?: ReturnType<typeof parseSince>; max?: number; json?: boolean }) => eventsTail(ctx, o));
  events
    .command('status')
    .description("The publisher's position in the catalog change log and the run outbox (head, published, lag), and each stream with its consumers (pending, awaiting ack).\nExit 1 when NATS or the change log could not be read.")
    .option('--json', 'print as JSON')
    .action(async (o: { json?: boolean }) => eventsStatus(ctx, o));

  return program;
}

/** Runs the CLI on `argv` (without node and the script); answers the exit status. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const ctx = new CliContext(io);
  const program = buildProgram(ctx);
  try {
    if (!argv.length) {
      program.outputHelp({ error: true });
      return EXIT.USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version') return EXIT.OK;
      // commander has already printed the message (and the hint to --help)
      return e.code === 'commander.executeSubCommandAsync' ? EXIT.SOFTWARE : EXIT.USAGE;
    }
    let url = '(SYNC_URL)';
    try {
      url = ctx.syncUrl;
    } catch {
      /* the bad URL is itself the error */
    }
    const f = e instanceof CliFailure ? e : explainRpcError(e, url);
    if (f.exitCode === EXIT.SOFTWARE && !(e instanceof CliFailure) && !(e as { code?: unknown })?.code) {
      io.err.write(`haier-sync: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    } else io.err.write(`${f.message}\n`);
    return f.exitCode;
  } finally {
    closeGrpcClients();
  }
}
