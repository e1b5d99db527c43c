// Scheduled jobs as REST answers them (pure): the orchestrator's ScheduleJob in snake_case, times
// as ISO strings (UTC), enums by their value names (CRON, FRESHNESS; SUCCESS, …), "" as null.
import { sync } from '@haier-sync/contracts';
import { enumName } from '@haier-sync/runtime';
import { iso, seconds } from './run-view';

export function scheduleOut(j: sync.ScheduleJob) {
  return {
    name: j.name,
    kind: enumName(sync.ScheduleKind, j.kind) ?? '',
    description: j.description,
    cron: j.cron || null,
    max_age_seconds: seconds(j.maxAge),
    variable: j.variable,
    enabled: j.enabled,
    next_fire_at: iso(j.nextFireAt),
    last_fired_at: iso(j.lastFiredAt),
    last_run_id: j.lastRunId || null,
    last_run_status: enumName(sync.RunStatus, j.lastRunStatus) ?? null,
    last_error: j.lastError || null,
    paused: j.paused,
    paused_by: j.pausedBy || null,
    paused_at: iso(j.pausedAt),
    recent_changes: j.recentChanges.map((c) => ({ action: c.action, by: c.by, at: iso(c.at), run_id: c.runId || null })),
  };
}
