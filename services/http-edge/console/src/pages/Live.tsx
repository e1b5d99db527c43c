// Live lookup at Haier: products, prices, stock (product + county), balance and logistics, each
// a form whose answer is drawn as a table or a definition list. Every lookup spends the key's
// share of the Haier call budget; a refusal (429) shows the budget's limits and when to retry.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'wouter';
import { call } from '../api';
import { n } from '../format';
import { useSession } from '../session';
import { ErrorBox, TableWrap, Tile } from '../ui';
import '../live.css';

/** "A, B C" → "A,B,C": codes as the live routes take them (the edge checks each one). */
const codesParam = (text: string) =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .join(',');

/** A lookup's form: its fields, its submit button, and what it answered or why it was refused. */
function LookupForm({ id, title, hint, submit, pending, error, onSubmit, children, answer }: { id: string; title: string; hint: ReactNode; submit: string; pending: boolean; error: unknown; onSubmit(): void; children?: ReactNode; answer: ReactNode }) {
  const go = (e: FormEvent) => {
    e.preventDefault();
    onSubmit();
  };
  return (
    <Tile title={title} className="wide lookup">
      <p className="hint">{hint}</p>
      <form className="fields" onSubmit={go} aria-label={title} id={`${id}-form`}>
        {children}
        <button type="submit" disabled={pending}>
          {pending ? 'Asking Haier…' : submit}
        </button>
      </form>
      <ErrorBox error={error} />
      <div id={`${id}-answer`} aria-live="polite">
        {answer}
      </div>
    </Tile>
  );
}

function Field({ id, label, children }: { id: string; label: string; children: ReactNode }) {
  return (
    <div className="field wide">
      <label htmlFor={id}>{label}</label>
      {children}
    </div>
  );
}

type Cell = string | number | boolean | null | undefined;

/** Rows of Haier's records as a table: the given columns, or every key the rows have. */
function RecordTable({ id, caption, rows, columns }: { id: string; caption: string; rows: Array<Record<string, unknown>>; columns?: Array<[key: string, label: string]> }) {
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))].map((k) => [k, LOGISTICS_LABELS[k] ?? k] as [string, string]);
  if (rows.length === 0) return <p className="empty">{caption}: none.</p>;
  return (
    <TableWrap>
      <table id={id}>
        <caption>
          {caption} ({n(rows.length)})
        </caption>
        <thead>
          <tr>
            {cols.map(([k, label]) => (
              <th key={k} scope="col">
                {label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              {cols.map(([k]) => (
                <td key={k} data-col={k}>
                  {shown(r[k])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </TableWrap>
  );
}

/** Haier's "1"/"0" of isSales in words. */
const procurable = <T extends { isSales?: string }>(rows: T[] | undefined) => (rows ?? []).map((r) => ({ ...r, isSales: r.isSales === '1' ? 'yes' : r.isSales === '0' ? 'no' : r.isSales }));

/** Column names of Haier's logistics lists (any other key is shown as Haier names it). */
const LOGISTICS_LABELS: Record<string, string> = {
  orderCode: 'Order',
  deliveryRecordCode: 'Delivery record',
  nodeName: 'Step',
  operateTime: 'Time (Haier)',
  warehouseCode: 'Warehouse',
  deliveryStatus: 'Status',
  deliveryTime: 'Delivered (Haier)',
  quantity: 'Quantity',
  expressCompany: 'Carrier',
  expressNo: 'Tracking number',
  traceInfo: 'Trace',
  traceTime: 'Trace time (Haier)',
};

function shown(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (Array.isArray(v)) return v.map(shown).join(', ');
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}: ${shown(x)}`).join('; ');
  return String(v as Cell);
}

function ItemErrors({ errors }: { errors: Array<{ productCode?: string; reason?: string }> | undefined }) {
  if (!errors?.length) return null;
  return (
    <div className="item-errors" role="status">
      <h3>Haier answered no record for {n(errors.length)}</h3>
      <ul>
        {errors.map((e) => (
          <li key={e.productCode}>
            <strong>{e.productCode}</strong>: {e.reason}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** This key's own budget for lookups (GET /api/haier/usage/ key_budget), refreshed after each lookup. */
function KeyBudget() {
  const { client } = useSession();
  const usage = useQuery({ queryKey: ['usage'], queryFn: async () => (await call(client.GET('/api/haier/usage/'))).data! });
  const k = usage.data?.key_budget;
  if (!k) return <ErrorBox error={usage.error} />;
  return (
    <p id="key-budget" className="key-budget">
      This key ({k.role}) may spend {n(k.limit_per_minute)} Haier calls a minute on lookups (one call per 20 product codes): {n(k.used)} spent, {n(k.remaining)} left
      {(k.used ?? 0) > 0 ? `, the minute ends in ${n(k.resets_in_s)} s` : ''}. The gateway's interactive lane may refuse a lookup too when live lookups already use their share.
    </p>
  );
}

function useLookup<T>(fn: () => Promise<T>) {
  const qc = useQueryClient();
  return useMutation({ mutationFn: fn, onSettled: () => qc.invalidateQueries({ queryKey: ['usage'] }) });
}

/** A lookup of product codes answered as rows of Haier's records, with the codes Haier had no record for. */
function CodesLookup<R extends { isSales?: string }>({ id, title, hint, label, required, columns, fetch }: { id: string; title: string; hint: string; label: string; required: boolean; columns: Array<[key: string, label: string]>; fetch(codes: string): Promise<{ data?: R[]; errors?: Array<{ productCode?: string; reason?: string }> }> }) {
  const [codes, setCodes] = useState('');
  const m = useLookup(() => fetch(codesParam(codes)));
  return (
    <LookupForm
      id={id}
      title={title}
      hint={hint}
      submit={`Look up ${title.toLowerCase()}`}
      pending={m.isPending}
      error={m.error}
      onSubmit={() => m.mutate()}
      answer={
        m.data ? (
          <>
            <RecordTable id={`${id}-table`} caption={title} rows={procurable(m.data.data)} columns={columns} />
            <ItemErrors errors={m.data.errors} />
          </>
        ) : null
      }
    >
      <Field id={`${id}-codes`} label={label}>
        <input id={`${id}-codes`} value={codes} onChange={(e) => setCodes(e.target.value)} required={required} autoComplete="off" spellCheck={false} />
      </Field>
    </LookupForm>
  );
}

function ProductsLookup() {
  const { client } = useSession();
  return (
    <CodesLookup
      id="live-products"
      title="Products"
      hint="Haier's record of each product: model, name, group, brand, and whether it is procurable. Leave the codes empty for the whole procurable list (one call per 20 products)."
      label="Product codes (spaces or commas; empty: all)"
      required={false}
      fetch={(c) => call(client.GET('/api/haier/products/', { params: { query: c ? { product_codes: c } : {} } }))}
      columns={[
        ['productCode', 'Code'],
        ['productModel', 'Model'],
        ['productName', 'Name'],
        ['productGroupNamd', 'Group'],
        ['productBrandName', 'Brand'],
        ['isSales', 'Procurable'],
        ['noSalesReason', 'Why not'],
      ]}
    />
  );
}

function PricesLookup() {
  const { client } = useSession();
  return (
    <CodesLookup
      id="live-prices"
      title="Prices"
      hint="Haier's prices now (decimal, as Haier answers them), without touching the catalog."
      label="Product codes (spaces or commas)"
      required
      fetch={(c) => call(client.GET('/api/haier/prices/', { params: { query: { product_codes: c } } }))}
      columns={[
        ['productCode', 'Code'],
        ['supplyPrice', 'Supply'],
        ['invoicePrice', 'Invoice'],
        ['marketPrice', 'Market'],
        ['rebateMoney', 'Rebate'],
        ['stockRebatePolicy', 'Rebate policy'],
        ['isSales', 'Procurable'],
        ['reason', 'Reason'],
      ]}
    />
  );
}

function StockLookup() {
  const { client, me } = useSession();
  const counties = me?.sync_counties ?? [];
  const [code, setCode] = useState('');
  const [county, setCounty] = useState(counties[0] ?? '');
  const m = useLookup(async () => (await call(client.GET('/api/haier/stock/', { params: { query: { product_code: code.trim(), county_code: county.trim() } } }))).data!);
  const s = m.data;
  return (
    <LookupForm
      id="live-stock"
      title="Stock"
      hint="One product's stock in one county: the sum over Haier's warehouses, the best warehouse, and each warehouse's delivery times."
      submit="Look up stock"
      pending={m.isPending}
      error={m.error}
      onSubmit={() => m.mutate()}
      answer={
        s ? (
          <>
            <dl className="answer-list" id="live-stock-summary">
              <div>
                <dt>Product</dt>
                <dd>
                  <Link href={`/catalog/${s.productCode}`}>{s.productCode}</Link>
                </dd>
              </div>
              <div>
                <dt>County</dt>
                <dd>{s.countyCode}</dd>
              </div>
              <div>
                <dt>Stock</dt>
                <dd data-stock="total">{n(s.stock)}</dd>
              </div>
              <div>
                <dt>Best warehouse</dt>
                <dd data-stock="best">{s.bestSecCode || '—'}</dd>
              </div>
            </dl>
            <RecordTable
              id="live-stock-table"
              caption="Warehouses"
              rows={(s.warehouses ?? []).map((w) => ({ secCode: w.secCode, stock: w.stock, warehouseGrade: w.warehouseGrade, ...w.timelinessData }))}
              columns={[
                ['secCode', 'Warehouse'],
                ['stock', 'Stock'],
                ['warehouseGrade', 'Grade'],
                ['cutTime', 'Cut-off time'],
                ['achieveUserOrderCut', 'Before cut-off'],
                ['hour', 'Hours to deliver'],
                ['isTranfer', 'Transfer'],
              ]}
            />
          </>
        ) : null
      }
    >
      <Field id="live-stock-code" label="Product code">
        <input id="live-stock-code" value={code} onChange={(e) => setCode(e.target.value)} required autoComplete="off" spellCheck={false} />
      </Field>
      <Field id="live-stock-county" label={counties.length ? 'County (the server’s SYNC_COUNTIES)' : 'County code (6 digits)'}>
        {counties.length ? (
          <select id="live-stock-county" value={county} onChange={(e) => setCounty(e.target.value)}>
            {counties.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        ) : (
          <input id="live-stock-county" value={county} onChange={(e) => setCounty(e.target.value)} required inputMode="numeric" autoComplete="off" />
        )}
      </Field>
    </LookupForm>
  );
}

function BalanceLookup() {
  const { client } = useSession();
  const m = useLookup(async () => (await call(client.GET('/api/haier/balance/'))).data ?? []);
  return (
    <LookupForm
      id="live-balance"
      title="Balance"
      hint="The payer account's balance per sales group, as Haier holds it now."
      submit="Look up balance"
      pending={m.isPending}
      error={m.error}
      onSubmit={() => m.mutate()}
      answer={
        m.data ? (
          <RecordTable
            id="live-balance-table"
            caption="Balances"
            rows={m.data}
            columns={[
              ['saleGroupCode', 'Sales group'],
              ['saleGroupName', 'Group name'],
              ['payerAccountCode', 'Payer account'],
              ['payerAccountName', 'Account name'],
              ['payerAccountBalance', 'Balance'],
            ]}
          />
        ) : null
      }
    />
  );
}

function LogisticsLookup() {
  const { client } = useSession();
  const [order, setOrder] = useState('');
  const [delivery, setDelivery] = useState('');
  const [member, setMember] = useState('');
  const m = useLookup(async () => {
    const query: { order_code: string; delivery_record_code?: string; member_id?: number } = { order_code: order.trim() };
    if (delivery.trim()) query.delivery_record_code = delivery.trim();
    if (member.trim()) query.member_id = Number(member.trim());
    return (await call(client.GET('/api/haier/logistics/', { params: { query } }))).data!;
  });
  const d = m.data;
  return (
    <LookupForm
      id="live-logistics"
      title="Logistics"
      hint="An order's tracking as Haier's three lists: every logistics step, the delivery records, and the third-party carriers' traces."
      submit="Look up logistics"
      pending={m.isPending}
      error={m.error}
      onSubmit={() => m.mutate()}
      answer={
        d ? (
          <>
            <RecordTable id="live-logistics-steps" caption="Logistics steps" rows={d.getAllLogisticsInfoByOrderCode ?? []} />
            <RecordTable id="live-logistics-deliveries" caption="Delivery records" rows={d.getStockDeliveryLogisticsRecord ?? []} />
            <RecordTable id="live-logistics-carriers" caption="Third-party carriers" rows={d.getStockDeliveryLogisticsRecordThirdparty ?? []} />
          </>
        ) : null
      }
    >
      <Field id="live-logistics-order" label="Order code (e.g. SO.20190106.000003)">
        <input id="live-logistics-order" value={order} onChange={(e) => setOrder(e.target.value)} required autoComplete="off" spellCheck={false} />
      </Field>
      <Field id="live-logistics-delivery" label="Delivery record code (optional)">
        <input id="live-logistics-delivery" value={delivery} onChange={(e) => setDelivery(e.target.value)} autoComplete="off" spellCheck={false} />
      </Field>
      <Field id="live-logistics-member" label="Member id (optional)">
        <input id="live-logistics-member" value={member} onChange={(e) => setMember(e.target.value)} inputMode="numeric" pattern="[0-9]*" autoComplete="off" />
      </Field>
    </LookupForm>
  );
}

export function LivePage() {
  return (
    <>
      <h1>Live lookup at Haier</h1>
      <KeyBudget />
      <div className="grid">
        <ProductsLookup />
        <PricesLookup />
        <StockLookup />
        <BalanceLookup />
        <LogisticsLookup />
      </div>
    </>
  );
}
