// One publisher at a time per database: the relays share one cursor row each, so a second
// replica relaying at once would resend what the first already sent (harmless inside the dedupe
// window, duplicated beyond it). The leader holds a session-level Postgres advisory lock on a
// connection of its own; when that connection dies (process killed, network cut) Postgres
// releases the lock and another replica takes over from the stored cursor.
import { Client } from 'pg';
import { sleep, type Logger } from '@haier-sync/runtime';
import { backoffDelay } from './backoff';

/** The advisory lock key (any fixed bigint; this one spells "hsPUBLSH"). */
export const PUBLISHER_LOCK_KEY = '7526447729380971336';
const PUBLISHER_ROLE = { name: 'publisher', does: 'publishes the events' };

export interface Leadership {
  /** Resolves when the lock is lost (connection error or failed keep-alive). */
  lost: Promise<void>;
  release(): Promise<void>;
}

export interface LeadershipOptions {
  databaseUrl: string;
  logger: Logger;
  /** The advisory lock (default PUBLISHER_LOCK_KEY) and what holding it does, for log lines (default "publishes the events"). */
  lockKey?: string;
  role?: { name: string; does: string };
  /** How often a follower tries to take the lock, and the leader checks its connection (default 1000 ms). */
  pollMs?: number;
}

/**
 * The signal of one term as leader: it aborts when `stop` aborts (also when it already has, e.g.
 * stop() came while the lock was being taken) or when the lock is lost.
 */
export function leadershipTerm(stop: AbortSignal, lost: Promise<void>): { signal: AbortSignal; dispose(): void } {
  const term = new AbortController();
  const end = (): void => term.abort();
  if (stop.aborted) end();
  else stop.addEventListener('abort', end, { once: true });
  void lost.then(end);
  return { signal: term.signal, dispose: () => stop.removeEventListener('abort', end) };
}

/** Waits until this process holds the publisher lock; undefined when `signal` aborts first. */
export async function acquireLeadership(opts: LeadershipOptions, signal: AbortSignal): Promise<Leadership | undefined> {
  const pollMs = opts.pollMs ?? 1_000;
  const key = opts.lockKey ?? PUBLISHER_LOCK_KEY;
  const role = opts.role ?? PUBLISHER_ROLE;
  let attempt = 0;
  let waitingLogged = false;
  while (!signal.aborted) {
    // bounded: a Postgres that does not answer must not hold up stop() or hide a lost lock
    const client = new Client({
      connectionString: opts.databaseUrl,
      application_name: `sync-orchestrator-${role.name}`,
      connectionTimeoutMillis: 10_000,
      query_timeout: 10_000,
      keepAlive: true,
    });
    let dead = false;
    client.on('error', () => (dead = true));
    try {
      await client.connect();
      attempt = 0;
      while (!signal.aborted && !dead) {
        const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [key]);
        if (r.rows[0]?.ok) return hold(client, opts, pollMs, key, role);
        if (!waitingLogged) {
          opts.logger.info(`another orchestrator ${role.does}; this one stands by and takes over if it stops`);
          waitingLogged = true;
        }
        await sleep(pollMs, signal);
      }
    } catch (err) {
      attempt++;
      if (attempt === 1 || attempt % 20 === 0) {
        opts.logger.warn({ err: String((err as Error)?.message ?? err), attempt }, `${role.name} cannot reach Postgres to take its lock; retrying`);
      }
      await sleep(backoffDelay(attempt, 200, 5_000), signal);
    }
    await client.end().catch(() => undefined);
  }
  return undefined;
}

function hold(client: Client, opts: LeadershipOptions, pollMs: number, key: string, role: { name: string; does: string }): Leadership {
  let released = false;
  let resolveLost!: () => void;
  const lost = new Promise<void>((r) => (resolveLost = r));
  const lose = (why: string): void => {
    if (released) return;
    released = true;
    clearInterval(timer);
    opts.logger.warn({ why }, `${role.name} lost its Postgres lock; stopping (another replica or this one takes over)`);
    resolveLost();
    void client.end().catch(() => undefined);
  };
  client.on('error', (err) => lose(String(err?.message ?? err)));
  client.on('end', () => lose('connection ended'));
  // a connection cut without an error would leave us believing we lead: check it
  const timer = setInterval(() => {
    client.query('select 1').catch((err: unknown) => lose(String((err as Error)?.message ?? err)));
  }, Math.max(pollMs, 1_000) * 5);
  timer.unref();
  opts.logger.info(`this orchestrator ${role.does} (${role.name} lock taken)`);
  return {
    lost,
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      resolveLost();
      await client.query('select pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
      await client.end().catch(() => undefined);
    },
  };
}
