// grpc.health.v1.Health for a Connect server. Readiness: the empty name (the whole server)
// and every registered service name are SERVING only when the service's readiness check
// answers true. Liveness: the name "liveness" is SERVING while the process runs and serves
// (no dependency is asked), so a Postgres blip or a Haier outage makes a pod unready, not
// restarted. Any other name is NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch), as the gRPC
// health checking protocol says.
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from '@connectrpc/connect';
import { health } from '@haier-sync/contracts';
import type { Logger } from './logger';
import { sleep } from './sleep';

/** The health service name that answers SERVING while the process runs (for liveness probes). */
export const LIVENESS_SERVICE = 'liveness';

const { HealthCheckResponse_ServingStatus: Status } = health;
type Status = health.HealthCheckResponse_ServingStatus;

export interface HealthOptions {
  /** Names answered besides "" (the registered service type names, e.g. haiersync.catalog.v1.CatalogService). */
  services: () => Iterable<string>;
  readiness?: () => Promise<boolean> | boolean;
  /** Aborted when the server starts closing: status becomes NOT_SERVING and Watch streams end. */
  closing: AbortSignal;
  logger: Logger;
  /** How often Watch re-checks readiness (ms, default 1000). */
  watchIntervalMs?: number;
}

export function registerHealth(router: ConnectRouter, opts: HealthOptions): void {
  const interval = opts.watchIntervalMs ?? 1000;

  const known = (name: string) => name === '' || name === LIVENESS_SERVICE || [...opts.services()].includes(name);

  async function status(name: string): Promise<Status> {
    if (name === LIVENESS_SERVICE) return Status.SERVING;
    if (opts.closing.aborted) return Status.NOT_SERVING;
    if (!opts.readiness) return Status.SERVING;
    try {
      return (await opts.readiness()) ? Status.SERVING : Status.NOT_SERVING;
    } catch (e) {
      opts.logger.warn({ err: e }, 'readiness check failed; reporting NOT_SERVING');
      return Status.NOT_SERVING;
    }
  }

  router.service(health.Health, {
    async check(req) {
      if (!known(req.service)) {
        throw new ConnectError(
          `unknown service "${req.service}"; ask for "" (readiness of the whole server), "${LIVENESS_SERVICE}" (the process runs) or a service this server hosts`,
          Code.NotFound,
        );
      }
      return { status: await status(req.service) };
    },
    async *watch(req, ctx: HandlerContext) {
      const signals = [ctx.signal, opts.closing];
      let last: Status | undefined;
      for (;;) {
        const now = known(req.service) ? await status(req.service) : Status.SERVICE_UNKNOWN;
        if (now !== last) {
          yield { status: now };
          last = now;
        }
        if (ctx.signal.aborted || opts.closing.aborted) return;
        await sleep(interval, ...signals);
        if (ctx.signal.aborted) return;
        // when closing: one more pass reports NOT_SERVING, then the stream ends
      }
    },
  });
}
