// The CLI's exit statuses (documented in the README). A run's final status decides the exit of
// `sync` and `runs watch`; the rest follow the BSD sysexits conventions scripts already know.
import { sync } from '@haier-sync/contracts';

export const EXIT = {
  /** The run ended SUCCESS (or a query/command worked). */
  OK: 0,
  /** The run ended FAILED, or the service refused the request (not found, precondition, ...). */
  FAILED: 1,
  /** The run ended PARTIAL: some products failed, the rest were synced (failed codes listed). */
  PARTIAL: 2,
  /** The run was CANCELLED before it finished. */
  CANCELLED: 3,
  /** Bad command line (unknown option, bad value): nothing was started. */
  USAGE: 64,
  /** The sync-orchestrator could not be reached at SYNC_URL. */
  UNAVAILABLE: 69,
  /** Something unexpected (a bug or an internal error in the service). */
  SOFTWARE: 70,
  /** Interrupted (Ctrl-C) while following a run: the run itself goes on. */
  INTERRUPTED: 130,
} as const;

/** Exit status for a run's final status; undefined while it is still going. */
export function exitForStatus(status: sync.RunStatus): number | undefined {
  switch (status) {
    case sync.RunStatus.SUCCESS:
      return EXIT.OK;
    case sync.RunStatus.FAILED:
      return EXIT.FAILED;
    case sync.RunStatus.PARTIAL:
      return EXIT.PARTIAL;
    case sync.RunStatus.CANCELLED:
      return EXIT.CANCELLED;
    default:
      return undefined;
  }
}

export function isFinalStatus(status: sync.RunStatus): boolean {
  return exitForStatus(status) !== undefined;
}
