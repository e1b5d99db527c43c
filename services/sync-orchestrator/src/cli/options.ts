// Parsing and checking command-line values, and turning `sync` options into a StartRunRequest.
// Pure: every check says what is wrong and what a good value looks like.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { rules, sync } from '@haier-sync/contracts';

/** A bad command-line value; the message is shown to the operator as is. */
export class UsageError extends Error {}

/** `--limit`'s largest value: the rulebook's (RunScope.limit). */
export const MAX_LIMIT = rules.MAX_SCOPE_LIMIT;

/** "A, B,,A" → ["A", "B"]: comma-separated (spaces around items dropped), de-duplicated, order kept. */
function splitList(value: string): string[] {
  return [...new Set(value.split(',').map((s) => s.trim()).filter(Boolean))];
}

/** A list option checked by the rulebook, in the option's words. */
function checkedList(option: string, values: string[], rule: rules.ListRule, example: string): string[] {
  if (values.length === 0) throw new UsageError(`${option} needs at least one ${rule.items?.what.replace(/^an? /, '') ?? 'value'}, e.g. ${option} ${example}`);
  const v = rules.checkList(rule, values, option);
  if (v) throw new UsageError(`${option}: ${v.problem}`);
  return values;
}

/** `--codes A,B,C` (comma-separated): Haier product codes. */
export function parseCodes(value: string): string[] {
  return checkedList('--codes', splitList(value), rules.codeList(1), 'GA0SZC00U,BH0Z5A00J');
}

/** `--county 110101,310104`: 6-digit county codes. */
export function parseCounties(value: string): string[] {
  return checkedList('--county', splitList(value), rules.countyList, '110101');
}

/** A whole number in [min, max] for option `name`. */
export function parseWholeNumber(name: string, value: string, min: number, max: number): number {
  const v = value.trim();
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v)) || Number(v) < min || Number(v) > max)
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${value}"`);
  return Number(v);
}

/** A non-empty name (category, brand) of at most 200 characters. */
export function parseName(name: string, value: string): string {
  const v = value.trim();
  if (!v) throw new UsageError(`${name} needs a name, e.g. ${name} "Refrigerators"`);
  if (v.length > 200) throw new UsageError(`${name} is at most 200 characters`);
  return v;
}

function checkedText(rule: rules.TextRule, value: string): string {
  const problem = rules.checkText(rule, value.trim());
  if (problem) throw new UsageError(`the id ${problem}`);
  return value.trim();
}

/** A run id as the service hands them out (printed by `sync` and `runs list`). */
export function parseRunId(value: string): string {
  return checkedText(rules.runId, value);
}

/** A config id (a whole number, see `haier-sync config list`). */
export function parseConfigId(value: string): bigint {
  return BigInt(checkedText(rules.configId, value));
}

/** An ISO-8601 time (2026-11-25 or 2026-11-25T10:00:00Z) or a relative one (30m, 12h, 7d ago). */
export function parseTime(name: string, value: string, now: Date = new Date()): Date {
  const v = value.trim();
  const rel = /^(\d+)\s*([smhd])$/.exec(v);
  if (rel) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  const d = /^\d{4}-\d{2}-\d{2}/.test(v) ? new Date(v) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime())) throw new UsageError(`${name} must be a UTC time such as 2026-11-25 or 2026-11-25T10:00:00Z, or an age such as 30m, 12h, 7d; got "${value}"`);
  return d;
}

function enumParser<E extends Record<string, string | number>>(name: string, e: E): (value: string) => number {
  const names = Object.keys(e).filter((k) => Number.isNaN(Number(k)) && k !== 'UNSPECIFIED');
  return (value: string) => {
    const v = (e as Record<string, string | number>)[value.trim().toUpperCase().replace(/-/g, '_')];
    if (typeof v !== 'number' || v === 0) throw new UsageError(`${name} must be one of ${names.join(', ')} (got "${value}")`);
    return v;
  };
}

export const parseSyncType = enumParser('--type', sync.SyncType);
export const parseStatus = enumParser('--status', sync.RunStatus);
export const parseTrigger = enumParser('--trigger', sync.RunTrigger);
const parseOneLevel = enumParser('--level', sync.LogLevel);
/** `--level WARNING,ERROR`: one or more log levels. */
export function parseLevels(value: string): sync.LogLevel[] {
  return value.split(',').filter((v) => v.trim() !== '').map(parseOneLevel);
}

/** The `sync` command's options as commander hands them over (already parsed by the parsers above). */
export interface SyncOptions {
  full?: boolean;
  incremental?: boolean;
  codes?: string[];
  category?: string;
  brand?: string;
  prices?: boolean;
  stock?: boolean;
  county?: string[];
  limit?: number;
  dryRun?: boolean;
  /** --images / --no-images; absent: the service's default (on in FULL runs). */
  images?: boolean;
  /** --recheck-images: revalidate every image, also the recently checked ones. */
  recheckImages?: boolean;
}

/** Checks the combination of options and builds the request. */
export function buildStartRun(o: SyncOptions, startedBy: string): sync.StartRunRequest {
  if (o.full && o.incremental) throw new UsageError('--full and --incremental exclude each other; pick one (or neither to let the scope decide)');
  if (o.recheckImages && o.images === false) throw new UsageError('--recheck-images revalidates the run\'s images and --no-images skips them; pick one');
  if (o.county && !o.stock) throw new UsageError('--county only applies to stock: add --stock (e.g. --stock --county 110101)');
  const mode = o.full ? sync.RunMode.FULL : o.incremental ? sync.RunMode.INCREMENTAL : sync.RunMode.UNSPECIFIED;
  // The service picks the sync type from the mode and scope, as the old command did: no scope ->
  // FULL (products + prices), codes -> MANUAL, --incremental -> PRICES; --stock adds stock.
  return create(sync.StartRunRequestSchema, {
    mode,
    syncType: sync.SyncType.UNSPECIFIED,
    trigger: sync.RunTrigger.MANUAL,
    scope: { productCodes: o.codes ?? [], category: o.category ?? '', brand: o.brand ?? '', limit: o.limit ?? 0 },
    options: { prices: o.prices ?? false, stock: o.stock ?? false, countyCodes: o.county ?? [], dryRun: o.dryRun ?? false, images: o.images, recheckImages: o.recheckImages ?? false },
    startedBy,
  });
}

export interface ListOptions {
  type?: number;
  status?: number;
  trigger?: number;
  since?: Date;
  until?: Date;
  limit?: number;
  cursor?: string;
  /** also list the recorded live lookups and per-product operations (left out by default) */
  operations?: boolean;
}

export function buildListRuns(o: ListOptions): sync.ListRunsRequest {
  if (o.since && o.until && o.since > o.until) throw new UsageError('--since is later than --until: nothing can match');
  return create(sync.ListRunsRequestSchema, {
    syncType: o.type ?? 0,
    status: o.status ?? 0,
    trigger: o.trigger ?? 0,
    since: o.since ? timestampFromDate(o.since) : undefined,
    until: o.until ? timestampFromDate(o.until) : undefined,
    pageSize: o.limit ?? 20,
    cursor: o.cursor ?? '',
    includeOperations: o.operations === true,
  });
}
