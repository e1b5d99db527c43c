// Schedules: the orchestrator's jobs with their cron or freshness target, next run, last run and
// paused state; operators pause, resume and run one now (the run it starts is linked). Also the
// overview's "Next scheduled runs" tile.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { call } from '../api';
import { duration, utc } from '../format';
import { useSession } from '../session';
import { ErrorBox, NoticeLine, StatusBadge, TableWrap, Tile, type Notice } from '../ui';
import type { components } from '@haier-sync/rest-client';

type Schedule = components['schemas']['Schedule'];

/** The schedules as every page reads them (one query key: a pause here updates the overview tile). */
function useSchedules() {
  const { client } = useSession();
  return useQuery({ queryKey: ['schedules'], refetchInterval: 15_000, queryFn: () => call(client.GET('/api/haier/schedules/')) });
}

/** When a job fires, in words: its cron (UTC) or the age it keeps its data under. */
function timing(j: Schedule): string {
  if (j.kind === 'FRESHNESS') return `keeps data younger than ${duration(j.max_age_seconds)}${j.cron ? `, checks at ${j.cron} (UTC)` : ''}`;
  return j.cron ? `cron ${j.cron} (UTC)` : 'no cron';
}

/** How long until `iso`, roughly ("in 12 min"), for the next-run columns. */
function fromNow(iso: string | null | undefined, now: number): string {
  if (!iso) return '';
  const s = (Date.parse(iso) - now) / 1000;
  return s <= 0 ? 'due now' : `in ${duration(s)}`;
}

function nextRun(j: Schedule, now: number) {
  if (j.paused) return <span className="badge status-PARTIAL">paused</span>;
  if (!j.enabled) return <span className="badge">switched off</span>;
  if (!j.next_fire_at) return <span>—</span>;
  return (
    <>
      {utc(j.next_fire_at)} <span className="muted">({fromNow(j.next_fire_at, now)})</span>
    </>
  );
}

export function SchedulesSection() {
  const { client, can } = useSession();
  const qc = useQueryClient();
  const list = useSchedules();
  const [reason, setReason] = useState('');
  const [note, setNote] = useState<Notice | null>(null);
  const body = () => (reason.trim() ? { reason: reason.trim() } : {});
  const toggle = useMutation({
    mutationFn: async ({ name, pause }: { name: string; pause: boolean }) =>
      pause
        ? call(client.POST('/api/haier/schedules/{name}/pause/', { params: { path: { name } }, body: body() }))
        : call(client.POST('/api/haier/schedules/{name}/resume/', { params: { path: { name } }, body: body() })),
    onSuccess: (r, v) => {
      setNote({ text: `${v.name}: ${r.changed ? (v.pause ? 'paused' : 'resumed') : v.pause ? 'was already paused' : 'was not paused'}.` });
      void qc.invalidateQueries({ queryKey: ['schedules'] });
    },
  });
  const runNow = useMutation({
    mutationFn: async (name: string) => call(client.POST('/api/haier/schedules/{name}/run/', { params: { path: { name } }, body: body() })),
    onSuccess: (r, name) => {
      const run = (r as { data?: { id?: string } }).data;
      setNote(run?.id ? { text: `${name}: started run ${run.id}.`, runId: run.id } : { text: `${name}: ${r.message ?? 'nothing to start.'}` });
      void qc.invalidateQueries({ queryKey: ['schedules'] });
      void qc.invalidateQueries({ queryKey: ['runs'] });
    },
  });
  const busy = toggle.isPending || runNow.isPending;
  const jobs = list.data?.results ?? [];
  const now = Date.now();
  return (
    <section aria-labelledby="schedules-title">
      <h2 id="schedules-title">Schedules</h2>
      {list.data && list.data.scheduler_enabled === false ? (
        <p className="note" id="scheduler-off">
          The orchestrator that answered runs no cron timers (SYNC_SCHEDULER_ENABLED=false): the next runs are when a replica that runs them fires the jobs.
        </p>
      ) : null}
      {can('operator') ? (
        <div className="field wide reason-field">
          <label htmlFor="schedule-reason">Reason for a pause, resume or run now (optional, kept in the audit log)</label>
          <input id="schedule-reason" value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} placeholder="e.g. supplier maintenance tonight" />
        </div>
      ) : null}
      <NoticeLine id="schedule-note" notice={note} />
      <ErrorBox error={list.error ?? toggle.error ?? runNow.error} />
      <TableWrap>
        <table id="schedules">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">When</th>
              <th scope="col">Next run (UTC)</th>
              <th scope="col">Last run</th>
              <th scope="col">Last change</th>
              {can('operator') ? <th scope="col">Actions</th> : null}
            </tr>
          </thead>
          <tbody>
            {jobs.map((j) => {
              const change = j.recent_changes?.[0];
              return (
                <tr key={j.name} data-job={j.name} data-paused={String(Boolean(j.paused))}>
                  <td>
                    <strong>{j.name}</strong>
                    <br />
                    <span className="muted">{j.description}</span>
                  </td>
                  <td>
                    {timing(j)}
                    <br />
                    <code className="muted">{j.variable}</code>
                  </td>
                  <td className="next-run">{nextRun(j, now)}</td>
                  <td>
                    {j.last_run_id ? (
                      <>
                        <Link href={`/runs/${j.last_run_id}`}>Run {j.last_run_id}</Link> <StatusBadge status={j.last_run_status ?? undefined} />
                        <br />
                        <span className="muted">{utc(j.last_fired_at)}</span>
                      </>
                    ) : (
                      '—'
                    )}
                    {j.last_error ? <p className="warn-text">{j.last_error}</p> : null}
                  </td>
                  <td>
                    {j.paused ? (
                      <>
                        paused by {j.paused_by ?? '—'} at {utc(j.paused_at)}
                      </>
                    ) : change ? (
                      <>
                        {change.action?.replace('_', ' ')} by {change.by} at {utc(change.at)}
                      </>
                    ) : (
                      '—'
                    )}
                  </td>
                  {can('operator') ? (
                    <td>
                      <div className="actions-block">
                        <button type="button" disabled={busy} onClick={() => toggle.mutate({ name: j.name!, pause: !j.paused })} aria-label={`${j.paused ? 'Resume' : 'Pause'} ${j.name}`}>
                          {j.paused ? 'Resume' : 'Pause'}
                        </button>
                        <button type="button" disabled={busy} onClick={() => runNow.mutate(j.name!)} aria-label={`Run now: ${j.name}`}>
                          Run now
                        </button>
                      </div>
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </TableWrap>
    </section>
  );
}

/** The overview's tile: the jobs that fire next (soonest first), and the paused ones. */
export function NextRunsTile() {
  const list = useSchedules();
  const jobs = list.data?.results ?? [];
  const next = jobs.filter((j) => !j.paused && j.enabled && j.next_fire_at).sort((a, b) => Date.parse(a.next_fire_at!) - Date.parse(b.next_fire_at!));
  const paused = jobs.filter((j) => j.paused);
  const now = Date.now();
  return (
    <Tile title="Next scheduled runs">
      <ErrorBox error={list.error} />
      {list.data && next.length === 0 ? <p>No job is due: every one is paused or switched off.</p> : null}
      <ol className="next-runs">
        {next.slice(0, 5).map((j) => (
          <li key={j.name} data-job={j.name}>
            <strong>{j.name}</strong> {utc(j.next_fire_at)} <span className="muted">({fromNow(j.next_fire_at, now)})</span>
          </li>
        ))}
      </ol>
      {paused.length ? <p className="warn-text">Paused: {paused.map((j) => `${j.name} (by ${j.paused_by ?? '—'})`).join(', ')}</p> : null}
      <p>
        <Link href="/admin/schedules">All schedules</Link>
      </p>
    </Tile>
  );
}
