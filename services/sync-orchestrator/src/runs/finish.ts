// Ending a run: the final row, its outbox event and the alert, committed together.
import type { sync } from '@haier-sync/contracts';
import { toRunMessage, type RunRow } from './model';
import { appendRunEvent } from './outbox';
import { finishRun, getFailures, type FinalUpdate } from './repository';
import type { RunDeps } from './deps';
import { endLine } from './run-log';

export const FAILED_ITEMS_IN_ANSWER = 1000;

export async function endRun(deps: Pick<RunDeps, 'knex' | 'raiseAlert' | 'logger' | 'metrics' | 'runLog'>, runId: string, f: FinalUpdate): Promise<sync.Run | undefined> {
  let ended: RunRow | undefined;
  const msg = await deps.knex.transaction(async (trx) => {
    const row: RunRow | undefined = await finishRun(trx, runId, f);
    if (!row) return undefined; // already ended (cancelled, or another process finished it)
    ended = row;
    const run = toRunMessage(row, await getFailures(trx, runId, FAILED_ITEMS_IN_ANSWER));
    await appendRunEvent(trx, row.status === 'FAILED' ? 'failed' : 'completed', run, 0, row.traceparent);
    await deps.runLog?.append(trx, runId, [endLine(row.status, f.message)]);
    return run;
  });
  if (!msg) return undefined;
  if (ended) deps.metrics?.runEnded(ended);
  const level = f.status === 'SUCCESS' ? 'info' : f.status === 'PARTIAL' ? 'warn' : 'error';
  deps.logger[level]({ run_id: runId, status: f.status }, f.message);
  if (f.status === 'FAILED' || f.status === 'PARTIAL') await deps.raiseAlert(msg);
  return msg;
}
