// `haier-sync schedules list|pause|resume|run`: the scheduled jobs (cron or freshness), their next
// fire and last run; pause and resume them on every replica; run one now (once across replicas).
import { toJson } from '@bufbuild/protobuf';
import { sync } from '@haier-sync/contracts';
import { runHeadline, runJson, scheduleJson, scheduleText, schedulesTable } from '../format';
import type { CliContext } from '../context';

export async function schedulesList(ctx: CliContext, o: { json?: boolean }): Promise<void> {
  const res = await ctx.sync().listSchedules({});
  if (o.json) return ctx.printJson(toJson(sync.ListSchedulesResponseSchema, res, { alwaysEmitImplicit: true }));
  ctx.print(schedulesTable(res.jobs));
  if (!res.schedulerEnabled) ctx.print('(the answering orchestrator runs no cron timers: SYNC_SCHEDULER_ENABLED=false; its replicas with timers fire the jobs)');
}

export async function schedulesPause(ctx: CliContext, name: string, o: { json?: boolean }): Promise<void> {
  const res = await ctx.sync().pauseSchedule({ name, requestedBy: ctx.whoAmI() });
  if (o.json) return ctx.printJson({ job: res.job ? scheduleJson(res.job) : null, changed: res.changed });
  if (!res.job) throw new Error(`the service answered PauseSchedule(${name}) without the job`);
  ctx.print(res.changed ? `paused ${res.job.name}: no replica fires it until it is resumed` : `${res.job.name} was already paused; nothing changed`);
  ctx.print(scheduleText(res.job));
}

export async function schedulesResume(ctx: CliContext, name: string, o: { json?: boolean }): Promise<void> {
  const res = await ctx.sync().resumeSchedule({ name, requestedBy: ctx.whoAmI() });
  if (o.json) return ctx.printJson({ job: res.job ? scheduleJson(res.job) : null, changed: res.changed });
  if (!res.job) throw new Error(`the service answered ResumeSchedule(${name}) without the job`);
  ctx.print(res.changed ? `resumed ${res.job.name}` : `${res.job.name} was not paused; nothing changed`);
  ctx.print(scheduleText(res.job));
}

export async function schedulesRun(ctx: CliContext, name: string, o: { json?: boolean }): Promise<void> {
  const res = await ctx.sync().runScheduleNow({ name, requestedBy: ctx.whoAmI() });
  if (o.json) return ctx.printJson({ job: res.job ? scheduleJson(res.job) : null, run: res.run ? runJson(res.run) : null, alreadyActive: res.alreadyActive, message: res.message });
  const job = res.job?.name ?? name;
  if (!res.run) return ctx.print(`${job}: ${res.message}`);
  ctx.print(`${job}: ${res.message}`);
  ctx.print(runHeadline(res.run));
  ctx.print(`follow it: haier-sync runs watch ${res.run.id}`);
}
