// One run: live progress (rate, ETA) over SSE while it runs, counts, failed items with reasons,
// a dry run's planned changes (a real run's: the changes it made), its log (RunLog.tsx); operators cancel it (after a confirmation) or retry its failures.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useLocation } from 'wouter';
import { call, followRun, type Run } from '../api';
import { duration, n, utc } from '../format';
import { useSession } from '../session';
import { ConfirmDialog, ErrorBox, RunStatus, TableWrap } from '../ui';
import { RunLog } from './RunLog';

function progressOf(run: Run, now: number) {
  const c = run.counts ?? {};
  const done = (c.succeeded ?? 0) + (c.failed ?? 0);
  const total = c.total ?? 0;
  const started = run.started_at ? Date.parse(run.started_at) : undefined;
  const elapsed = started ? Math.max(0.001, ((run.completed_at ? Date.parse(run.completed_at) : now) - started) / 1000) : 0;
  const rate = elapsed > 0 ? done / elapsed : 0;
  const eta = !run.finished && rate > 0 && total > done ? (total - done) / rate : undefined;
  return { done, total, elapsed, rate, eta, pct: total > 0 ? Math.min(100, (100 * done) / total) : run.finished ? 100 : 0 };
}

export function RunPage({ params }: { params: { id?: string } }) {
  const id = params.id ?? '';
  const { client, apiKey, can } = useSession();
  const qc = useQueryClient();
  const [, go] = useLocation();
  const key = ['run', id];
  const run = useQuery({ queryKey: key, queryFn: async () => (await call(client.GET('/api/haier/sync/{id}/', { params: { path: { id } } }))).data! });
  const [live, setLive] = useState(false);
  const [now, setNow] = useState(Date.now());
  const [confirming, setConfirming] = useState(false);
  const finished = run.data?.finished ?? true;

  // follow this run (and only this one) while it runs; a stream that breaks before the run ends
  // (the orchestrator restarting) is reopened for up to 2 minutes, "reconnecting…" meanwhile
  const [reconnecting, setReconnecting] = useState(false);
  useEffect(() => {
    if (finished || !run.data) return;
    const abort = new AbortController();
    const tick = setInterval(() => setNow(Date.now()), 1000);
    void (async () => {
      const giveUp = Date.now() + 120_000;
      setLive(true);
      while (!abort.signal.aborted) {
        let ended = false;
        await followRun(
          apiKey,
          id,
          (r) => {
            setReconnecting(false);
            ended = Boolean(r.finished);
            qc.setQueryData(key, r);
          },
          abort.signal,
          () => setReconnecting(true),
        ).catch(() => undefined);
        if (ended || abort.signal.aborted || Date.now() > giveUp) break;
        setReconnecting(true);
        await new Promise((res) => setTimeout(res, 1000));
      }
      setLive(false);
      setReconnecting(false);
      if (!abort.signal.aborted) void qc.invalidateQueries({ queryKey: key });
      // the lists and the active-run banner learn of the end now, not at their next poll
      void qc.invalidateQueries({ queryKey: ['runs'] });
    })();
    return () => {
      abort.abort();
      clearInterval(tick);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, finished, run.data === undefined, apiKey]);

  const cancel = useMutation({
    mutationFn: async () => (await call(client.POST('/api/haier/sync/{id}/cancel/', { params: { path: { id } } }))).data,
    onSuccess: (r) => {
      if (r) qc.setQueryData(key, r);
      void qc.invalidateQueries({ queryKey: ['runs'] });
    },
  });
  const retry = useMutation({
    mutationFn: async () => (await call(client.POST('/api/haier/sync/{id}/retry-failed/', { params: { path: { id } } }))).data,
    onSuccess: (r) => r?.id && go(`/runs/${r.id}`),
  });

  const r = run.data;
  if (!r) return <ErrorBox error={run.error} />;
  const p = progressOf(r, now);
  const c = r.counts ?? {};
  return (
    <>
      <p>
        <Link href="/runs">← All runs</Link>
      </p>
      <h1 id="run-title">
        Run {r.id} <RunStatus run={r} />
      </h1>
      <p className="run-meta">
        {r.sync_type} · {r.mode} · trigger {r.trigger} · by {r.started_by || '—'} · started {utc(r.started_at)}
        {r.retry_of ? (
          <>
            {' '}
            · retries <Link href={`/runs/${r.retry_of}`}>run {r.retry_of}</Link>
          </>
        ) : null}
      </p>
      <section className="tile" aria-label="Progress">
        <h2>
          Progress {live && !reconnecting ? <span className="badge live">live</span> : null}
          {reconnecting ? <span className="badge status-PARTIAL">reconnecting…</span> : null}
        </h2>
        <progress id="run-progress" max={100} value={p.pct} aria-label={`Run ${r.id} progress`}>
          {p.pct.toFixed(0)}%
        </progress>
        <p id="run-progress-text" aria-live="polite">
          {n(p.done)} of {n(p.total)} products ({p.pct.toFixed(0)}%) · {p.rate.toFixed(1)} products/s · elapsed {duration(p.elapsed)}
          {p.eta !== undefined ? ` · about ${duration(p.eta)} left` : ''}
          {r.finished ? ` · ended ${utc(r.completed_at)}` : ''}
        </p>
        {r.message ? <p id="run-message">{r.message}</p> : null}
        {can('operator') && !r.finished ? (
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Cancel run
          </button>
        ) : null}
        {can('operator') && r.finished && (c.failed ?? 0) > 0 ? (
          <button type="button" onClick={() => retry.mutate()} disabled={retry.isPending}>
            Retry the {n(c.failed)} failed
          </button>
        ) : null}
        <ErrorBox error={cancel.error ?? retry.error} />
      </section>
      <section className="tile" aria-label="Counts">
        <h2>Counts</h2>
        <dl className="counts" id="run-counts">
          {(['total', 'succeeded', 'failed', 'created', 'updated', 'unchanged', 'delisted', 'batches_done', 'batches_total', 'upstream_calls'] as const).map((k) => (
            <div key={k}>
              <dt>{k.replace('_', ' ')}</dt>
              <dd data-count={k}>{n(c[k])}</dd>
            </div>
          ))}
        </dl>
      </section>
      {(r.planned_changes ?? []).length > 0 ? (
        <section className="tile" aria-label={r.options?.dry_run ? 'Planned changes' : 'Changes'}>
          <h2>{r.options?.dry_run ? 'Planned changes (dry run: nothing was written)' : 'Changes this run made'}</h2>
          <ul className="planned" tabIndex={0} aria-label={r.options?.dry_run ? 'Planned changes' : 'Changes'}>
            {r.planned_changes!.map((x, i) => (
              <li key={i}>{x}</li>
            ))}
          </ul>
        </section>
      ) : null}
      {(r.failed_items ?? []).length > 0 ? (
        <section className="tile" aria-label="Failed items">
          <h2>Failed items</h2>
          <TableWrap>
            <table id="failed-items">
              <thead>
                <tr>
                  <th scope="col">Product</th>
                  <th scope="col">Reason</th>
                </tr>
              </thead>
              <tbody>
                {r.failed_items!.map((f) => (
                  <tr key={f.product_code}>
                    <td>
                      <Link href={`/catalog/${f.product_code}`}>{f.product_code}</Link>
                    </td>
                    <td>{f.reason}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </section>
      ) : null}
      <RunLog id={r.id ?? id} finished={Boolean(r.finished)} />
      <ConfirmDialog
        open={confirming}
        title={`Cancel run ${r.id}?`}
        confirm="Cancel the run"
        onCancel={() => setConfirming(false)}
        onConfirm={() => {
          setConfirming(false);
          cancel.mutate();
        }}
      >
        <p>Batches in flight finish; no new batch starts. Products already synced stay synced.</p>
      </ConfirmDialog>
    </>
  );
}
