// Triggers and schedule: cron jobs from the environment, the first-deploy and integrity FULL runs.
export { startScheduler, type Scheduler, type SchedulerDeps } from './scheduler';
export { loadSchedule, type Schedule } from './settings';
export { parseCron, scheduledTick } from './cron';
export { DEFAULT_CRONS, JOB_NAMES, JOB_VARIABLES, fullRunRequest, pricesRunRequest, lowStockRunRequest, type JobName } from './jobs';
export { firstDeployCheck, integrityCheck, findingsSummary, type TriggerOutcome } from './triggers';
export { scheduleState } from './state';
