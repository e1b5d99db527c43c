// Orderly exit on SIGTERM/SIGINT: hooks run one by one in reverse registration order
// (the server registered last closes first, telemetry registered first flushes last),
// each bounded by a timeout and logged, then the process exits.
import { createLogger, type Logger } from './logger';

interface Hook {
  name: string;
  fn: () => Promise<void> | void;
  timeoutMs: number;
}

export interface ShutdownOptions {
  /** Per-hook time limit (default SHUTDOWN_HOOK_TIMEOUT_MS or 10 s). */
  timeoutMs?: number;
}

const hooks: Hook[] = [];
let installed = false;
let running: Promise<boolean> | undefined;
let log: Logger | undefined;

function logger(): Logger {
  log ??= createLogger(process.env.OTEL_SERVICE_NAME ?? process.env.npm_package_name ?? 'haier-sync');
  return log;
}

/** Which logger shutdown lines go to (default: a logger named after OTEL_SERVICE_NAME). */
export function setShutdownLogger(l: Logger): void {
  log = l;
}

function defaultTimeout(): number {
  const n = Number(process.env.SHUTDOWN_HOOK_TIMEOUT_MS);
  return Number.isInteger(n) && n > 0 ? n : 10_000;
}

/**
 * A second signal this soon after the first is the same request arriving twice (Ctrl-C reaches
 * every process of the terminal's group, and a supervisor such as scripts/start.mjs forwards a
 * SIGTERM as well): the orderly shutdown goes on. One later than this exits at once.
 */
export const REPEAT_SIGNAL_GRACE_MS = 2_000;

function install(): void {
  if (installed) return;
  installed = true;
  let firstSignalAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (running) {
      if (Date.now() - firstSignalAt < REPEAT_SIGNAL_GRACE_MS) {
        logger().info({ signal }, `received ${signal} while already shutting down; still stopping in order (send it again to exit at once)`);
        return;
      }
      logger().warn({ signal }, `received ${signal} again while shutting down; exiting now`);
      process.exit(1);
    }
    firstSignalAt = Date.now();
    void runShutdown(signal).then((ok) => process.exit(ok ? 0 : 1));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Registers a hook run at SIGTERM/SIGINT (reverse registration order, each with a timeout). */
export function onShutdown(name: string, fn: () => Promise<void> | void, opts: ShutdownOptions = {}): void {
  hooks.push({ name, fn, timeoutMs: opts.timeoutMs ?? defaultTimeout() });
  install();
}

/**
 * Runs every hook once (reverse order) and resolves true when all finished in time.
 * Called by the signal handlers; exported for tests and for a process ending on its own.
 */
export function runShutdown(reason = 'shutdown'): Promise<boolean> {
  running ??= (async () => {
    const l = logger();
    l.info({ reason, hooks: hooks.length }, `shutting down (${reason})`);
    let allOk = true;
    for (const hook of [...hooks].reverse()) {
      const started = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`did not finish within ${hook.timeoutMs} ms`)), hook.timeoutMs);
        });
        await Promise.race([Promise.resolve().then(hook.fn), timeout]);
        l.info({ hook: hook.name, duration_ms: Date.now() - started }, `shutdown: ${hook.name} done`);
      } catch (err) {
        allOk = false;
        l.error({ hook: hook.name, err, duration_ms: Date.now() - started }, `shutdown: ${hook.name} failed; continuing with the next step`);
      } finally {
        clearTimeout(timer);
      }
    }
    l.info({ ok: allOk }, 'shutdown complete');
    l.flush?.();
    return allOk;
  })();
  return running;
}
