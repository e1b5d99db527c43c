// A stand-in for the runs engine's startRun that records what it was asked (not a DB or broker
// mock: the triggers under test decide WHAT to start; the engine has its own tests). Like the
// engine, a second FULL while one is "active" answers the active one.
import { create } from '@bufbuild/protobuf';
import { sync } from '@haier-sync/contracts';

export interface RecordingStartRun {
  (req: sync.StartRunRequest): Promise<{ run: sync.Run; alreadyActive: boolean }>;
  calls: sync.StartRunRequest[];
  /** Marks every run finished (the next FULL starts a new one). */
  finishAll(): void;
  /** Makes the next calls fail with this error. */
  failWith(err: Error | undefined): void;
}

export function recordingStartRun(): RecordingStartRun {
  let n = 0;
  let activeFull: sync.Run | undefined;
  let failure: Error | undefined;
  const fn = (async (req: sync.StartRunRequest) => {
    fn.calls.push(req);
    if (failure) throw failure;
    if (req.mode === sync.RunMode.FULL && activeFull) return { run: activeFull, alreadyActive: true };
    const run = create(sync.RunSchema, {
      id: `run-${++n}`,
      syncType: req.syncType,
      mode: req.mode,
      trigger: req.trigger,
      status: sync.RunStatus.PENDING,
      startedBy: req.startedBy,
    });
    if (req.mode === sync.RunMode.FULL) activeFull = run;
    return { run, alreadyActive: false };
  }) as RecordingStartRun;
  fn.calls = [];
  fn.finishAll = () => (activeFull = undefined);
  fn.failWith = (err) => (failure = err);
  return fn;
}
