// The gRPC SyncService: maps RPCs to the runs API (src/runs/api.ts) and spreads in the config
// RPCs (src/configs). No rules here; the domain errors' status codes are in syncErrors, which the
// runtime's error interceptor applies to every RPC.
import type { ConnectError, ConnectRouter, ServiceImpl } from '@connectrpc/connect';
import { create } from '@bufbuild/protobuf';
import { sync } from '@haier-sync/contracts';
import { invalidArgument } from '@haier-sync/runtime';
import { ACTOR_HEADER, type ConfigHandlers } from './configs';
import type { RunsApi } from './runs/api';
import type { ScheduleControl } from './schedule';
import { RequestError } from './runs/request';

/** The orchestrator's domain errors as status codes. */
export function syncErrors(err: unknown): ConnectError | undefined {
  if (err instanceof RequestError) return invalidArgument(err.message, err.field);
  return undefined;
}

/** The UNAVAILABLE answer when Postgres cannot be reached. */
export const DATABASE_UNREACHABLE = 'the sync database is unreachable; check DATABASE_URL and that Postgres is up, then retry';

export interface SyncServiceDeps {
  runs: RunsApi;
  configs: ConfigHandlers;
  /** ListSchedules, PauseSchedule, ResumeSchedule, RunScheduleNow (src/schedule/control.ts). */
  schedules: ScheduleControl;
  /** GetEventsStatus (src/events/status.ts). */
  eventsStatus: () => Promise<sync.GetEventsStatusResponse>;
  /** GetSettings: SYNC_COUNTIES. */
  counties: readonly string[];
  /** How often WatchRun looks at the run row (default 250 ms). */
  watchPollMs?: number;
}

function actorOf(header: Headers, fallback: string): string {
  return fallback.trim() || (header.get(ACTOR_HEADER) ?? '').trim().slice(0, 200);
}

export function syncServiceImpl(deps: SyncServiceDeps): ServiceImpl<typeof sync.SyncService> {
  const { runs } = deps;
  return {
    async startRun(req, ctx) {
      const started = await runs.startRun({ ...req, startedBy: actorOf(ctx.requestHeader, req.startedBy) });
      return create(sync.StartRunResponseSchema, { run: started.run, alreadyActive: started.alreadyActive });
    },
    async getRun(req) {
      return create(sync.GetRunResponseSchema, { run: await runs.getRun(req.id) });
    },
    async listRuns(req) {
      return runs.listRuns(req);
    },
    async cancelRun(req, ctx) {
      return create(sync.CancelRunResponseSchema, { run: await runs.cancelRun(req.id, actorOf(ctx.requestHeader, req.cancelledBy)) });
    },
    async retryFailed(req, ctx) {
      const r = await runs.retryFailed(req.id, actorOf(ctx.requestHeader, req.startedBy) || 'unknown');
      return create(sync.RetryFailedResponseSchema, { run: r.run, alreadyActive: r.alreadyActive });
    },
    async *watchRun(req, ctx) {
      for await (const run of runs.watchRun(req.id, ctx.signal, deps.watchPollMs)) {
        yield create(sync.WatchRunResponseSchema, { run });
      }
    },
    async listRunLog(req) {
      return runs.listRunLog(req);
    },
    async *watchRunLog(req, ctx) {
      yield* runs.watchRunLog(req, ctx.signal, deps.watchPollMs);
    },
    async recordOperation(req) {
      return create(sync.RecordOperationResponseSchema, { run: await runs.recordOperation(req) });
    },
    async getEventsStatus() {
      return deps.eventsStatus();
    },
    async listSchedules() {
      return deps.schedules.list();
    },
    async pauseSchedule(req, ctx) {
      return deps.schedules.pause(req.name, actorOf(ctx.requestHeader, req.requestedBy) || 'unknown');
    },
    async resumeSchedule(req, ctx) {
      return deps.schedules.resume(req.name, actorOf(ctx.requestHeader, req.requestedBy) || 'unknown');
    },
    async runScheduleNow(req, ctx) {
      return deps.schedules.runNow(req.name, actorOf(ctx.requestHeader, req.requestedBy) || 'unknown');
    },
    async getSettings() {
      return create(sync.GetSettingsResponseSchema, { syncCounties: [...deps.counties] });
    },
    ...deps.configs,
  };
}

export function syncRoutes(deps: SyncServiceDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(sync.SyncService, syncServiceImpl(deps));
  };
}
