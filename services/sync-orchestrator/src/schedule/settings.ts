// The schedule from the environment: one cron per job (SYNC_SCHEDULE_*), each with a default,
// "off" to switch a job off. Every bad variable is named in one ConfigError. Pure.
import { ConfigError } from '@haier-sync/runtime';
import { parseCron } from './cron';
import { DEFAULT_CRONS, JOB_NAMES, JOB_VARIABLES, type JobName } from './jobs';

/** A job's cron expression, or null when switched off. */
export type Schedule = Record<JobName, string | null>;

const OFF = new Set(['off', 'disabled', 'none', 'false']);

/**
 * Reads SYNC_SCHEDULE_FULL, _PRICES, _LOW_STOCK and _INTEGRITY (unset or empty: the default).
 * Throws ConfigError naming every variable that is not a valid cron expression.
 */
export function loadSchedule(source: Record<string, string | undefined> = process.env): Schedule {
  const out = {} as Schedule;
  const problems: ConfigError[] = [];
  for (const job of JOB_NAMES) {
    const variable = JOB_VARIABLES[job];
    const raw = source[variable]?.trim();
    if (raw === undefined || raw === '') {
      out[job] = DEFAULT_CRONS[job];
      continue;
    }
    if (OFF.has(raw.toLowerCase())) {
      out[job] = null;
      continue;
    }
    try {
      parseCron(variable, raw).stop();
      out[job] = raw;
    } catch (err) {
      if (err instanceof ConfigError) problems.push(err);
      else throw err;
    }
  }
  if (problems.length === 1) throw problems[0]!;
  if (problems.length > 1) {
    const msg = problems.map((p) => p.message.replace(/^Invalid configuration: /, '').replace(/ Set it in the environment \(see README, Configuration\)\.$/, '').replace(/\.$/, '')).join('; ');
    throw new ConfigError(
      `Invalid configuration: ${msg}. Set them in the environment (see README, Configuration).`,
      problems.flatMap((p) => p.variables),
    );
  }
  return out;
}
