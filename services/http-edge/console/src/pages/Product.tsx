// One product: its image, prices with the display-price rule explained, stock per county with
// the best warehouse, a price-history chart; operators pin/unpin a price and sync its price/stock.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type uPlot from 'uplot';
import { Link } from 'wouter';
import { call, type Product } from '../api';
import { n, utc } from '../format';
import { useSession } from '../session';
import { ErrorBox, TableWrap, TimeChart, Tile, type ChartSeries } from '../ui';

const PRICE_FIELDS = ['display_price', 'supply_price', 'invoice_price', 'market_price', 'pinned_price'] as const;
const COLORS: Record<string, string> = { display_price: '#0b5cad', supply_price: '#1a7f37', invoice_price: '#9a6700', market_price: '#8250df', pinned_price: '#cf222e' };

interface MirroredImage {
  position: number;
  storage_key: string;
  width: number;
  height: number;
}

/**
 * The product's images as the shop mirrored them (never hot-linked from Haier): each read from
 * the edge with the key in a header, shown from a blob: URL (an <img src> could not send the key).
 */
function ProductImages({ product: p }: { product: Product }) {
  const { apiKey } = useSession();
  const images = ((p as unknown as { images?: MirroredImage[] }).images ?? []).slice().sort((a, b) => a.position - b.position);
  const blobs = useQuery({
    queryKey: ['images', p.product_code, images.map((i) => i.storage_key).join(',')],
    enabled: images.length > 0,
    staleTime: Infinity,
    queryFn: async () =>
      Promise.all(
        images.map(async (i) => {
          const res = await fetch(`/api/haier/images/${i.storage_key}`, { headers: { authorization: `Bearer ${apiKey}` } });
          if (!res.ok) throw new Error(`${res.status}: image ${i.position} could not be read from the image store`);
          return { ...i, url: URL.createObjectURL(await res.blob()) };
        }),
      ),
  });
  useEffect(() => () => blobs.data?.forEach((b) => URL.revokeObjectURL(b.url)), [blobs.data]);
  if (images.length === 0)
    return (
      <p id="no-images">
        Not mirrored yet: a FULL sync with images copies them into the shop's image store.
        {p.product_image_url ? (
          <>
            {' '}
            Haier's URL: <a href={p.product_image_url} rel="noreferrer">{p.product_image_url}</a>
          </>
        ) : null}
      </p>
    );
  if (blobs.error) return <ErrorBox error={blobs.error} />;
  if (!blobs.data) return <p>Loading images…</p>;
  return (
    <div className="product-images">
      {blobs.data.map((b) => (
        <img key={b.position} className="product-image" src={b.url} width={b.width} height={b.height} alt={`${p.name} (${p.product_code}), ${b.position === 0 ? 'main image' : `page ${b.position}`}`} />
      ))}
    </div>
  );
}

/** Which price is displayed, by the catalog's rule: pinned, else supply, else invoice, else market. */
function displayRule(p: Product): string {
  if (p.pinned_price) return 'the pinned price (an operator set it; no sync overwrites it)';
  if (p.supply_price) return 'the supply price (no price is pinned)';
  if (p.invoice_price) return 'the invoice price (no pinned or supply price)';
  if (p.market_price) return 'the market price (no pinned, supply or invoice price)';
  return 'none: Haier gives no price for it';
}

interface Change {
  field?: string;
  from?: string | null;
  to?: string | null;
  changed_at?: string | null;
  run_id?: string;
}

/** One x per moment a price changed (oldest first), one series per price field that changed. */
function historyChart(changes: Change[]): { data: uPlot.AlignedData; series: ChartSeries[] } {
  const fields = PRICE_FIELDS.filter((f) => changes.some((c) => c.field === f && c.to !== null && c.to !== undefined));
  const times = [...new Set(changes.filter((c) => c.changed_at).map((c) => Date.parse(c.changed_at!) / 1000))].sort((a, b) => a - b);
  const cols = fields.map((f) => times.map((t) => {
    const c = changes.find((x) => x.field === f && x.changed_at && Date.parse(x.changed_at) / 1000 === t);
    return c?.to ? Number(c.to) : null;
  }));
  return { data: [times, ...cols], series: fields.map((f) => ({ label: f, color: COLORS[f] ?? '#333' })) };
}

export function ProductPage({ params }: { params: { code?: string } }) {
  const code = params.code ?? '';
  const { client, can, me } = useSession();
  const qc = useQueryClient();
  const product = useQuery({ queryKey: ['product', code], queryFn: async () => (await call(client.GET('/api/haier/catalog/products/{code}/', { params: { path: { code } } }))).data! });
  const history = useQuery({ queryKey: ['product', code, 'history'], queryFn: async () => (await call(client.GET('/api/haier/catalog/products/{code}/price-history/', { params: { path: { code }, query: { limit: 500 } } }))).data ?? [] });
  const chart = useMemo(() => historyChart(history.data ?? []), [history.data]);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['product', code] });
    void qc.invalidateQueries({ queryKey: ['catalog'] });
  };
  const [pin, setPin] = useState('');
  const [county, setCounty] = useState(me?.sync_counties[0] ?? '');
  const [note, setNote] = useState('');
  const pinM = useMutation({
    mutationFn: async () => call(client.PUT('/api/haier/catalog/products/{code}/pinned-price/', { params: { path: { code } }, body: { price: pin.trim() } })),
    onSuccess: () => (setPin(''), setNote('Price pinned.'), refresh()),
  });
  const unpinM = useMutation({
    mutationFn: async () => call(client.DELETE('/api/haier/catalog/products/{code}/pinned-price/', { params: { path: { code } } })),
    onSuccess: () => (setNote('Pin removed: the Haier price is displayed again.'), refresh()),
  });
  const syncPrice = useMutation({
    mutationFn: async () => call(client.POST('/api/haier/catalog/products/{code}/sync-price/', { params: { path: { code } } })),
    onSuccess: (r) => (setNote((r as { message?: string }).message ?? 'Prices synced.'), refresh()),
  });
  const syncStock = useMutation({
    mutationFn: async () => call(client.POST('/api/haier/catalog/products/{code}/sync-stock/', { params: { path: { code } }, body: { county_code: county } })),
    onSuccess: (r) => (setNote((r as { message?: string }).message ?? 'Stock synced.'), refresh()),
  });
  const busy = pinM.isPending || unpinM.isPending || syncPrice.isPending || syncStock.isPending;
  const p = product.data;
  if (!p) return <ErrorBox error={product.error} />;
  const counties = [...new Set([...(me?.sync_counties ?? []), ...(p.county_stock ?? []).map((s) => s.county_code ?? '')])].filter(Boolean);
  return (
    <>
      <p>
        <Link href="/catalog">← Catalog</Link>
      </p>
      <h1 id="product-title">
        <span lang="zh">{p.name}</span> <small>{p.product_code}</small>
      </h1>
      <p className="run-meta">
        model {p.product_model || '—'} · <span lang="zh">{p.brand}</span> / <span lang="zh">{p.category}</span> · {p.delisted_at ? `delisted ${utc(p.delisted_at)}` : p.is_sales ? 'procurable' : `not procurable${p.no_sales_reason ? `: ${p.no_sales_reason}` : ''}`} · last synced {utc(p.last_synced_at)}
      </p>
      <div className="grid">
        <Tile title="Images">
          <ProductImages product={p} />
        </Tile>
        <Tile title="Prices">
          <dl className="counts" id="prices">
            {PRICE_FIELDS.map((f) => (
              <div key={f}>
                <dt>{f.replace('_', ' ')}</dt>
                <dd data-price={f}>{p[f] ?? '—'}</dd>
              </div>
            ))}
          </dl>
          <p id="display-rule">
            Displayed: <strong>{p.display_price ?? '—'}</strong>, {displayRule(p)}. The rule: a pinned price, else the supply price, else the invoice price, else the market price.
          </p>
          {p.price_reason ? <p lang="zh">Haier says: {p.price_reason}</p> : null}
          {can('operator') ? (
            <div className="actions-block">
              <form
                className="inline-form"
                aria-label="Pin a price"
                onSubmit={(e: FormEvent) => {
                  e.preventDefault();
                  pinM.mutate();
                }}
              >
                <label htmlFor="pin-price">Pin a price</label>
                <input id="pin-price" inputMode="decimal" value={pin} onChange={(e) => setPin(e.target.value)} placeholder="e.g. 1999.00" required />
                <button type="submit" disabled={busy}>
                  Pin
                </button>
              </form>
              {p.pinned_price ? (
                <button type="button" onClick={() => unpinM.mutate()} disabled={busy}>
                  Unpin {p.pinned_price}
                </button>
              ) : null}
              <button type="button" onClick={() => syncPrice.mutate()} disabled={busy}>
                Sync this product's price from Haier
              </button>
            </div>
          ) : null}
          <p role="status" id="product-note">
            {busy ? 'Working…' : note}
          </p>
          <ErrorBox error={pinM.error ?? unpinM.error ?? syncPrice.error ?? syncStock.error} />
        </Tile>
        <Tile title="Stock per county">
          <p>Headline stock: {p.stock ?? '—'}</p>
          <TableWrap>
            <table id="county-stock">
              <thead>
                <tr>
                  <th scope="col">County</th>
                  <th scope="col">Quantity</th>
                  <th scope="col">Best warehouse</th>
                  <th scope="col">Grade</th>
                  <th scope="col">Updated (UTC)</th>
                </tr>
              </thead>
              <tbody>
                {(p.county_stock ?? []).map((s) => (
                  <tr key={s.county_code}>
                    <td>{s.county_code}</td>
                    <td className="num">{n(s.quantity)}</td>
                    <td>{s.best_sec_code || '—'}</td>
                    <td>{s.best_warehouse_grade || '—'}</td>
                    <td>{utc(s.updated_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
          {can('operator') && counties.length ? (
            <form
              className="inline-form"
              aria-label="Sync stock"
              onSubmit={(e: FormEvent) => {
                e.preventDefault();
                syncStock.mutate();
              }}
            >
              <label htmlFor="stock-county">County</label>
              <select id="stock-county" value={county} onChange={(e) => setCounty(e.target.value)}>
                {counties.map((c) => (
                  <option key={c}>{c}</option>
                ))}
              </select>
              <button type="submit" disabled={busy}>
                Sync stock from Haier
              </button>
            </form>
          ) : null}
        </Tile>
        <Tile title="Price history" className="wide">
          <TimeChart label="Price changes" data={chart.data} series={chart.series} yLabel="CNY" />
          <TableWrap>
            <table id="history">
              <thead>
                <tr>
                  <th scope="col">When (UTC)</th>
                  <th scope="col">Price</th>
                  <th scope="col">From → to</th>
                  <th scope="col">Run</th>
                </tr>
              </thead>
              <tbody>
                {(history.data ?? []).map((c, i) => (
                  <tr key={i}>
                    <td>{utc(c.changed_at)}</td>
                    <td>{c.field}</td>
                    <td className="num">
                      {c.from ?? '—'} → {c.to ?? '—'}
                    </td>
                    <td>{c.run_id ? <Link href={`/runs/${c.run_id}`}>{c.run_id}</Link> : '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableWrap>
        </Tile>
      </div>
    </>
  );
}
