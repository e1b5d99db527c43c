// A live operation (a REST call to Haier: an order, logistics, a balance) recorded as a run row
// that is finished from the start, so the sync log lists it beside the runs.
import { END_PHASE } from '../lifecycle';
import type { RunRow } from '../model';
import { rows, type Db } from './sql';

export interface RecordedOperation {
  syncType: string;
  status: string;
  message: string;
  startedBy: string;
  total: number;
  succeeded: number;
  failed: number;
  startedAt: Date;
  completedAt: Date | null;
}

export async function insertOperation(db: Db, op: RecordedOperation): Promise<RunRow> {
  const [row] = await rows<RunRow>(
    db,
    `insert into sync.runs (sync_type, mode, status, trigger, kind, scope, options, started_by, message, phase,
       total, succeeded, failed, started_at, completed_at)
     values (?, 'INCREMENTAL', ?, 'MANUAL', ?, '{"codes":[],"category":"","brand":"","limit":0}'::jsonb,
       '{"prices":false,"stock":false,"counties":[],"dryRun":false}'::jsonb, ?, ?, ?, ?, ?, ?, ?, ?) returning *`,
    [op.syncType, op.status, `OPERATION:${op.syncType}`, op.startedBy, op.message, END_PHASE, op.total, op.succeeded, op.failed, op.startedAt, op.completedAt],
  );
  return row!;
}
