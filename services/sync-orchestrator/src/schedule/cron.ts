// Cron expressions from the environment (croner, UTC): validation that names the variable, and
// the scheduled instant a firing belongs to (so replicas agree on "this tick"). Pure.
import { ConfigError } from '@haier-sync/runtime';
import { Cron } from 'croner';

/** A paused croner instance for a valid `expr` (UTC), to ask its ticks; stop() it when done. */
export function cronProbe(expr: string): Cron {
  return new Cron(expr, { timezone: 'UTC', paused: true });
}

/** A paused croner instance for `expr`; throws ConfigError naming `variable` when invalid. */
export function parseCron(variable: string, expr: string): Cron {
  try {
    const c = cronProbe(expr);
    if (c.nextRun() === null) throw new Error('it never fires');
    return c;
  } catch (err) {
    throw new ConfigError(
      `Invalid configuration: ${variable}: expected a cron expression (5 fields, or 6 with seconds, e.g. "0 3 * * *" for 03:00 UTC daily, or "off" to switch the job off), got ${JSON.stringify(expr)} (${(err as Error).message.trim().replace(/\.+$/, '')}). Set it in the environment (see README, Configuration).`,
      [variable],
    );
  }
}

/**
 * The scheduled instant a firing at `now` belongs to: the latest occurrence of the cron at or
 * before `now` (looking back `lookBackMs`), else `now` cut to the second.
 */
export function scheduledTick(cron: Cron, now: Date, lookBackMs = 60_000): Date {
  let last: Date | undefined;
  let next = cron.nextRun(new Date(now.getTime() - lookBackMs));
  let guard = 0;
  while (next && next.getTime() <= now.getTime() && guard++ < 10_000) {
    last = next;
    next = cron.nextRun(next);
  }
  return last ?? new Date(Math.floor(now.getTime() / 1000) * 1000);
}
