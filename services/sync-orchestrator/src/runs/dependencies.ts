// What the run engine depends on, and whether each answers now: one circuit breaker per
// dependency (cockatiel). Unavailable is not a failure of the product: a batch that meets an
// unavailable dependency goes back to the queue without spending an attempt, the engine stops
// claiming while a breaker is open (one worker probes with a real batch when the breaker lets a
// trial call through), and resumes when the dependency answers. A run fails only when an outage
// outlasts SYNC_DEPENDENCY_PATIENCE, naming the dependency and since when.
import { Code, ConnectError } from '@connectrpc/connect';
import { redact, UPSTREAM_FAULT_HEADER, type Logger } from '@haier-sync/runtime';
import { BrokenCircuitError, circuitBreaker, CircuitState, ConsecutiveBreaker, ExponentialBackoff, handleWhen, wrap, type CircuitBreakerPolicy, type IPolicy } from 'cockatiel';

export type DependencyName = 'catalog' | 'gateway' | 'haier' | 'postgres';

/** How an operator names each dependency in a message. */
export const DEPENDENCY_LABEL: Record<DependencyName, string> = {
  catalog: 'the catalog service',
  gateway: 'the haier-gateway',
  haier: 'Haier (through the gateway)',
  postgres: 'Postgres',
};

/** A call could not be made or answered because a dependency is unavailable (not the items' fault). */
export class DependencyUnavailable extends Error {
  constructor(
    readonly dependency: DependencyName,
    readonly reason: string,
  ) {
    super(`${DEPENDENCY_LABEL[dependency]} is unavailable: ${reason}`);
    this.name = 'DependencyUnavailable';
  }
}

/** gRPC codes that mean "not answering now" (the transport failed, the peer went away, or it said so). */
const UNAVAILABLE_CODES = new Set([Code.Unavailable, Code.Canceled, Code.DeadlineExceeded, Code.Aborted, Code.ResourceExhausted]);

/**
 * Which dependency an RPC failure says is unavailable, if any: for a gateway call, Haier when the
 * gateway marked the error as Haier's own (x-upstream-fault: haier), else the gateway itself.
 */
export function unavailableDependency(err: unknown, via: 'catalog' | 'gateway'): DependencyName | undefined {
  if (err instanceof DependencyUnavailable) return err.dependency;
  if (err instanceof BrokenCircuitError) return undefined; // the caller knows which breaker
  const ce = ConnectError.from(err);
  if (!UNAVAILABLE_CODES.has(ce.code)) return undefined;
  if (via === 'gateway' && ce.metadata.get(UPSTREAM_FAULT_HEADER) === 'haier') return 'haier';
  return via;
}

export interface DependencyState {
  state: 'closed' | 'open' | 'half-open';
  /** When the current outage began (its first failure); undefined while the dependency answers. */
  since?: Date;
  /** The last failure's reason, redacted. */
  lastError?: string;
}

export interface BreakerOptions {
  /** Consecutive failures that open a breaker (default 3). */
  failures?: number;
  /** First wait before a trial call, doubling up to maxProbeMs (default 500 ms, 5 s). */
  firstProbeMs?: number;
  maxProbeMs?: number;
  /** Called when a breaker closes again (the engine wakes its sleeping slots). */
  onResume?: () => void;
}

export interface Dependencies {
  /** Runs `fn` through the breakers of what it calls (a gateway call: the gateway's and Haier's); a failure meaning one is unavailable, or an open breaker, throws DependencyUnavailable. */
  call<T>(via: 'catalog' | 'gateway' | 'postgres', fn: () => Promise<T>): Promise<T>;
  /** Whether any breaker is not closed (the engine stops claiming but for one probe). */
  anyOpen(): boolean;
  /** Each dependency's state, for logs and (later) metrics. */
  states(): Record<DependencyName, DependencyState>;
  /** Dependencies unavailable for longer than `ms`, with since when (the outage's first failure). */
  outlasting(ms: number, now?: number): Array<{ name: DependencyName; since: Date; lastError?: string }>;
}

export function createDependencies(log: Logger, opts: BreakerOptions = {}): Dependencies {
  const names: DependencyName[] = ['catalog', 'gateway', 'haier', 'postgres'];
  const since = new Map<DependencyName, Date>();
  const lastError = new Map<DependencyName, string>();
  const breakers = {} as Record<DependencyName, CircuitBreakerPolicy>;
  for (const name of names) {
    const b = circuitBreaker(
      handleWhen((e) => e instanceof DependencyUnavailable && e.dependency === name),
      {
        halfOpenAfter: new ExponentialBackoff({ initialDelay: opts.firstProbeMs ?? 500, maxDelay: opts.maxProbeMs ?? 5_000 }),
        breaker: new ConsecutiveBreaker(opts.failures ?? 3),
      },
    );
    b.onBreak(() =>
      log.warn(
        { dependency: name, breaker: 'open', since: since.get(name)?.toISOString(), err: lastError.get(name) },
        `${DEPENDENCY_LABEL[name]} is unavailable: batches stop being claimed and wait (no attempt is spent); they resume when it answers`,
      ),
    );
    b.onHalfOpen(() => log.info({ dependency: name, breaker: 'half-open' }, `trying ${DEPENDENCY_LABEL[name]} again with one batch`));
    b.onReset(() => {
      const from = since.get(name);
      since.delete(name);
      log.info({ dependency: name, breaker: 'closed', down_ms: from ? Date.now() - from.getTime() : undefined }, `${DEPENDENCY_LABEL[name]} answers again; batches resume`);
      opts.onResume?.();
    });
    breakers[name] = b;
  }

  const failed = (name: DependencyName, reason: string): DependencyUnavailable => {
    if (!since.has(name)) since.set(name, new Date());
    lastError.set(name, reason);
    return new DependencyUnavailable(name, reason);
  };

  // a gateway call passes both the gateway's and Haier's breakers: either may be the one away
  const policies: Record<'catalog' | 'gateway' | 'postgres', IPolicy> = {
    catalog: breakers.catalog,
    gateway: wrap(breakers.gateway, breakers.haier),
    postgres: breakers.postgres,
  };
  const breakerOf = (via: 'catalog' | 'gateway' | 'postgres'): DependencyName[] => (via === 'gateway' ? ['gateway', 'haier'] : [via]);

  return {
    async call(via, fn) {
      try {
        const out = await policies[via].execute(async () => {
          try {
            return await fn();
          } catch (err) {
            const dep = via === 'postgres' ? 'postgres' : unavailableDependency(err, via);
            if (dep) throw failed(dep, redact(ConnectError.from(err).message));
            throw err;
          }
        });
        for (const n of breakerOf(via)) if (breakers[n].state === CircuitState.Closed) since.delete(n);
        return out;
      } catch (err) {
        if (err instanceof BrokenCircuitError) {
          const open = breakerOf(via).find((n) => breakers[n].state !== CircuitState.Closed) ?? breakerOf(via)[0]!;
          throw new DependencyUnavailable(open, lastError.get(open) ?? 'its circuit breaker is open');
        }
        throw err;
      }
    },
    anyOpen: () => names.some((n) => breakers[n].state !== CircuitState.Closed),
    states() {
      const out = {} as Record<DependencyName, DependencyState>;
      for (const n of names) {
        const st = breakers[n].state;
        out[n] = { state: st === CircuitState.Closed ? 'closed' : st === CircuitState.HalfOpen ? 'half-open' : 'open', since: since.get(n), lastError: lastError.get(n) };
      }
      return out;
    },
    outlasting(ms, now = Date.now()) {
      return names.flatMap((name) => {
        const s = since.get(name);
        return s && now - s.getTime() > ms ? [{ name, since: s, lastError: lastError.get(name) }] : [];
      });
    },
  };
}
