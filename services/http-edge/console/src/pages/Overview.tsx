// Overview: the last runs, success rate and duration over time, products by state, event lag,
// alerts for failed or partial runs, the next scheduled runs, the Haier call budget and price
// freshness (OverviewTiles.tsx).
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import type uPlot from 'uplot';
import { Link } from 'wouter';
import { call, type Run } from '../api';
import { duration, n, utc } from '../format';
import { useSession } from '../session';
import { NextRunsTile } from './Schedules';
import { BudgetTile, FreshnessTile } from './OverviewTiles';
import { Bars, ErrorBox, RunStatus, StatusBadge, TableWrap, Tile, TimeChart, type ChartSeries } from '../ui';

const ENDED = new Set(['SUCCESS', 'FAILED', 'PARTIAL', 'CANCELLED']);
const RATE_WINDOW = 10;
const durationSeries: ChartSeries[] = [{ label: 'duration (s)', color: '#0b5cad' }];
const RATE_RANGE: [number, number] = [0, 100];
const rateSeries: ChartSeries[] = [{ label: `success rate, last ${RATE_WINDOW} runs (%)`, color: '#1a7f37', stepped: true }];

/** Ended runs oldest first: [times], [durations], and the success rate over the last RATE_WINDOW runs. */
function runSeries(runs: Run[]): { durations: uPlot.AlignedData; rates: uPlot.AlignedData } {
  const ended = runs.filter((r) => ENDED.has(r.status ?? '') && r.started_at).reverse();
  const t = ended.map((r) => Date.parse(r.started_at!) / 1000);
  const d = ended.map((r) => r.duration ?? null);
  const rate = ended.map((_r, i) => {
    const w = ended.slice(Math.max(0, i - RATE_WINDOW + 1), i + 1);
    return (100 * w.filter((x) => x.status === 'SUCCESS').length) / w.length;
  });
  return { durations: [t, d], rates: [t, rate] };
}

export function OverviewPage() {
  const { client } = useSession();
  const runs = useQuery({ queryKey: ['runs', 'overview'], refetchInterval: 10_000, queryFn: () => call(client.GET('/api/haier/sync/', { params: { query: { page_size: 200 } } })) });
  const stats = useQuery({ queryKey: ['catalog', 'stats'], queryFn: async () => (await call(client.GET('/api/haier/catalog/stats/'))).data });
  const events = useQuery({ queryKey: ['events', 'status'], refetchInterval: 10_000, queryFn: async () => (await call(client.GET('/api/haier/events/status/'))).data });
  const list = useMemo(() => runs.data?.results ?? [], [runs.data]);
  const series = useMemo(() => runSeries(list), [list]);
  const alerts = list.filter((r) => r.status === 'FAILED' || r.status === 'PARTIAL').slice(0, 5);
  const s = stats.data;
  return (
    <>
      <h1>Overview</h1>
      <ErrorBox error={runs.error ?? stats.error ?? events.error} />
      <div className="grid">
        <Tile title="Alerts" className={alerts.length ? 'alerts' : ''}>
          {alerts.length === 0 ? (
            <p>No failed or partial runs among the last {list.length}.</p>
          ) : (
            <ul className="alert-list">
              {alerts.map((r) => (
                <li key={r.id}>
                  <StatusBadge status={r.status} /> <Link href={`/runs/${r.id}`}>Run {r.id}</Link> {r.sync_type} {utc(r.completed_at)}: {r.message}
                </li>
              ))}
            </ul>
          )}
        </Tile>
        <Tile title="Last runs">
          <TableWrap>
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Type</th>
                <th scope="col">Started (UTC)</th>
                <th scope="col">Duration</th>
              </tr>
            </thead>
            <tbody>
              {list.slice(0, 8).map((r) => (
                <tr key={r.id}>
                  <td>
                    <Link href={`/runs/${r.id}`}>{r.id}</Link>
                  </td>
                  <td>
                    <RunStatus run={r} />
                  </td>
                  <td>{r.sync_type}</td>
                  <td>{utc(r.started_at)}</td>
                  <td>{duration(r.duration)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          </TableWrap>
          <p>
            <Link href="/runs">All runs ({n(runs.data?.total)})</Link>
          </p>
        </Tile>
        <Tile title="Run duration">
          <TimeChart label="Duration of ended runs" data={series.durations} series={durationSeries} yLabel="seconds" />
        </Tile>
        <Tile title="Success rate">
          <TimeChart label="Success rate of ended runs" data={series.rates} series={rateSeries} yLabel="%" yRange={RATE_RANGE} />
        </Tile>
        <Tile title="Products by state">
          {s ? (
            <>
              <Bars
                label={`${n(s.products)} products, last synced ${utc(s.last_synced_at)}`}
                items={[
                  { name: 'listed', value: s.listed ?? 0 },
                  { name: 'procurable', value: s.procurable ?? 0, className: 'ok' },
                  { name: 'delisted', value: s.delisted ?? 0, className: 'warn' },
                  { name: 'pinned price', value: s.pinned ?? 0 },
                ]}
              />
              <p>
                {n(s.categories)} categories, {n(s.brands)} brands. <Link href="/catalog">Open the catalog</Link>
              </p>
            </>
          ) : null}
        </Tile>
        <NextRunsTile />
        <Tile title="Event lag">
          {events.data ? (
            <>
              <Bars label="Entries written and not yet on NATS" items={(events.data.logs ?? []).map((l) => ({ name: l.name ?? '', value: l.lag ?? 0, className: (l.lag ?? 0) > 0 ? 'warn' : 'ok' }))} />
              {events.data.nats_error ? <p className="warn-text">NATS: {events.data.nats_error}</p> : <p>NATS answers.</p>}
            </>
          ) : null}
        </Tile>
        <BudgetTile />
        <FreshnessTile />
      </div>
    </>
  );
}
