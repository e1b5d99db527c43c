// Small shared pieces: status badges, error box, a uPlot chart, a confirmation dialog, bars.
import { useEffect, useRef, useState, type ReactNode } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { Link } from 'wouter';
import { ApiError, type BudgetRefusal } from './api';
import { n } from './format';

export function StatusBadge({ status }: { status: string | undefined }) {
  return <span className={`badge status-${status ?? 'UNKNOWN'}`}>{status ?? '?'}</span>;
}

export function DryRunBadge() {
  return (
    <span className="badge dry-run" title="A dry run: it plans changes and writes nothing">
      dry run
    </span>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error;
  return (
    <div className="error" role="alert">
      {e.message}
      {e instanceof ApiError && e.runId ? (
        <>
          {' '}
          <Link href={`/runs/${e.runId}`}>Open run {e.runId}</Link>
        </>
      ) : null}
      {e instanceof ApiError && e.budget ? <BudgetLimits budget={e.budget} /> : null}
    </div>
  );
}

/** The limits of the Haier call budget that refused a request (a 429's error.budget). */
export function BudgetLimits({ budget: b }: { budget: BudgetRefusal }) {
  const per = b.window_s === 60 ? 'a minute' : b.window_s === 1 ? 'a second' : `per ${b.window_s} s`;
  return (
    <dl className="budget-limits" aria-label="The budget that refused">
      <div>
        <dt>Budget</dt>
        <dd>{b.scope === 'key' ? `this key's calls (${b.lane} role)` : `the gateway's ${b.lane} lane`}</dd>
      </div>
      <div>
        <dt>Limit</dt>
        <dd data-budget="limit">
          {n(b.limit)} Haier calls {per}
        </dd>
      </div>
      <div>
        <dt>In use</dt>
        <dd data-budget="in_use">{n(b.in_use)}</dd>
      </div>
      <div>
        <dt>This lookup costs</dt>
        <dd data-budget="cost">{n(b.cost)}</dd>
      </div>
      <div>
        <dt>Retry after</dt>
        <dd data-budget="retry_after_s">{n(b.retry_after_s)} s</dd>
      </div>
    </dl>
  );
}

export interface ChartSeries {
  label: string;
  color: string;
  /** points only (no line), e.g. a price that changes in steps */
  points?: boolean;
  stepped?: boolean;
}

/** A time chart (x: UNIX seconds). Its width follows its box; data-points says how many x values it draws. */
export function TimeChart({ label, data, series, height = 180, yLabel, yRange }: { label: string; data: uPlot.AlignedData; series: ChartSeries[]; height?: number; yLabel?: string; yRange?: [number, number] }) {
  const box = useRef<HTMLDivElement>(null);
  const empty = data[0].length === 0;
  useEffect(() => {
    const el = box.current;
    if (!el || empty) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      scales: { x: { time: true }, ...(yRange ? { y: { range: yRange } } : {}) },
      axes: [{}, { label: yLabel, size: 60 }],
      series: [
        { label: 'time (UTC)' },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          points: { show: true, size: 6, fill: s.color },
          ...(s.points ? { paths: () => null } : {}),
          ...(s.stepped ? { paths: uPlot.paths.stepped!({ align: 1 }) } : {}),
        })),
      ],
      legend: { show: true },
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
    };
    const plot = new uPlot(opts, data, el);
    // one point (or all at one moment): an hour around it, not uPlot's span of years
    const xs = data[0];
    const first = xs[0];
    const last = xs[xs.length - 1];
    if (first !== undefined && last !== undefined && last - first < 60) plot.setScale('x', { min: first - 1800, max: last + 1800 });
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [data, series, height, yLabel, yRange, empty]);
  return (
    <figure className="chart">
      <figcaption>{label}</figcaption>
      <div ref={box} role="img" aria-label={`${label}: ${data[0].length} points`} data-points={data[0].length}>
        {empty ? <p className="empty-chart">Nothing to draw yet.</p> : null}
      </div>
    </figure>
  );
}

/** Horizontal bars: a picture of a few counts (`text` words a value otherwise shown as a number; `max` is a full bar, default the largest value). */
export function Bars({ label, items, max: full }: { label: string; items: Array<{ name: string; value: number; className?: string; text?: string }>; max?: number }) {
  const max = Math.max(1, full ?? 0, ...items.map((i) => i.value));
  return (
    <figure className="bars">
      <figcaption>{label}</figcaption>
      <dl>
        {items.map((i) => (
          <div key={i.name} className="bar-row">
            <dt>{i.name}</dt>
            <dd>
              <span className={`bar ${i.className ?? ''}`} style={{ width: `${(100 * i.value) / max}%` }} />
              <span className="bar-value">{i.text ?? i.value.toLocaleString('en-US')}</span>
            </dd>
          </div>
        ))}
      </dl>
    </figure>
  );
}

/** A modal confirmation (the native <dialog>: focus trapped, Esc cancels). */
export function ConfirmDialog({ open, title, children, confirm, onConfirm, onCancel }: { open: boolean; title: string; children: ReactNode; confirm: string; onConfirm(): void; onCancel(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={onCancel}>
      <h2 id="confirm-title">{title}</h2>
      <div>{children}</div>
      <div className="actions">
        <button type="button" onClick={onCancel}>
          Keep it
        </button>
        <button type="button" className="danger" onClick={onConfirm}>
          {confirm}
        </button>
      </div>
    </dialog>
  );
}

/** What an action just did, said once (a status line), with a link to the run it started when it started one. */
export interface Notice {
  text: string;
  runId?: string;
}

export function NoticeLine({ id, notice }: { id: string; notice: Notice | null }) {
  return (
    <p id={id} role="status" aria-live="polite">
      {notice ? (
        <>
          {notice.text} {notice.runId ? <Link href={`/runs/${notice.runId}`}>Open run {notice.runId}</Link> : null}
        </>
      ) : null}
    </p>
  );
}

export function Tile({ title, children, className }: { title: string; children: ReactNode; className?: string }) {
  return (
    <section className={`tile ${className ?? ''}`} aria-label={title}>
      <h2>{title}</h2>
      {children}
    </section>
  );
}

/** A table that scrolls sideways inside its box on a narrow screen (focusable, so keys scroll it). */
export function TableWrap({ children }: { children: ReactNode }) {
  return (
    <div className="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways on a narrow screen)">
      {children}
    </div>
  );
}

/** Cursor pages: the cursors walked so far (the last is the page shown); reset when filters change. */
export function useCursors() {
  const [cursors, setCursors] = useState<string[]>([]);
  return { cursor: cursors[cursors.length - 1], page: cursors.length + 1, reset: () => setCursors([]), back: () => setCursors(cursors.slice(0, -1)), next: (c: string) => setCursors([...cursors, c]) };
}

export function Pager({ pages, more, nextCursor, back, next }: { pages: ReturnType<typeof useCursors>; more: boolean | undefined; nextCursor: string | null | undefined; back: string; next: string }) {
  return (
    <div className="pager">
      <button type="button" disabled={pages.page === 1} onClick={pages.back}>
        {back}
      </button>
      <button type="button" disabled={!more || !nextCursor} onClick={() => nextCursor && pages.next(nextCursor)}>
        {next}
      </button>
    </div>
  );
}

/** A run's status with its dry-run badge. */
export function RunStatus({ run }: { run: { status?: string; options?: { dry_run?: boolean } } }) {
  return (
    <>
      <StatusBadge status={run.status} /> {run.options?.dry_run ? <DryRunBadge /> : null}
    </>
  );
}
