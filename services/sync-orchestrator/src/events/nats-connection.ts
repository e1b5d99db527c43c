// One NATS connection per process that never gives up: the first connect is retried with
// back-off (NATS may be down when we start), after that nats.js reconnects forever. Callers
// ask for the live connection with `ready()`; nothing here throws into the process.
import { connect, type NatsConnection } from 'nats';
import { sleep, type Logger } from '@haier-sync/runtime';
import { backoffDelay } from './backoff';

export interface NatsConnectionOptions {
  url: string;
  logger: Logger;
  /** Name the server shows for this client. */
  name?: string;
  /** Wait between reconnect attempts (ms), default 500. */
  reconnectWaitMs?: number;
}

export interface ManagedNats {
  /** The connection once it is up; undefined when closing. */
  ready(): Promise<NatsConnection | undefined>;
  /** The current connection if connected right now. */
  current(): NatsConnection | undefined;
  /** Bumped on every (re)connection, so callers can redo per-connection set-up (streams). */
  generation(): number;
  close(): Promise<void>;
}

export function createManagedNats(opts: NatsConnectionOptions): ManagedNats {
  const log = opts.logger;
  let nc: NatsConnection | undefined;
  let closing = false;
  let gen = 0;
  let waiters: Array<(c: NatsConnection | undefined) => void> = [];
  const abort = new AbortController();

  const settle = (c: NatsConnection | undefined): void => {
    const w = waiters;
    waiters = [];
    for (const r of w) r(c);
  };

  async function watchStatus(c: NatsConnection): Promise<void> {
    for await (const s of c.status()) {
      if (s.type === 'disconnect') log.warn({ server: String(s.data) }, 'NATS disconnected; events wait until it is back (runs go on)');
      else if (s.type === 'reconnect') {
        gen++;
        log.info({ server: String(s.data) }, 'NATS reconnected');
      }
    }
  }

  async function loop(): Promise<void> {
    let attempt = 0;
    while (!closing) {
      try {
        const c = await connect({
          servers: opts.url,
          name: opts.name ?? 'sync-orchestrator',
          reconnect: true,
          maxReconnectAttempts: -1,
          reconnectTimeWait: opts.reconnectWaitMs ?? 500,
          pingInterval: 10_000,
          // no Error (and its stack) made per request/publish for async stack traces: at tens of
          // thousands of publishes per run that was a tenth of this process's CPU
          noAsyncTraces: true,
        });
        if (closing) {
          await c.close();
          break;
        }
        attempt = 0;
        nc = c;
        gen++;
        log.info({ server: c.getServer() }, 'NATS connected');
        void watchStatus(c).catch(() => undefined);
        settle(c);
        const err = await c.closed();
        nc = undefined;
        if (closing) break;
        log.warn({ err: err ? String(err) : undefined }, 'NATS connection closed; connecting again');
      } catch (err) {
        attempt++;
        if (attempt === 1 || attempt % 20 === 0) {
          log.warn({ err: String(err), url: opts.url, attempt }, `NATS is not reachable at ${opts.url}; retrying with back-off (events are kept and sent when it is back)`);
        }
        await sleep(backoffDelay(attempt, 200, 5_000), abort.signal);
      }
    }
    settle(undefined);
  }
  void loop();

  return {
    ready() {
      if (closing) return Promise.resolve(undefined);
      if (nc && !nc.isClosed()) return Promise.resolve(nc);
      return new Promise((resolve) => waiters.push(resolve));
    },
    current: () => (nc && !nc.isClosed() ? nc : undefined),
    generation: () => gen,
    async close() {
      closing = true;
      abort.abort();
      const c = nc;
      nc = undefined;
      if (c && !c.isClosed()) {
        // drain waits on the server; one that does not answer gets the connection closed instead
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 5_000)));
        await Promise.race([c.drain().catch(() => undefined), late]);
        clearTimeout(timer);
        if (!c.isClosed()) await c.close().catch(() => undefined);
      }
      settle(undefined);
    },
  };
}
