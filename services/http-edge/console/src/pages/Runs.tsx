// Runs: filters (type, mode, status, trigger), cursor pages, a dry-run badge; operators start a run.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useLocation } from 'wouter';
import { call } from '../api';
import { duration, n, utc } from '../format';
import { useSession } from '../session';
import { ErrorBox, Pager, RunStatus, TableWrap, useCursors } from '../ui';

const TYPES = ['PRODUCTS', 'PRICES', 'STOCK', 'MANUAL', 'ORDER', 'LOGISTICS'] as const;
const STATUSES = ['PENDING', 'PROCESSING', 'SUCCESS', 'FAILED', 'PARTIAL', 'CANCELLED'] as const;
const TRIGGERS = ['MANUAL', 'SCHEDULE', 'FIRST_DEPLOY', 'CONFIG_CHANGE', 'INTEGRITY', 'PRICE_CHANGE', 'LOW_STOCK'] as const;
const MODES = ['FULL', 'INCREMENTAL'] as const;
const PAGE = 20;

type Filters = { sync_type: string; status: string; trigger: string; mode: string };

function Select({ id, label, value, options, onChange }: { id: string; label: string; value: string; options: readonly string[]; onChange(v: string): void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">any</option>
        {options.map((o) => (
          <option key={o} value={o}>
            {o}
          </option>
        ))}
      </select>
    </div>
  );
}

export function StartRunForm() {
  const { client, me } = useSession();
  const qc = useQueryClient();
  const [, go] = useLocation();
  const [mode, setMode] = useState<'FULL' | 'INCREMENTAL'>('INCREMENTAL');
  const [syncType, setSyncType] = useState('');
  const [codes, setCodes] = useState('');
  const [limit, setLimit] = useState('');
  const [prices, setPrices] = useState(true);
  const [stock, setStock] = useState(false);
  const [counties, setCounties] = useState((me?.sync_counties ?? []).join(','));
  const [dryRun, setDryRun] = useState(false);
  const start = useMutation({
    mutationFn: async () => {
      const productCodes = codes.split(/[\s,]+/).filter(Boolean);
      const countyCodes = counties.split(/[\s,]+/).filter(Boolean);
      const body = {
        mode,
        ...(syncType ? { sync_type: syncType as (typeof TYPES)[number] } : {}),
        scope: { ...(productCodes.length ? { product_codes: productCodes } : {}), ...(limit ? { limit: Number(limit) } : {}) },
        options: { prices, stock, ...(stock ? { county_codes: countyCodes } : {}), dry_run: dryRun },
      };
      return (await call(client.POST('/api/haier/sync/', { body }))).data;
    },
    onSuccess: (run) => {
      void qc.invalidateQueries({ queryKey: ['runs'] });
      if (run?.id) go(`/runs/${run.id}`);
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    start.mutate();
  };
  return (
    <form className="start-form tile" onSubmit={submit} aria-labelledby="start-title">
      <h2 id="start-title">Start a run</h2>
      <div className="fields">
        <div className="field">
          <label htmlFor="start-mode">Mode</label>
          <select id="start-mode" name="mode" value={mode} onChange={(e) => setMode(e.target.value as 'FULL')}>
            <option value="INCREMENTAL">INCREMENTAL (what changed)</option>
            <option value="FULL">FULL (every product, then delisting)</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="start-type">Type</label>
          <select id="start-type" value={syncType} onChange={(e) => setSyncType(e.target.value)}>
            <option value="">default (from mode and scope)</option>
            {TYPES.slice(0, 4).map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </div>
        <div className="field wide">
          <label htmlFor="start-codes">Product codes (optional, comma or space separated)</label>
          <input id="start-codes" value={codes} onChange={(e) => setCodes(e.target.value)} placeholder="all products" />
        </div>
        <div className="field">
          <label htmlFor="start-limit">At most (products)</label>
          <input id="start-limit" type="number" min={0} inputMode="numeric" value={limit} onChange={(e) => setLimit(e.target.value)} placeholder="no limit" />
        </div>
        <div className="field check">
          <input id="start-prices" type="checkbox" checked={prices} onChange={(e) => setPrices(e.target.checked)} />
          <label htmlFor="start-prices">Prices</label>
        </div>
        <div className="field check">
          <input id="start-stock" type="checkbox" checked={stock} onChange={(e) => setStock(e.target.checked)} />
          <label htmlFor="start-stock">Stock</label>
        </div>
        <div className="field">
          <label htmlFor="start-counties">Counties for stock (server's SYNC_COUNTIES)</label>
          <input id="start-counties" value={counties} onChange={(e) => setCounties(e.target.value)} disabled={!stock} required={stock} placeholder={me?.sync_counties.length ? undefined : 'e.g. 110101 (the server did not say)'} />
        </div>
        <div className="field check">
          <input id="start-dry" type="checkbox" checked={dryRun} onChange={(e) => setDryRun(e.target.checked)} />
          <label htmlFor="start-dry">Dry run (plan only, write nothing)</label>
        </div>
      </div>
      <button type="submit" disabled={start.isPending}>
        {start.isPending ? 'Starting…' : 'Start run'}
      </button>
      <ErrorBox error={start.error} />
    </form>
  );
}

export function RunsPage() {
  const { client, can } = useSession();
  const [f, setF] = useState<Filters>({ sync_type: '', status: '', trigger: '', mode: '' });
  const pages = useCursors();
  const cursor = pages.cursor;
  const set = (k: keyof Filters) => (v: string) => {
    setF({ ...f, [k]: v });
    pages.reset();
  };
  const runs = useQuery({
    queryKey: ['runs', 'list', f.sync_type, f.status, f.trigger, cursor],
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
    queryFn: () =>
      call(
        client.GET('/api/haier/sync/', {
          params: {
            query: {
              page_size: PAGE,
              ...(f.sync_type ? { sync_type: f.sync_type as 'PRICES' } : {}),
              ...(f.status ? { status: f.status as 'SUCCESS' } : {}),
              ...(f.trigger ? { trigger: f.trigger as 'MANUAL' } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
  });
  // the API has no mode filter: a page's runs of the other mode are left out here
  const rows = (runs.data?.results ?? []).filter((r) => !f.mode || r.mode === f.mode);
  return (
    <>
      <h1>Runs</h1>
      {can('operator') ? <StartRunForm /> : null}
      <form className="filters" aria-label="Filter runs" onSubmit={(e) => e.preventDefault()}>
        <Select id="f-type" label="Type" value={f.sync_type} options={TYPES} onChange={set('sync_type')} />
        <Select id="f-mode" label="Mode" value={f.mode} options={MODES} onChange={set('mode')} />
        <Select id="f-status" label="Status" value={f.status} options={STATUSES} onChange={set('status')} />
        <Select id="f-trigger" label="Trigger" value={f.trigger} options={TRIGGERS} onChange={set('trigger')} />
      </form>
      <ErrorBox error={runs.error} />
      <p className="totals" aria-live="polite">
        {n(runs.data?.total)} runs match{f.mode ? ` (mode ${f.mode} picked from this page)` : ''}
      </p>
      <TableWrap>
        <table id="runs-table">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Status</th>
              <th scope="col">Type / mode</th>
              <th scope="col">Trigger</th>
              <th scope="col">Progress</th>
              <th scope="col">Started (UTC)</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-run={r.id}>
                <td>
                  <Link href={`/runs/${r.id}`}>{r.id}</Link>
                </td>
                <td>
                  <RunStatus run={r} />
                </td>
                <td>
                  {r.sync_type} / {r.mode}
                </td>
                <td>{r.trigger}</td>
                <td>
                  {n((r.counts?.succeeded ?? 0) + (r.counts?.failed ?? 0))} / {n(r.counts?.total)}
                  {r.counts?.failed ? <span className="warn-text"> ({n(r.counts.failed)} failed)</span> : null}
                </td>
                <td>{utc(r.started_at)}</td>
                <td>{duration(r.duration)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <Pager pages={pages} more={runs.data?.has_more} nextCursor={runs.data?.next_cursor} back="Newer" next="Older" />
    </>
  );
}
