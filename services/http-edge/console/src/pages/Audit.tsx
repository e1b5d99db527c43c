// The audit log (admin): every REST call, newest first, with the filters the API has (key, method,
// changes only, path prefix, status, time range in UTC) and cursor pages. Filters apply on "Apply".
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { call } from '../api';
import { utc, utcIso } from '../format';
import { useSession } from '../session';
import { ErrorBox, Pager, TableWrap, useCursors } from '../ui';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const PAGE_SIZES = [25, 50, 100, 500] as const;

interface Filters {
  key_name: string;
  method: string;
  writes_only: boolean;
  path: string;
  status: string;
  since: string;
  until: string;
  limit: number;
}

/** Changes only by default: the reads (the console's own polling among them) would bury them. */
const NONE: Filters = { key_name: '', method: '', writes_only: true, path: '', status: '', since: '', until: '', limit: 50 };


/** What is wrong with the drafted filters, in the page (no request is made then). */
function problemOf(f: Filters): string | undefined {
  if (f.status && !/^[1-5][0-9]{2}$/.test(f.status)) return 'Status must be an HTTP status from 100 to 599, e.g. 403.';
  if (f.since && f.until && utcIso(f.since)! >= utcIso(f.until)!) return '“From” must be before “until”.';
  return undefined;
}

export function AuditSection() {
  const { client } = useSession();
  const [draft, setDraft] = useState<Filters>(NONE);
  const [f, setF] = useState<Filters>(NONE);
  const pages = useCursors();
  const keys = useQuery({ queryKey: ['keys'], queryFn: () => call(client.GET('/api/haier/keys/')) });
  const audit = useQuery({
    queryKey: ['audit', f, pages.cursor],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        client.GET('/api/haier/audit/', {
          params: {
            query: {
              limit: f.limit,
              ...(f.key_name ? { key_name: f.key_name } : {}),
              ...(f.method ? { method: f.method as 'GET' } : {}),
              ...(f.writes_only ? { writes_only: true } : {}),
              ...(f.path.trim() ? { path: f.path.trim() } : {}),
              ...(f.status ? { status: Number(f.status) } : {}),
              ...(f.since ? { since: utcIso(f.since) } : {}),
              ...(f.until ? { until: utcIso(f.until) } : {}),
              ...(pages.cursor ? { cursor: pages.cursor } : {}),
            },
          },
        }),
      ),
  });
  const problem = problemOf(draft);
  const set = <K extends keyof Filters>(k: K) => (v: Filters[K]) => setDraft({ ...draft, [k]: v });
  const apply = (e: FormEvent) => {
    e.preventDefault();
    if (problem) return;
    setF(draft);
    pages.reset();
  };
  const rows = audit.data?.results ?? [];
  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit log</h2>
      <form className="filters" aria-label="Filter the audit log" onSubmit={apply}>
        <div className="field">
          <label htmlFor="a-key">API key</label>
          <select id="a-key" value={draft.key_name} onChange={(e) => set('key_name')(e.target.value)}>
            <option value="">any</option>
            {(keys.data?.results ?? []).map((k) => (
              <option key={k.name} value={k.name}>
                {k.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="a-method">Method</label>
          <select id="a-method" value={draft.method} onChange={(e) => set('method')(e.target.value)}>
            <option value="">any</option>
            {METHODS.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </div>
        <div className="field check">
          <input id="a-writes" type="checkbox" checked={draft.writes_only} onChange={(e) => set('writes_only')(e.target.checked)} />
          <label htmlFor="a-writes">Changes only (no reads)</label>
        </div>
        <div className="field wide">
          <label htmlFor="a-path">Path starts with</label>
          <input id="a-path" value={draft.path} maxLength={500} onChange={(e) => set('path')(e.target.value)} placeholder="e.g. /api/haier/config/" />
        </div>
        <div className="field">
          <label htmlFor="a-status">Status</label>
          <input id="a-status" inputMode="numeric" value={draft.status} onChange={(e) => set('status')(e.target.value.trim())} placeholder="any, e.g. 403" />
        </div>
        <div className="field">
          <label htmlFor="a-since">From (UTC)</label>
          <input id="a-since" type="datetime-local" value={draft.since} onChange={(e) => set('since')(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="a-until">Until (UTC)</label>
          <input id="a-until" type="datetime-local" value={draft.until} onChange={(e) => set('until')(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="a-limit">Per page</label>
          <select id="a-limit" value={draft.limit} onChange={(e) => set('limit')(Number(e.target.value))}>
            {PAGE_SIZES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="actions-block">
          <button type="submit" disabled={problem !== undefined}>
            Apply filters
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setDraft(NONE);
              setF(NONE);
              pages.reset();
            }}
          >
            Reset
          </button>
        </div>
      </form>
      {problem ? (
        <p className="error" role="alert">
          {problem}
        </p>
      ) : null}
      <ErrorBox error={audit.error ?? keys.error} />
      <p className="totals" aria-live="polite" id="audit-count" data-count={audit.data?.count}>
        Page {pages.page}: {rows.length} calls{audit.data?.has_more ? ', more on the next page' : ''}
      </p>
      <TableWrap>
        <table id="audit">
          <thead>
            <tr>
              <th scope="col">At (UTC)</th>
              <th scope="col">Key</th>
              <th scope="col">Method</th>
              <th scope="col">Path</th>
              <th scope="col">Status</th>
              <th scope="col">ms</th>
              <th scope="col">Address</th>
              <th scope="col">Parameters</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-audit={r.id} data-method={r.method} data-path={r.path}>
                <td>{utc(r.at)}</td>
                <td>{r.key_name ?? '—'}</td>
                <td>{r.method}</td>
                <td className="mono">{r.path}</td>
                <td>
                  <span className={`badge ${(r.status ?? 0) >= 400 ? 'status-FAILED' : 'status-SUCCESS'}`}>{r.status}</span>
                </td>
                <td className="num">{r.duration_ms?.toFixed(1)}</td>
                <td>{r.ip}</td>
                <td>{r.params && Object.keys(r.params).length ? <code className="params">{JSON.stringify(r.params)}</code> : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <Pager pages={pages} more={audit.data?.has_more} nextCursor={audit.data?.next_cursor} back="Newer" next="Older" />
    </section>
  );
}
