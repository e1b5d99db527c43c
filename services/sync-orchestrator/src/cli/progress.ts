// Showing a run's progress while it goes: a bar on stderr when stderr is a terminal, plain
// lines otherwise (logs, CI, pipes), nothing when asked to be quiet. Verbose lines (✓/✗ per
// product) go to stdout, above the bar when there is one.
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { sync } from '@haier-sync/contracts';
import { progressLine, statusLabel } from './format';

export interface ProgressView {
  update(run: sync.Run): void;
  /** A note for the operator (reconnecting, already active, ...), on stderr. */
  note(text: string): void;
  /** A result line (verbose ✓/✗), on stdout. */
  line(text: string): void;
  stop(): void;
}

export type ProgressMode = 'bar' | 'lines' | 'quiet';

export function progressMode(opts: { json: boolean; stderrIsTTY: boolean }): ProgressMode {
  if (opts.stderrIsTTY) return 'bar';
  return opts.json ? 'quiet' : 'lines';
}

interface Streams {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

const defaultStreams = (): Streams => ({ out: process.stdout, err: process.stderr });

export function createProgress(mode: ProgressMode, streams: Streams = defaultStreams(), now: () => number = Date.now): ProgressView {
  const startedAt = now();
  if (mode === 'bar') return barView(streams, startedAt);
  if (mode === 'quiet') return { update() {}, note() {}, line: (t) => void streams.out.write(`${t}\n`), stop() {} };
  return linesView(streams, startedAt, now);
}

/** Plain lines: one when the status changes, else at most one every 5 s while something moves. */
function linesView(streams: Streams, startedAt: number, now: () => number): ProgressView {
  let lastStatus: number | undefined;
  let lastAt = 0;
  let lastText = '';
  let pending: sync.Run | undefined;
  const print = (run: sync.Run) => {
    const text = progressLine(run, now() - startedAt);
    lastAt = now();
    lastStatus = run.status;
    lastText = text.replace(/^\[[^\]]*\] /, '');
    pending = undefined;
    streams.err.write(`${text}\n`);
  };
  return {
    update(run) {
      const changed = progressLine(run, 0).replace(/^\[[^\]]*\] /, '') !== lastText;
      if (run.status !== lastStatus || (changed && now() - lastAt >= 5_000)) print(run);
      else if (changed) pending = run;
    },
    note: (t) => void streams.err.write(`${t}\n`),
    line: (t) => void streams.out.write(`${t}\n`),
    stop() {
      if (pending) print(pending);
    },
  };
}

function barView(streams: Streams, startedAt: number): ProgressView {
  const multi = new MultiBar(
    {
      stream: streams.err,
      format: ' {status} [{bar}] {percentage}% | batches {value}/{total} | {created} new, {updated} upd, {unchanged} same, {failed} failed | {calls} calls | {elapsed}',
      hideCursor: true,
      clearOnComplete: false,
      fps: 5,
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  let bar: SingleBar | undefined;
  const payload = (run: sync.Run) => ({
    status: statusLabel(run.status).padEnd(10),
    created: String(run.counts?.created ?? 0n),
    updated: String(run.counts?.updated ?? 0n),
    unchanged: String(run.counts?.unchanged ?? 0n),
    failed: String(run.counts?.failed ?? 0n),
    calls: String(run.counts?.upstreamCalls ?? 0n),
    elapsed: `${Math.round((Date.now() - startedAt) / 1000)} s`,
  });
  const outIsErr = (streams.out as { isTTY?: boolean }).isTTY === true;
  return {
    update(run) {
      const total = Math.max(1, Number(run.counts?.batchesTotal ?? 0n));
      const done = Number(run.counts?.batchesDone ?? 0n);
      if (!bar) bar = multi.create(total, done, payload(run));
      else {
        bar.setTotal(total);
        bar.update(done, payload(run));
      }
    },
    note: (t) => multi.log(`${t}\n`),
    line(t) {
      // both on the terminal: print above the bar; stdout redirected: write there untouched
      if (outIsErr) multi.log(`${t}\n`);
      else streams.out.write(`${t}\n`);
    },
    stop() {
      // a last render flushes the lines logged since the previous frame (stop() alone drops them)
      if (bar) multi.update();
      multi.stop();
    },
  };
}
