// The operator console: plain JavaScript over the documented REST API (/api/docs), so it can
// never do more than an API key of the same role could. The key lives in this tab's
// sessionStorage only.
'use strict';

const $ = (id) => document.getElementById(id);
const API = '/api/haier';
let key = sessionStorage.getItem('haier-sync-key') || '';
let watching = null; // AbortController of the followed run's event stream
let nextCursor = null;

$('api-key').value = key;

function showError(err) {
  const el = $('error');
  if (!err) { el.hidden = true; el.textContent = ''; return; }
  el.hidden = false;
  el.textContent = String(err.message || err);
}

async function api(path, init = {}) {
  if (!key) throw new Error('Paste an API key above first (ask an admin, or use the one printed by npm start).');
  const res = await fetch(API + path, {
    ...init,
    headers: { authorization: `Bearer ${key}`, ...(init.body ? { 'content-type': 'application/json' } : {}), ...(init.headers || {}) },
  });
  const text = await res.text();
  const body = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const e = body && body.error;
    throw new Error(e ? `${res.status} ${e.code}: ${e.message}${e.field ? ` (field: ${e.field})` : ''}` : `${res.status} ${res.statusText}`);
  }
  return body;
}

const listOf = (body) => (body && (body.results || body.data)) || [];
const one = (body) => (body && body.data) || body;
const cell = (v, cls) => { const td = document.createElement('td'); td.textContent = v === null || v === undefined ? '' : String(v); if (cls) td.className = cls; return td; };
const row = (cells, onClick) => { const tr = document.createElement('tr'); cells.forEach((c) => tr.append(c)); if (onClick) tr.addEventListener('click', onClick); return tr; };
const when = (iso) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) + ' UTC' : '');

// --- tabs -------------------------------------------------------------------------------
document.querySelectorAll('header nav button').forEach((b) => b.addEventListener('click', () => {
  document.querySelectorAll('header nav button').forEach((x) => x.removeAttribute('aria-current'));
  b.setAttribute('aria-current', 'page');
  $('tab-runs').hidden = b.dataset.tab !== 'runs';
  $('tab-catalog').hidden = b.dataset.tab !== 'catalog';
  if (b.dataset.tab === 'catalog' && !$('products').children.length) search().catch(showError);
}));

$('key-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  key = $('api-key').value.trim();
  sessionStorage.setItem('haier-sync-key', key);
  showError(null);
  loadRuns().catch(showError);
});

// --- runs -------------------------------------------------------------------------------
async function loadRuns() {
  const body = await api('/sync/?page_size=20');
  const tbody = $('runs');
  tbody.replaceChildren(...listOf(body).map((r) => row([
    cell(when(r.started_at || r.created_at)), cell(r.sync_type), cell(r.mode), cell(r.trigger),
    cell(r.status, `status-${r.status}`), cell(r.counts.total, 'num'), cell(r.counts.created, 'num'),
    cell(r.counts.updated, 'num'), cell(r.counts.failed, 'num'), cell(r.duration, 'num'),
  ], () => follow(r.id).catch(showError))));
  const active = listOf(body).find((r) => !r.finished);
  if (active && !watching) follow(active.id).catch(showError);
}

function renderRun(r) {
  $('run-detail').hidden = false;
  $('run-id').textContent = r.id;
  $('run-status').textContent = r.status;
  $('run-status').className = `status-${r.status}`;
  const c = r.counts;
  $('run-progress').max = Math.max(1, c.batches_total);
  $('run-progress').value = c.batches_done;
  $('run-summary').textContent = `${c.batches_done}/${c.batches_total} batches · total ${c.total} · created ${c.created} · updated ${c.updated} · unchanged ${c.unchanged} · failed ${c.failed} · ${c.upstream_calls} calls to Haier${r.duration !== null ? ` · ${r.duration} s` : ''}${r.message ? ` · ${r.message}` : ''}`;
  $('run-cancel').hidden = r.finished;
  $('run-cancel').onclick = () => api(`/sync/${r.id}/cancel/`, { method: 'POST' }).then((b) => renderRun(one(b))).catch(showError);
  const failed = r.failed_items || [];
  $('run-failed').hidden = failed.length === 0;
  $('run-failed').textContent = failed.map((f) => `✗ ${f.product_code}: ${f.reason}`).join('\n');
}

// Server-Sent Events read with fetch (EventSource cannot send the API key header). The run goes
// on in the service when the stream breaks (the orchestrator restarting, the network): the page
// shows "reconnecting…" and opens the stream again until the run's "end" event arrives.
function connection(text) {
  const el = $('run-connection');
  el.hidden = !text;
  el.textContent = text ? `reconnecting… (${text})` : '';
  el.title = text || '';
}

class StreamBroken extends Error {}

/** Reads one event stream of run `id`; answers true when the run's end arrived. */
async function readEvents(id, ctl) {
  let res;
  try {
    res = await fetch(`${API}/sync/${id}/events/`, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' }, signal: ctl.signal });
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new StreamBroken(err.message || 'the service cannot be reached');
  }
  if (res.status >= 500) throw new StreamBroken(`event stream: HTTP ${res.status}`);
  if (!res.ok || !res.body) throw new Error(`event stream: ${res.status}`); // 404, 401: not a broken stream
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    let chunk;
    try {
      chunk = await reader.read();
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new StreamBroken(err.message || 'the stream broke');
    }
    if (chunk.done) return false;
    buf += chunk.value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      if (!data) continue;
      const event = (frame.split('\n').find((l) => l.startsWith('event:')) || 'event: progress').slice(6).trim();
      const msg = JSON.parse(data);
      if (event === 'reconnecting') { connection(msg.message); continue; }
      if (event === 'error') {
        const text = msg.error ? msg.error.message : data;
        if (msg.error && msg.error.code === 'UNAVAILABLE') throw new StreamBroken(text);
        throw new Error(text);
      }
      connection(null);
      renderRun(msg);
      if (event === 'end') return true;
    }
  }
}

async function follow(id) {
  if (watching) watching.abort();
  const ctl = new AbortController();
  watching = ctl;
  renderRun(one(await api(`/sync/${id}/`)));
  try {
    for (;;) {
      try {
        if (await readEvents(id, ctl)) break;
        connection('the progress stream closed before the run ended');
      } catch (err) {
        if (!(err instanceof StreamBroken)) throw err;
        connection(err.message);
      }
      await new Promise((resolve) => setTimeout(resolve, 2000));
      if (ctl.signal.aborted) break;
    }
  } catch (err) {
    if (err.name !== 'AbortError') throw err;
  } finally {
    if (watching === ctl) {
      watching = null;
      connection(null);
    }
  }
  loadRuns().catch(showError);
}

$('refresh-runs').addEventListener('click', () => loadRuns().catch(showError));

$('start-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError(null);
  const f = new FormData(ev.target);
  const csv = (s) => String(s || '').split(',').map((x) => x.trim()).filter(Boolean);
  const codes = csv(f.get('product_codes'));
  const counties = csv(f.get('county_codes'));
  const body = {
    mode: f.get('mode'),
    sync_type: f.get('mode') === 'FULL' ? 'PRODUCTS' : 'PRICES',
    ...(codes.length ? { scope: { product_codes: codes } } : {}),
    options: { prices: true, stock: f.get('stock') === 'on', ...(counties.length ? { county_codes: counties } : {}), dry_run: f.get('dry_run') === 'on' },
  };
  try {
    const run = one(await api('/sync/', { method: 'POST', body: JSON.stringify(body) }));
    await loadRuns();
    follow(run.id).catch(showError);
  } catch (err) { showError(err); }
});

// --- catalog ----------------------------------------------------------------------------
async function search(append = false) {
  const q = new FormData($('search-form')).get('q') || '';
  const params = new URLSearchParams({ page_size: '50' });
  if (q) params.set('q', String(q));
  if (append && nextCursor) params.set('cursor', nextCursor);
  const body = await api(`/catalog/products/?${params}`);
  const rows = listOf(body).map((p) => row([
    cell(p.product_code), cell(p.product_model), cell(p.name), cell(p.category), cell(p.brand),
    cell(p.display_price, 'num'), cell(p.stock, 'num'), cell(p.is_sales ? 'yes' : `no${p.no_sales_reason ? ` (${p.no_sales_reason})` : ''}`),
  ], () => showProduct(p.product_code).catch(showError)));
  if (append) $('products').append(...rows); else $('products').replaceChildren(...rows);
  nextCursor = body.next_cursor || null;
  $('more').hidden = !nextCursor;
  $('catalog-count').textContent = body.count !== undefined ? `${$('products').children.length} shown${nextCursor ? ' (more available)' : ''}` : '';
}

async function showProduct(code) {
  const p = one(await api(`/catalog/products/${encodeURIComponent(code)}/`));
  const h = await api(`/catalog/products/${encodeURIComponent(code)}/price-history/`);
  $('product-detail').hidden = false;
  $('product-title').textContent = `${p.product_code} · ${p.name}`;
  $('product-json').textContent = JSON.stringify(p, null, 2);
  $('history').replaceChildren(...listOf(h).map((c) => row([cell(when(c.changed_at)), cell(c.field), cell(c.from, 'num'), cell(c.to, 'num'), cell(c.run_id)])));
}

$('search-form').addEventListener('submit', (ev) => { ev.preventDefault(); showError(null); search().catch(showError); });
$('more').addEventListener('click', () => search(true).catch(showError));

if (key) loadRuns().catch(showError);
