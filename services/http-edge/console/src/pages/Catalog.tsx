// Catalog: filters (text, category, brand, procurable, delisted, price range, changed since), sort,
// the total the filters match, cursor pages.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'wouter';
import { call } from '../api';
import { n, utc, utcIso } from '../format';
import { useSession } from '../session';
import { ErrorBox, Pager, TableWrap, useCursors } from '../ui';

const SORTS = [
  ['code', 'code'],
  ['name', 'name'],
  ['display_price', 'price, lowest first'],
  ['-display_price', 'price, highest first'],
  ['-updated_at', 'recently changed'],
  ['-stock', 'most stock'],
] as const;
const PAGE = 25;

interface F {
  q: string;
  category: string;
  brand: string;
  is_sales: '' | 'true' | 'false';
  include_delisted: boolean;
  min_price: string;
  max_price: string;
  /** A UTC moment as a datetime-local input gives it (YYYY-MM-DDTHH:MM), or ''. */
  changed_since: string;
  sort: string;
}
const EMPTY: F = { q: '', category: '', brand: '', is_sales: '', include_delisted: false, min_price: '', max_price: '', changed_since: '', sort: 'code' };
const MONEY = /^\d{1,12}(\.\d{1,2})?$/;

/** A category or brand filter, each with its product count. */
function NamedSelect({ id, label, value, items, onChange }: { id: string; label: string; value: string; items: Array<{ id?: number; name?: string; product_count?: number }> | undefined; onChange(v: string): void }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">any</option>
        {(items ?? []).map((c) => (
          <option key={c.id} value={c.name}>
            {c.name} ({c.product_count})
          </option>
        ))}
      </select>
    </div>
  );
}

export function CatalogPage() {
  const { client } = useSession();
  const [f, setF] = useState<F>(EMPTY);
  const [draftQ, setDraftQ] = useState('');
  const pages = useCursors();
  const cursor = pages.cursor;
  const set = <K extends keyof F>(k: K, v: F[K]) => {
    setF({ ...f, [k]: v });
    pages.reset();
  };
  const categories = useQuery({ queryKey: ['catalog', 'categories'], queryFn: async () => (await call(client.GET('/api/haier/catalog/categories/'))).data ?? [] });
  const brands = useQuery({ queryKey: ['catalog', 'brands'], queryFn: async () => (await call(client.GET('/api/haier/catalog/brands/'))).data ?? [] });
  const priceProblem = [f.min_price, f.max_price].some((v) => v !== '' && !MONEY.test(v)) ? 'A price is a number with at most 2 decimals, e.g. 1999.00.' : undefined;
  const list = useQuery({
    queryKey: ['catalog', 'products', f, cursor],
    placeholderData: keepPreviousData,
    enabled: !priceProblem,
    queryFn: () =>
      call(
        client.GET('/api/haier/catalog/products/', {
          params: {
            query: {
              page_size: PAGE,
              with_total: true,
              sort: f.sort,
              ...(f.q ? { q: f.q } : {}),
              ...(f.category ? { category: f.category } : {}),
              ...(f.brand ? { brand: f.brand } : {}),
              ...(f.is_sales ? { is_sales: f.is_sales === 'true' } : {}),
              ...(f.include_delisted ? { include_delisted: true } : {}),
              ...(f.min_price ? { min_price: f.min_price } : {}),
              ...(f.max_price ? { max_price: f.max_price } : {}),
              ...(f.changed_since ? { changed_since: utcIso(f.changed_since) } : {}),
              ...(cursor ? { cursor } : {}),
            },
          },
        }),
      ),
  });
  const rows = list.data?.results ?? [];
  return (
    <>
      <h1>Catalog</h1>
      <form
        className="filters"
        aria-label="Filter products"
        onSubmit={(e) => {
          e.preventDefault();
          set('q', draftQ.trim());
        }}
      >
        <div className="field wide">
          <label htmlFor="c-q">Name, model or code</label>
          <input id="c-q" name="q" type="search" value={draftQ} onChange={(e) => setDraftQ(e.target.value)} />
        </div>
        <button type="submit">Search</button>
        <NamedSelect id="c-category" label="Category" value={f.category} items={categories.data} onChange={(v) => set('category', v)} />
        <NamedSelect id="c-brand" label="Brand" value={f.brand} items={brands.data} onChange={(v) => set('brand', v)} />
        <div className="field">
          <label htmlFor="c-sales">Procurable</label>
          <select id="c-sales" value={f.is_sales} onChange={(e) => set('is_sales', e.target.value as F['is_sales'])}>
            <option value="">any</option>
            <option value="true">procurable</option>
            <option value="false">not procurable</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="c-min">Price from</label>
          <input id="c-min" inputMode="decimal" value={f.min_price} onChange={(e) => set('min_price', e.target.value.trim())} />
        </div>
        <div className="field">
          <label htmlFor="c-max">Price to</label>
          <input id="c-max" inputMode="decimal" value={f.max_price} onChange={(e) => set('max_price', e.target.value.trim())} />
        </div>
        <div className="field">
          <label htmlFor="c-since">Changed since (UTC)</label>
          <input id="c-since" type="datetime-local" value={f.changed_since} onChange={(e) => set('changed_since', e.target.value)} />
        </div>
        <div className="field check">
          <input id="c-delisted" type="checkbox" checked={f.include_delisted} onChange={(e) => set('include_delisted', e.target.checked)} />
          <label htmlFor="c-delisted">Include delisted</label>
        </div>
        <div className="field">
          <label htmlFor="c-sort">Sort</label>
          <select id="c-sort" value={f.sort} onChange={(e) => set('sort', e.target.value)}>
            {SORTS.map(([v, l]) => (
              <option key={v} value={v}>
                {l}
              </option>
            ))}
          </select>
        </div>
      </form>
      <ErrorBox error={priceProblem ? new Error(priceProblem) : list.error} />
      <p className="totals" id="catalog-total" aria-live="polite" data-total={list.data?.total ?? ''}>
        {n(list.data?.total)} products match · page {pages.page}, {rows.length} shown
      </p>
      <TableWrap>
        <table id="products">
          <thead>
            <tr>
              <th scope="col">Code</th>
              <th scope="col">Name</th>
              <th scope="col">Brand / category</th>
              <th scope="col">Display price</th>
              <th scope="col">Stock</th>
              <th scope="col">State</th>
              <th scope="col">Updated (UTC)</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((p) => (
              <tr key={p.product_code} data-code={p.product_code}>
                <td>
                  <Link href={`/catalog/${p.product_code}`}>{p.product_code}</Link>
                </td>
                <td lang="zh">{p.name}</td>
                <td lang="zh">
                  {p.brand} / {p.category}
                </td>
                <td className="num">
                  {p.display_price ?? '—'}
                  {p.pinned_price ? <span className="badge pinned">pinned</span> : null}
                </td>
                <td className="num">{p.stock ?? '—'}</td>
                <td>{p.delisted_at ? <span className="badge status-CANCELLED">delisted</span> : p.is_sales ? <span className="badge status-SUCCESS">procurable</span> : <span className="badge status-PARTIAL">not procurable</span>}</td>
                <td>{utc(p.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </TableWrap>
      <Pager pages={pages} more={list.data?.has_more} nextCursor={list.data?.next_cursor} back="Previous page" next="Next page" />
    </>
  );
}
