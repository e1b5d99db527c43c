// A run's own log on its page: its lines with their levels, a level filter (asked of the API), a
// text filter (in the page), counts per level; while the run goes, the log's Server-Sent Events
// (the stored lines, then each new one) read as followRun reads progress, newest line in view.
import type { components } from '@haier-sync/rest-client';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'wouter';
import { call, readEvents, reconnectingMessage } from '../api';
import { n, utc } from '../format';
import { useSession } from '../session';
import { ErrorBox, TableWrap } from '../ui';
import '../live.css';

type Line = components['schemas']['RunLogLine'];
type Level = NonNullable<Line['level']>;
const LEVELS: Level[] = ['INFO', 'SUCCESS', 'WARNING', 'ERROR', 'DEBUG'];
const PAGE = 500;
/** A line's time of day (UTC, to the millisecond: lines come fast); the full time is its title. */
const clock = (iso: string | undefined) => (iso ? iso.slice(11, 23) : '—');

/** The log's lines: stored pages of an ended run, or the live stream of a running one. */
function useRunLog(id: string, finished: boolean, level: string | undefined) {
  const { client, apiKey } = useSession();
  const stored = useInfiniteQuery({
    queryKey: ['run-log', id, level ?? 'all'],
    enabled: finished && level !== '',
    initialPageParam: '',
    queryFn: ({ pageParam }) => call(client.GET('/api/haier/sync/{id}/log/', { params: { path: { id }, query: { page_size: PAGE, ...(level ? { level } : {}), ...(pageParam ? { cursor: pageParam } : {}) } } })),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });

  const [streamed, setStreamed] = useState<Line[]>([]);
  const [live, setLive] = useState(false);
  const [reconnecting, setReconnecting] = useState<string | undefined>();
  const [streamError, setStreamError] = useState<Error | undefined>();
  useEffect(() => {
    if (finished || level === '') return;
    const abort = new AbortController();
    // lines arrive one event each: they join the page a few times a second, not one render each
    let pending: Line[] = [];
    const flush = () => {
      if (pending.length === 0) return;
      const add = pending;
      pending = [];
      setStreamed((had) => had.concat(add));
    };
    const timer = setInterval(flush, 250);
    setStreamed([]);
    setStreamError(undefined);
    setLive(true);
    const q = new URLSearchParams({ follow: 'true', ...(level ? { level } : {}) });
    void readEvents(
      apiKey,
      `/api/haier/sync/${encodeURIComponent(id)}/log/?${q}`,
      (event, data) => {
        if (event === 'line') {
          setReconnecting(undefined);
          pending.push(JSON.parse(data) as Line);
        } else if (event === 'reconnecting') setReconnecting(reconnectingMessage(data));
        else if (event === 'error') setStreamError(new Error((JSON.parse(data) as { error?: { message?: string } }).error?.message ?? 'The log stream failed.'));
      },
      abort.signal,
      `follow the log of run ${id}`,
    )
      .catch((e: unknown) => {
        if (!abort.signal.aborted) setStreamError(e as Error);
      })
      .finally(() => {
        flush();
        if (!abort.signal.aborted) {
          setLive(false);
          setReconnecting(undefined);
        }
      });
    return () => {
      abort.abort();
      clearInterval(timer);
      setLive(false);
    };
  }, [id, finished, level, apiKey]);

  const pages = stored.data?.pages;
  const lines = useMemo(() => (finished && pages ? pages.flatMap((p) => p.results ?? []) : streamed), [finished, pages, streamed]);
  return { lines, live, reconnecting, error: stored.error ?? streamError, stored, counts: finished ? pages?.[0]?.counts : undefined, total: finished ? pages?.[0]?.total : undefined };
}

export function RunLog({ id, finished }: { id: string; finished: boolean }) {
  const [levels, setLevels] = useState<Set<Level>>(() => new Set(LEVELS));
  const [text, setText] = useState('');
  const [newest, setNewest] = useState(true);
  // every level: no filter (the API's default); none: nothing to ask
  const level = levels.size === LEVELS.length ? undefined : LEVELS.filter((l) => levels.has(l)).join(',');
  const log = useRunLog(id, finished, level);
  const needle = text.trim().toLowerCase();
  const shownLines = useMemo(
    () => (needle ? log.lines.filter((l) => [l.message, l.product_code, l.endpoint].some((v) => v?.toLowerCase().includes(needle))) : log.lines),
    [log.lines, needle],
  );
  const seen = useMemo(() => {
    const c: Partial<Record<Level, number>> = {};
    for (const l of log.lines) if (l.level) c[l.level] = (c[l.level] ?? 0) + 1;
    return c;
  }, [log.lines]);
  const countOf = (l: Level) => log.counts?.[l]?.total ?? seen[l] ?? 0;

  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (newest && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [newest, shownLines.length]);

  const toggle = (l: Level) =>
    setLevels((had) => {
      const next = new Set(had);
      if (next.has(l)) next.delete(l);
      else next.add(l);
      return next;
    });

  const dropped = log.counts ? Object.values(log.counts).reduce((a, c) => a + (c?.dropped ?? 0), 0) : 0;
  return (
    <section className="tile" aria-label="Run log">
      <h2>
        Log {log.live && !log.reconnecting ? <span className="badge following">following</span> : null}
        {log.reconnecting ? <span className="badge status-PARTIAL">reconnecting…</span> : null}
      </h2>
      <div className="filters log-filters">
        <fieldset className="levels">
          <legend>Levels</legend>
          {LEVELS.map((l) => (
            <label key={l} className="field check">
              <input type="checkbox" id={`log-level-${l}`} checked={levels.has(l)} onChange={() => toggle(l)} />
              <span className={`badge level-${l}`}>{l}</span> <span data-level-count={l}>{n(countOf(l))}</span>
            </label>
          ))}
        </fieldset>
        <div className="field wide">
          <label htmlFor="log-filter">Text in the line (message, product code, endpoint)</label>
          <input id="log-filter" type="search" value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" spellCheck={false} />
        </div>
        <label className="field check">
          <input type="checkbox" id="log-newest" checked={newest} onChange={(e) => setNewest(e.target.checked)} /> Keep the newest line in view
        </label>
      </div>
      <ErrorBox error={log.error ?? undefined} />
      <p id="log-summary" aria-live="polite">
        {levels.size === 0
          ? 'Pick at least one level.'
          : `${n(shownLines.length)} of ${n(log.lines.length)} lines shown${log.total !== undefined && log.total > log.lines.length ? ` (${n(log.total)} stored; load more below)` : ''}${dropped > 0 ? `; ${n(dropped)} not kept (SYNC_RUN_LOG_CAP per level)` : ''}.`}
      </p>
      <div className="log-box" ref={box}>
        <TableWrap>
          <table id="run-log">
            <thead>
              <tr>
                <th scope="col">Time (UTC)</th>
                <th scope="col">Level</th>
                <th scope="col">Line</th>
              </tr>
            </thead>
            <tbody>
              {shownLines.map((l) => (
                <tr key={l.seq} data-level={l.level}>
                  <td className="nowrap">
                    <time dateTime={l.at} title={utc(l.at)}>
                      {clock(l.at)}
                    </time>
                  </td>
                  <td>
                    <span className={`badge level-${l.level}`}>{l.level}</span>
                  </td>
                  <td className="log-message">
                    {l.message}
                    {l.product_code || l.endpoint ? (
                      <span className="log-meta">
                        {' '}
                        · {l.product_code ? <Link href={`/catalog/${l.product_code}`}>{l.product_code}</Link> : null}
                        {l.product_code && l.endpoint ? ', ' : null}
                        {l.endpoint ? `${l.endpoint}${l.attempt ? `, attempt ${l.attempt}` : ''}` : null}
                      </span>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableWrap>
      </div>
      {log.stored.hasNextPage ? (
        <button type="button" onClick={() => void log.stored.fetchNextPage()} disabled={log.stored.isFetchingNextPage}>
          Load the next {n(PAGE)} lines
        </button>
      ) : null}
    </section>
  );
}
