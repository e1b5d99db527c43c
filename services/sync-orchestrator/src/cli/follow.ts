// Following a run to its end over WatchRun: progress as batches finish, reconnecting whenever the
// stream breaks for any transport reason (the orchestrator restarted: runs are resumable, so the
// run goes on; "reconnecting…" is shown until the stream is back), and, with
// --verbose, a ✓/✗ line per product (changes from the catalog's change log for this run, failures
// from the run itself).
import { Code, ConnectError } from '@connectrpc/connect';
import type { sync } from '@haier-sync/contracts';
import { catalog } from '@haier-sync/contracts';
import type { CatalogClient, SyncClient } from './client';
import { sleep } from '@haier-sync/runtime';
import { changeKindToken } from '../events/subjects';
import { isFinalStatus } from './exit-codes';
import type { ProgressView } from './progress';

export interface FollowOptions {
  client: SyncClient;
  /** The run as StartRun/GetRun answered it (answered back when interrupted before any progress). */
  run: sync.Run;
  view: ProgressView;
  signal: AbortSignal;
  /** --verbose: a ✗ line per failed product, and a ✓ line per change when `changes` is given. */
  verbose?: boolean;
  /** The catalog and the change-log position before the run started (for the ✓ lines). */
  changes?: { catalog: CatalogClient; afterSeq: bigint } | undefined;
  /** How long to keep trying when the orchestrator cannot be reached mid-run (default 120 s). */
  reconnectForMs?: number;
}

/** The old command's success line, from one change of the catalog. */
export function changeLine(c: catalog.Change): string {
  const name = c.product?.name || c.product?.productModel || c.productCode;
  const fields = c.kind === catalog.ChangeKind.UPDATED || c.kind === catalog.ChangeKind.PRICE_CHANGED ? c.fields.map((f) => f.field) : [];
  return `✓ ${name} (${c.productCode}) ${changeKindToken(c.kind)?.replace('_', ' ') ?? 'changed'}${fields.length ? `: ${fields.join(', ')}` : ''}`;
}

export function failureLine(f: sync.FailedItem): string {
  return `✗ ${f.productCode}: ${f.reason}`;
}

/** Tails the catalog change log for one run's changes (verbose mode). */
class ChangeTail {
  private seq: bigint;
  private warned = false;
  constructor(
    private readonly catalog: CatalogClient,
    afterSeq: bigint,
    private readonly runId: string,
    private readonly view: ProgressView,
  ) {
    this.seq = afterSeq;
  }

  /** Reads and prints what is new; `drain` keeps reading until the head of the log. */
  async poll(drain = false): Promise<void> {
    try {
      for (;;) {
        const res = await this.catalog.readChanges({ afterSeq: this.seq, limit: 1000 });
        for (const c of res.changes) {
          if (c.seq > this.seq) this.seq = c.seq;
          if (c.runId === this.runId) this.view.line(changeLine(c));
        }
        if (!drain || res.changes.length === 0 || this.seq >= res.headSeq) return;
      }
    } catch (e) {
      if (!this.warned) this.view.note(`(--verbose: cannot read the catalog's change log: ${ConnectError.from(e).rawMessage}; only failures are listed)`);
      this.warned = true;
    }
  }
}

/**
 * Codes with which the service answered the request itself (the run does not exist, the caller may
 * not see it, ...): following stops. Every other failure is a broken stream (the orchestrator
 * restarting cancels or resets it, refuses connections, times out) and is reconnected.
 */
const ANSWERED = new Set([Code.NotFound, Code.InvalidArgument, Code.PermissionDenied, Code.Unauthenticated, Code.FailedPrecondition, Code.Unimplemented]);

/** Follows a run until it ends (or the signal aborts); answers its last state. Throws when the orchestrator stays unreachable. */
export async function followRun(o: FollowOptions): Promise<sync.Run> {
  const seenFailures = new Set<string>();
  const tail = o.verbose && o.changes ? new ChangeTail(o.changes.catalog, o.changes.afterSeq, o.run.id, o.view) : undefined;
  let lastTail = 0;
  const show = async (run: sync.Run, final: boolean) => {
    if (tail && (final || Date.now() - lastTail >= 1000)) {
      lastTail = Date.now();
      await tail.poll(final);
    }
    if (o.verbose) {
      for (const f of run.failedItems) {
        if (seenFailures.has(f.productCode)) continue;
        seenFailures.add(f.productCode);
        o.view.line(failureLine(f));
      }
    }
    o.view.update(run);
  };

  let last: sync.Run = o.run;
  let downSince: number | undefined;
  const reconnectFor = o.reconnectForMs ?? 120_000;
  while (!o.signal.aborted) {
    try {
      for await (const msg of o.client.watchRun({ id: o.run.id }, { signal: o.signal })) {
        if (!msg.run) continue;
        if (downSince !== undefined) o.view.note(`reconnected after ${Math.round((Date.now() - downSince) / 1000)} s; following run ${o.run.id} again`);
        downSince = undefined;
        last = msg.run;
        const final = isFinalStatus(msg.run.status);
        await show(msg.run, final);
        if (final) return msg.run;
      }
      // the stream ended without a final state: ask once for the run as it is now
      const { run } = await o.client.getRun({ id: o.run.id });
      if (run && isFinalStatus(run.status)) {
        await show(run, true);
        return run;
      }
    } catch (e) {
      if (o.signal.aborted) break;
      const ce = ConnectError.from(e);
      if (ANSWERED.has(ce.code)) throw e; // the service said no (unknown run, refused): not a broken stream
      if (downSince === undefined) o.view.note(`lost the run's progress stream (${ce.rawMessage}); the run goes on in the service, reconnecting…`);
      downSince ??= Date.now();
      if (Date.now() - downSince > reconnectFor) throw e;
      await sleep(1000, o.signal);
      continue;
    }
    await sleep(500, o.signal);
  }
  return last; // interrupted: the caller sees signal.aborted
}

export interface FollowLogOptions {
  client: SyncClient;
  runId: string;
  levels: sync.LogLevel[];
  productCode: string;
  signal: AbortSignal;
  line(l: sync.RunLogLine): void;
  note(text: string): void;
  reconnectForMs?: number;
}

/**
 * Follows a run's log over WatchRunLog until the run ends (answers the last message, with the
 * counts), reconnecting after the last line seen when the stream breaks, as followRun does.
 */
export async function followRunLog(o: FollowLogOptions): Promise<sync.WatchRunLogResponse | undefined> {
  let after = 0n;
  let downSince: number | undefined;
  const reconnectFor = o.reconnectForMs ?? 120_000;
  while (!o.signal.aborted) {
    try {
      for await (const msg of o.client.watchRunLog({ runId: o.runId, levels: o.levels, productCode: o.productCode, afterSeq: after }, { signal: o.signal })) {
        if (downSince !== undefined) o.note(`reconnected after ${Math.round((Date.now() - downSince) / 1000)} s; following the log of run ${o.runId} again`);
        downSince = undefined;
        for (const l of msg.lines) {
          after = l.seq;
          o.line(l);
        }
        if (msg.ended) return msg;
      }
      await sleep(500, o.signal);
    } catch (e) {
      if (o.signal.aborted) break;
      const ce = ConnectError.from(e);
      if (ANSWERED.has(ce.code)) throw e;
      if (downSince === undefined) o.note(`lost the run's log stream (${ce.rawMessage}); the run goes on in the service, reconnecting…`);
      downSince ??= Date.now();
      if (Date.now() - downSince > reconnectFor) throw e;
      await sleep(1000, o.signal);
    }
  }
  return undefined;
}
