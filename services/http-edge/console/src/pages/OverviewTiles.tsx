// Two tiles of the overview: the Haier call budget per lane (GET /api/haier/usage/) and the
// freshness of the catalog's prices (GET /api/haier/catalog/stats/?max_age_s=), each as bars.
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { call } from '../api';
import { duration, n } from '../format';
import { useSession } from '../session';
import { Bars, ErrorBox, Tile } from '../ui';

const LANE_WORDS: Record<string, string> = { interactive: 'live lookups', scheduled: 'incremental runs', bulk: 'full runs' };

export function BudgetTile() {
  const { client } = useSession();
  const usage = useQuery({ queryKey: ['usage', 'overview'], refetchInterval: 10_000, queryFn: async () => (await call(client.GET('/api/haier/usage/'))).data! });
  const u = usage.data;
  const lanes = u?.lanes ?? [];
  return (
    <Tile title="Haier call budget">
      <ErrorBox error={usage.error} />
      {u ? (
        <>
          <Bars
            label={`Calls per lane since the gateway started (${n(u.total_calls)} in all with token requests; ${n(u.throttled)} throttled by Haier, ${n(u.retries)} retried)`}
            items={lanes.map((l) => ({ name: `${l.lane} (${LANE_WORDS[l.lane ?? ''] ?? ''})`, value: l.calls ?? 0 }))}
          />
          <Bars
            label={`In use now, of each lane's cap (budget ${n(u.rate_limit_per_second)} calls/s, this gateway's share ${n(u.limit_now_per_second)}/s)`}
            max={100}
            items={lanes.map((l) => {
              const cap = Math.max(1, l.cap_per_second ?? 1);
              const pct = Math.min(100, (100 * (l.in_window ?? 0)) / cap);
              return { name: l.lane ?? '', value: pct, className: pct >= 100 ? 'warn' : 'ok', text: `${n(l.in_window)} of ${n(l.cap_per_second)}/s (cap ${n(l.cap_pct)}%, floor ${n(l.floor_pct)}%)${l.waiting ? `, ${n(l.waiting)} waiting` : ''}` };
            })}
          />
        </>
      ) : null}
    </Tile>
  );
}

const AGES: Array<[seconds: number, label: string]> = [
  [600, '10 min'],
  [3600, '1 hour'],
  [6 * 3600, '6 hours'],
  [86_400, '1 day'],
  [7 * 86_400, '1 week'],
];

export function FreshnessTile() {
  const { client } = useSession();
  const [maxAge, setMaxAge] = useState(3600);
  const stats = useQuery({ queryKey: ['catalog', 'stats', maxAge], refetchInterval: 30_000, queryFn: async () => (await call(client.GET('/api/haier/catalog/stats/', { params: { query: { max_age_s: maxAge } } }))).data! });
  const s = stats.data;
  const a = s?.price_age;
  const procurable = s?.procurable ?? 0;
  const over = a?.over_max_age ?? 0;
  const never = a?.never_checked ?? 0;
  const age = (name: string, v: number | null | undefined) => ({ name, value: v ?? 0, text: duration(v), className: (v ?? 0) > maxAge ? 'warn' : 'ok' });
  return (
    <Tile title="Price freshness">
      <div className="field inline">
        <label htmlFor="fresh-max-age">A price is stale after</label>
        <select id="fresh-max-age" value={maxAge} onChange={(e) => setMaxAge(Number(e.target.value))}>
          {AGES.map(([sec, label]) => (
            <option key={sec} value={sec}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <ErrorBox error={stats.error} />
      {a && s ? (
        <>
          <Bars label={`Age of the ${n(procurable)} procurable products' prices since Haier was last asked (a full bar: the stale limit)`} max={maxAge} items={[age('median (p50)', a.p50_s), age('p99', a.p99_s), age('oldest', a.max_s)]} />
          <Bars
            label="Procurable products by the age of their price"
            items={[
              { name: 'fresh', value: Math.max(0, procurable - over), className: 'ok' },
              { name: 'stale', value: over, className: over > 0 ? 'warn' : 'ok' },
              { name: 'never checked', value: never, className: never > 0 ? 'warn' : 'ok' },
            ]}
          />
        </>
      ) : null}
    </Tile>
  );
}
