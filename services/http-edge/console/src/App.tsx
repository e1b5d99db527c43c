// The console's frame: the key form, the navigation, the active-run banner, and the pages.
// A page is one entry of PAGES (its path, nav label, component); later pages slot in there.
import { useQuery } from '@tanstack/react-query';
import { useState, type ComponentType, type FormEvent } from 'react';
import { Link, Route, Switch, useLocation } from 'wouter';
import { call } from './api';
import { AdminPage } from './pages/Admin';
import { CatalogPage } from './pages/Catalog';
import { LivePage } from './pages/Live';
import { OverviewPage } from './pages/Overview';
import { ProductPage } from './pages/Product';
import { RunPage } from './pages/Run';
import { RunsPage } from './pages/Runs';
import { useSession } from './session';
import { ErrorBox } from './ui';

interface Page {
  path: string;
  nav?: string;
  component: ComponentType<{ params: Record<string, string | undefined> }>;
}

const PAGES: Page[] = [
  { path: '/', nav: 'Overview', component: OverviewPage },
  { path: '/runs', nav: 'Runs', component: RunsPage },
  { path: '/runs/:id', component: RunPage },
  { path: '/catalog', nav: 'Catalog', component: CatalogPage },
  { path: '/catalog/:code', component: ProductPage },
  { path: '/admin', nav: 'Admin', component: AdminPage },
  { path: '/admin/:section', component: AdminPage },
  { path: '/live', nav: 'Live lookup', component: LivePage },
];

function KeyForm() {
  const { apiKey, setKey, me, meError } = useSession();
  const [draft, setDraft] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setKey(draft.trim());
    setDraft('');
  };
  return (
    <form className="key-form" onSubmit={submit} aria-label="API key">
      <label htmlFor="api-key">API key</label>
      <input id="api-key" type="password" autoComplete="off" value={draft} onChange={(e) => setDraft(e.target.value)} placeholder={apiKey ? 'paste another key' : 'paste your API key'} />
      <button type="submit">Use key</button>
      {apiKey ? (
        <button type="button" onClick={() => setKey('')}>
          Forget key
        </button>
      ) : null}
      <span className="who" aria-live="polite">
        {me ? (
          <>
            <strong>{me.name}</strong> <span className={`badge role-${me.role}`}>{me.role}</span>
          </>
        ) : null}
      </span>
      <ErrorBox error={meError} />
    </form>
  );
}

/** A link to the run in progress, on every page (it never moves you there by itself). */
function ActiveRunBanner() {
  const { client, me } = useSession();
  const active = useQuery({
    queryKey: ['runs', 'active'],
    enabled: me !== undefined,
    refetchInterval: 3000,
    queryFn: async () => (await call(client.GET('/api/haier/sync/', { params: { query: { status: 'PROCESSING', page_size: 5 } } }))).results ?? [],
  });
  const [loc] = useLocation();
  const runs = (active.data ?? []).filter((r) => loc !== `/runs/${r.id}`);
  if (runs.length === 0) return null;
  return (
    <div className="active-banner" role="status">
      {runs.map((r) => (
        <Link key={r.id} href={`/runs/${r.id}`} className="active-run-link">
          Run {r.id} ({r.sync_type} {r.mode}) is running: {(r.counts?.succeeded ?? 0) + (r.counts?.failed ?? 0)} / {r.counts?.total ?? 0} — follow it
        </Link>
      ))}
    </div>
  );
}

export function App() {
  const { me } = useSession();
  const [loc] = useLocation();
  return (
    <>
      <header>
        <Link href="/" className="brand">
          haier-sync
        </Link>
        <nav aria-label="Pages">
          {PAGES.filter((p) => p.nav).map((p) => (
            <Link key={p.path} href={p.path} className={(p.path === '/' ? loc === '/' : loc.startsWith(p.path)) ? 'current' : ''} aria-current={(p.path === '/' ? loc === '/' : loc.startsWith(p.path)) ? 'page' : undefined}>
              {p.nav}
            </Link>
          ))}
        </nav>
        <KeyForm />
      </header>
      <ActiveRunBanner />
      <main>
        {me === undefined ? (
          <section className="tile" aria-label="Sign in">
            <h1>Operator console</h1>
            <p>Paste an API key above (it stays in this tab only). A viewer key reads; an operator key also starts and cancels runs and pins prices; an admin key does everything.</p>
          </section>
        ) : (
          <Switch>
            {PAGES.map((p) => (
              <Route key={p.path} path={p.path} component={p.component as ComponentType} />
            ))}
            <Route>
              <h1>Not found</h1>
              <p>
                No page at {loc}. <Link href="/">Back to the overview</Link>
              </p>
            </Route>
          </Switch>
        )}
      </main>
    </>
  );
}
