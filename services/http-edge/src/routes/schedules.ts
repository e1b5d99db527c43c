// The orchestrator's scheduled jobs over REST: list (cron or freshness target, next fire, last
// run, paused), pause/resume (every replica; kept in Postgres), run now (202 with the run; 409
// with the job's run still active). The key's name is passed on as who asked (paused_by, the
// change log); the request itself, with its optional reason, is in the edge audit log.
import type { FastifyInstance } from 'fastify';
import type { EdgeContext } from '../context';
import { EdgeError } from '../domain/errors';
import { runOut } from '../domain/run-view';
import { scheduleOut } from '../domain/schedule-view';
import { dataAnswer, errors, listAnswer, runSchema, scheduleSchema } from '../schemas';

const nameParam = {
  type: 'object',
  properties: { name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$', description: 'The job: full, prices, low_stock, integrity or image_orphans (GET /api/haier/schedules/)' } },
  required: ['name'],
  additionalProperties: false,
} as const;

const reasonBody = {
  type: 'object',
  properties: { reason: { type: 'string', maxLength: 500, description: 'Why (kept in the audit log with the request)' } },
  additionalProperties: false,
} as const;

/** The reason is optional, and so is the body: a POST without one is `{}` (not "body must be object"); a JSON `null` is still refused. */
const bodyOptional = async (req: { body: unknown }) => {
  if (req.body === undefined) req.body = {};
};

const changedField = { changed: { type: 'boolean', description: 'false: it already was in that state (nothing changed)' } } as const;
const messageField = { message: { type: 'string' } } as const;

interface NameParams {
  name: string;
}

export function scheduleRoutes(app: FastifyInstance, ctx: EdgeContext): void {
  const client = ctx.clients.sync;
  const by = (req: { auth?: { name: string } | null }) => req.auth?.name ?? '';

  app.get(
    '/api/haier/schedules/',
    {
      config: { role: 'viewer' },
      schema: {
        tags: ['schedules'],
        operationId: 'listSchedules', summary: 'The scheduled jobs: cron or freshness target, next fire time, last run and its status, paused (and by whom), last changes',
        response: listAnswer(scheduleSchema, { scheduler_enabled: { type: 'boolean', description: 'whether the answering orchestrator replica runs the cron timers (SYNC_SCHEDULER_ENABLED)' } }),
      },
    },
    async () => {
      const r = await client.listSchedules({});
      return { success: true, count: r.jobs.length, results: r.jobs.map(scheduleOut), scheduler_enabled: r.schedulerEnabled };
    },
  );

  for (const [action, paused] of [['pause', true], ['resume', false]] as const) {
    app.post<{ Params: NameParams; Body: { reason?: string } }>(
      `/api/haier/schedules/:name/${action}/`,
      {
        config: { role: 'operator' },
        preValidation: bodyOptional,
        schema: {
          tags: ['schedules'],
          operationId: paused ? 'pauseSchedule' : 'resumeSchedule',
          summary: paused
            ? 'Pause a job on every replica: no tick fires it until it is resumed (kept across restarts; run now still works)'
            : 'Resume a paused job: it fires again at its next tick',
          params: nameParam,
          body: reasonBody,
          'x-body-optional': true,
          response: dataAnswer(scheduleSchema, changedField),
        },
      },
      async (req) => {
        const r = paused ? await client.pauseSchedule({ name: req.params.name, requestedBy: by(req) }) : await client.resumeSchedule({ name: req.params.name, requestedBy: by(req) });
        if (!r.job) throw new EdgeError(502, 'UPSTREAM_ERROR', 'The sync orchestrator answered without the job; see its log.');
        return { success: true, data: scheduleOut(r.job), changed: r.changed };
      },
    );
  }

  app.post<{ Params: NameParams; Body: { reason?: string } }>(
    '/api/haier/schedules/:name/run/',
    {
      config: { role: 'operator' },
      preValidation: bodyOptional,
      schema: {
        tags: ['schedules'],
        operationId: 'runScheduleNow', summary: "Fire a job now, once across replicas (a paused job too): 202 with the run it started; 409 with the job's run still active; 200 without a run when the job had nothing to start",
        params: nameParam,
        body: reasonBody,
        'x-body-optional': true,
        response: {
          ...dataAnswer(runSchema, { job: scheduleSchema, ...messageField }, 202),
          200: { type: 'object', properties: { success: { type: 'boolean' }, job: scheduleSchema, ...messageField } },
          ...errors,
        },
      },
    },
    async (req, reply) => {
      const r = await client.runScheduleNow({ name: req.params.name, requestedBy: by(req) });
      if (!r.job) throw new EdgeError(502, 'UPSTREAM_ERROR', 'The sync orchestrator answered without the job; see its log.');
      if (r.alreadyActive && r.run) {
        throw new EdgeError(409, 'RUN_ACTIVE', `The ${r.job.name} job's run ${r.run.id} is still active; follow it at /api/haier/sync/${r.run.id}/ or cancel it first.`, undefined, { runId: r.run.id });
      }
      if (!r.run) return reply.status(200).send({ success: true, job: scheduleOut(r.job), message: r.message });
      return reply.status(202).header('location', `/api/haier/sync/${r.run.id}/`).send({ success: true, data: runOut(r.run), job: scheduleOut(r.job), message: r.message });
    },
  );
}
