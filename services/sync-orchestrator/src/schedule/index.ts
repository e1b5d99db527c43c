// Triggers and schedule: cron jobs from the environment, the first-deploy and integrity FULL runs,
// and what operators see and steer of them (ListSchedules, pause, resume, run-now).
export { startScheduler, type Scheduler, type SchedulerDeps } from './scheduler';
export { loadSchedule, type Schedule } from './settings';
export { parseCron, scheduledTick } from './cron';
export { DEFAULT_CRONS, JOB_NAMES, JOB_VARIABLES, fullRunRequest, pricesRunRequest, lowStockRunRequest, type JobName } from './jobs';
export { firstDeployCheck, integrityCheck, findingsSummary, type TriggerOutcome } from './triggers';
export { scheduleState, type ScheduleKind } from './state';
export { builtinJobs, instanceName, type JobOutcome, type ScheduledJob } from './registry';
export { scheduleControl, jobMessage, nextFireOf, type ScheduleControl } from './control';
