// UpsertProducts throughput on a fresh database, beside a raw Postgres baseline.
//
//   (a) 50,000 new products through gRPC UpsertProducts, batches of 500, one batch at a time
//   (b) the same 50,000 again, unchanged: must write 0 rows
//   (c) the same 50,000 with 5% of them changed (a price change each)
//   (d) raw `INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE` of the same rows, same batches,
//       straight to Postgres with pg, into a scratch table shaped like catalog.product
// (a) and (d) alternate batch by batch so that both see the same load on a shared machine; (d0) is
// (d) into a scratch table without the foreign keys to category and brand, for reference.
//
// The catalog server runs in its own process by default (as deployed: the built service,
// `node --require @haier-sync/runtime/telemetry dist/main.js`, gRPC over loopback HTTP/2; run
// `pnpm build` first, which `pnpm bench` does); BENCH_SERVER=inprocess runs it in the bench's process.
// BENCH_PRODUCTS / BENCH_BATCH change the sizes; BENCH_NODE_FLAGS adds node flags to the catalog
// process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"). Besides wall-clock rates it reports the CPU
// time each path used (bench process, catalog process, the Postgres backends serving it, from
// /proc), which does not depend on what else the machine runs. Prints a summary; writes
// bench-results/catalog-upsert-figures.json (from the repo root).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import type { Client } from '@connectrpc/connect';
import { catalog } from '@haier-sync/contracts';
import { createLogger, startGrpcServer } from '@haier-sync/runtime';
import { createTestDatabase, deployedService, freePort, testAuth, testClient, waitFor } from '@haier-sync/runtime/testing';
import { Client as PgClient } from 'pg';
import { buildCatalog } from '../src/catalog';

const TOTAL = Number(process.env.BENCH_PRODUCTS ?? 50_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const MODE = process.env.BENCH_SERVER === 'inprocess' ? 'inprocess' : 'process';
const CHANGED_EVERY = 20; // 5%

const CATEGORIES = ['电热水器', '燃气热水器', '冰箱', '洗衣机', '空调', '冷柜', '油烟机', '燃气灶', '消毒柜', '洗碗机', '净水器', '电视'];
const BRANDS = ['海尔', '卡萨帝', '统帅', '小超人', 'GE'];

interface Spec {
  code: string;
  model: string;
  name: string;
  category: string;
  brand: string;
  image: string;
  pages: string[];
  isSales: boolean;
  reason: string;
  supply: string;
  invoice: string;
  market: string;
  rebate: string;
  money: string;
  rebateType: string;
}

/** Deterministic, realistic-looking products; prices follow invoice = supply × (1 − rebate) − money. */
function makeSpecs(n: number): Spec[] {
  return Array.from({ length: n }, (_, i) => {
    const code = `BN${i.toString(36).toUpperCase().padStart(7, '0')}`;
    const supplyCents = 49_900 + ((i * 7919) % 900_000);
    const rebatePct = i % 4; // 0..3 %
    const moneyCents = (i % 3) * 1000;
    const invoiceCents = Math.round((supplyCents * (100 - rebatePct)) / 100) - moneyCents;
    const cents = (c: number) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
    return {
      code,
      model: `EC${6000 + (i % 900)}-${code.slice(-4)}`,
      name: i % 10 === 0 ? '' : `海尔 ${CATEGORIES[i % CATEGORIES.length]} ${code}`,
      category: CATEGORIES[i % CATEGORIES.length]!,
      brand: BRANDS[i % BRANDS.length]!,
      image: `https://img.haier.example/p/${code}.jpg`,
      pages: [`https://img.haier.example/p/${code}-1.jpg`, `https://img.haier.example/p/${code}-2.jpg`],
      isSales: i % 17 !== 0,
      reason: i % 17 === 0 ? '暂不可采' : '',
      supply: cents(supplyCents),
      invoice: cents(invoiceCents),
      market: cents(supplyCents + 20_000),
      rebate: `0.0${rebatePct}`,
      money: cents(moneyCents),
      rebateType: rebatePct ? 'stock' : '',
    };
  });
}

function toInput(s: Spec): catalog.ProductInput {
  return create(catalog.ProductInputSchema, {
    productCode: s.code,
    productModel: s.model,
    productName: s.name,
    productGroupName: s.category,
    productBrandName: s.brand,
    productImageUrl: s.image,
    productPageUrls: s.pages,
    isSales: s.isSales,
    noSalesReason: s.reason,
    supplyPrice: s.supply,
    invoicePrice: s.invoice,
    marketPrice: s.market,
    stockRebate: s.rebate,
    rebateMoney: s.money,
    rebateType: s.rebateType,
    hasPrices: true,
  });
}

function chunks<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

interface Phase {
  phase: string;
  products: number;
  seconds: number;
  productsPerSecond: number;
  batchMs: { p50: number; p95: number; max: number };
  cpuSeconds?: number;
  cpuSecondsByProcess?: Record<string, number>;
  productsPerCpuSecond?: number;
}

type CpuParts = Record<string, number>;

/** CPU time (ms) of processes by pid, from /proc (utime + stime, clock ticks of 10 ms). */
function procCpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // fields 14 and 15 of the whole line
    } catch {
      // the process is gone: it no longer consumes anything
    }
  }
  return ticks * 10;
}

const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * CPU spent on each path, whatever else the machine runs: the bench process (gRPC client or pg
 * client), the catalog server process, and the Postgres backends serving each path.
 */
class CpuProbe {
  private catalogBackends: number[] = [];
  constructor(
    private readonly pg: PgClient,
    private readonly rawBackend: number,
    private readonly serverPid: number | undefined,
  ) {}
  async refresh(): Promise<void> {
    const r = await this.pg.query<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
    this.catalogBackends = r.rows.map((x) => x.pid);
  }
  catalog = (): CpuParts => ({
    bench: selfCpuMs(),
    ...(this.serverPid ? { catalog: procCpuMs([this.serverPid]) } : {}),
    postgres: procCpuMs(this.catalogBackends),
  });
  raw = (): CpuParts => ({ bench: selfCpuMs(), postgres: procCpuMs([this.rawBackend]) });
}

/** Per-batch latencies (and CPU, when given a probe) of one phase; phases can be interleaved batch by batch. */
class Meter {
  private readonly lat: number[] = [];
  private readonly cpuMs: CpuParts = {};
  constructor(
    readonly phase: string,
    readonly products: number,
    private readonly cpu?: () => CpuParts,
  ) {}
  async time<T>(fn: () => Promise<T>): Promise<T> {
    const c = this.cpu?.();
    const s = performance.now();
    try {
      return await fn();
    } finally {
      this.lat.push(performance.now() - s);
      if (this.cpu && c) for (const [k, v] of Object.entries(this.cpu())) this.cpuMs[k] = (this.cpuMs[k] ?? 0) + v - (c[k] ?? 0);
    }
  }
  result(): Phase {
    const seconds = this.lat.reduce((x, y) => x + y, 0) / 1000;
    const lat = [...this.lat].sort((x, y) => x - y);
    const pct = (p: number) => Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! * 10) / 10;
    const r: Phase = { phase: this.phase, products: this.products, seconds: Math.round(seconds * 1000) / 1000, productsPerSecond: Math.round(this.products / seconds), batchMs: { p50: pct(0.5), p95: pct(0.95), max: pct(1) } };
    let cpu = '';
    if (this.cpu) {
      const total = Object.values(this.cpuMs).reduce((x, y) => x + y, 0);
      r.cpuSeconds = Math.round(total) / 1000;
      r.cpuSecondsByProcess = Object.fromEntries(Object.entries(this.cpuMs).map(([k, v]) => [k, Math.round(v) / 1000]));
      r.productsPerCpuSecond = Math.round(this.products / (total / 1000));
      cpu = `; CPU ${r.cpuSeconds}s (${Object.entries(r.cpuSecondsByProcess).map(([k, v]) => `${k} ${v}`).join(', ')}) = ${r.productsPerCpuSecond} products/CPU-s`;
    }
    console.log(`  ${this.phase.padEnd(46)} ${String(r.productsPerSecond).padStart(7)} products/s  (${r.seconds}s; batch p50 ${r.batchMs.p50} ms, p95 ${r.batchMs.p95} ms${cpu})`);
    return r;
  }
}

async function timed(phase: string, batches: number, products: number, run: (b: number) => Promise<void>, cpu?: () => CpuParts): Promise<Phase> {
  const m = new Meter(phase, products, cpu);
  for (let b = 0; b < batches; b++) await m.time(() => run(b));
  return m.result();
}

async function counts(pg: PgClient) {
  const r = await pg.query<{ products: string; versions: string; log: string; history: string; categories: string; brands: string }>(
    `select (select count(*) from catalog.product)::text as products, (select coalesce(sum(version), 0) from catalog.product)::text as versions,
       (select count(*) from catalog.change_log)::text as log, (select count(*) from catalog.price_history)::text as history,
       (select count(*) from catalog.category)::text as categories, (select count(*) from catalog.brand)::text as brands`,
  );
  const row = r.rows[0]!;
  return { products: Number(row.products), versions: Number(row.versions), log: Number(row.log), history: Number(row.history), categories: Number(row.categories), brands: Number(row.brands) };
}

/** Tuples inserted/updated/deleted in schema catalog as the statistics collector reports them. */
async function tupleWrites(pg: PgClient): Promise<number> {
  const r = await pg.query<{ n: string }>(`select coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)::text as n from pg_stat_user_tables where schemaname = 'catalog'`);
  return Number(r.rows[0]!.n);
}

/** Row versions in schema catalog created by a transaction newer than `xid` (exact, unlike the statistics). */
async function rowsWrittenSince(pg: PgClient, xid: bigint): Promise<number> {
  const tables = ['product', 'product_stock', 'change_log', 'price_history', 'category', 'brand'];
  let n = 0;
  for (const t of tables) {
    const r = await pg.query<{ n: string }>(`select count(*)::text as n from catalog.${t} where xmin::text::bigint >= $1::bigint`, [(xid % 2n ** 32n).toString()]);
    n += Number(r.rows[0]!.n);
  }
  return n;
}

async function startServer(databaseUrl: string): Promise<{ url: string; pid?: number; stop(): Promise<void> }> {
  const logger = createLogger('catalog-bench', { level: 'warn' });
  if (MODE === 'inprocess') {
    const cat = await buildCatalog({ databaseUrl, logger });
    const server = await startGrpcServer({ service: 'catalog', port: 0, host: '127.0.0.1', routes: cat.routes, readiness: cat.readiness, errors: cat.errors, connectionLost: cat.connectionLost, logger });
    return {
      url: server.url,
      async stop() {
        await server.close(1000);
        await cat.close();
      },
    };
  }
  const port = await freePort();
  const { args, cwd } = deployedService(join(__dirname, '..', '..', '..'), 'services/catalog', (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean));
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, ...testAuth().env(), DATABASE_URL: databaseUrl, CATALOG_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  const url = `http://127.0.0.1:${port}`;
  const probe = testClient(catalog.CatalogService, url, { timeoutMs: 2000 });
  await waitFor(
    async () => {
      if (exited) throw new Error('the catalog process exited during start-up');
      try {
        await probe.stats({});
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs: 60_000, intervalMs: 200, what: 'catalog server' },
  );
  return {
    url,
    pid: child.pid,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}

const rawSql = (table: string) => `insert into bench_raw.${table} (code, product_model, name, category_id, brand_id, product_image_url, product_page_urls,
    supply_price, invoice_price, market_price, stock_rebate, rebate_money, rebate_type, is_sales, no_sales_reason, display_price,
    content_hash, last_synced_at)
  select x.*, now() from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::jsonb[], $8::numeric[],
    $9::numeric[], $10::numeric[], $11::numeric[], $12::numeric[], $13::text[], $14::boolean[], $15::text[], $16::numeric[], $17::text[]) as x
  on conflict (code) do update set product_model = excluded.product_model, name = excluded.name, category_id = excluded.category_id,
    brand_id = excluded.brand_id, product_image_url = excluded.product_image_url, product_page_urls = excluded.product_page_urls,
    supply_price = excluded.supply_price, invoice_price = excluded.invoice_price, market_price = excluded.market_price,
    stock_rebate = excluded.stock_rebate, rebate_money = excluded.rebate_money, rebate_type = excluded.rebate_type,
    is_sales = excluded.is_sales, no_sales_reason = excluded.no_sales_reason, display_price = excluded.display_price,
    content_hash = excluded.content_hash, version = bench_raw.${table}.version + 1, last_synced_at = now(), updated_at = now()`;

/**
 * (d): the same rows as typed arrays, one statement per batch, into a scratch copy of
 * catalog.product: same columns, defaults, checks and indexes, and (unless `foreignKeys` is
 * false) the same foreign keys to catalog.category and catalog.brand.
 */
class RawBaseline {
  private readonly cat = new Map<string, string>();
  private readonly brand = new Map<string, string>();
  private readonly sql: string;
  constructor(
    private readonly pg: PgClient,
    private readonly table: string,
    private readonly foreignKeys: boolean,
  ) {
    this.sql = rawSql(table);
  }

  async setup(): Promise<void> {
    await this.pg.query(`create schema if not exists bench_raw`);
    await this.pg.query(`drop table if exists bench_raw.${this.table}`);
    await this.pg.query(`create table bench_raw.${this.table} (like catalog.product including defaults including constraints including indexes)`);
    if (this.foreignKeys) {
      await this.pg.query(`alter table bench_raw.${this.table} add foreign key (category_id) references catalog.category(id), add foreign key (brand_id) references catalog.brand(id)`);
    }
  }

  /** Category and brand ids as the catalog assigned them (untimed: (d) gets ids for free). */
  async ids(rows: readonly Spec[]): Promise<void> {
    if (rows.every((s) => this.cat.has(s.category) && this.brand.has(s.brand))) return;
    for (const [t, m] of [['category', this.cat], ['brand', this.brand]] as const) {
      for (const r of (await this.pg.query<{ id: string; name: string }>(`select id::text as id, name from catalog.${t}`)).rows) m.set(r.name, r.id);
    }
  }

  async write(rows: readonly Spec[]): Promise<void> {
    const col = <T>(f: (s: Spec) => T) => rows.map(f);
    await this.pg.query(this.sql, [
      col((s) => s.code),
      col((s) => s.model),
      col((s) => s.name || s.model || s.code),
      col((s) => this.cat.get(s.category) ?? null),
      col((s) => this.brand.get(s.brand) ?? null),
      col((s) => s.image),
      col((s) => JSON.stringify(s.pages)),
      col((s) => s.supply),
      col((s) => s.invoice),
      col((s) => s.market),
      col((s) => s.rebate),
      col((s) => s.money),
      col((s) => s.rebateType),
      col((s) => s.isSales),
      col((s) => s.reason),
      col((s) => s.supply),
      col((s) => s.code.toLowerCase().padEnd(64, '0')),
    ]);
  }

  async finish(expected: number): Promise<void> {
    const n = await this.pg.query<{ n: string }>(`select count(*)::text as n from bench_raw.${this.table}`);
    if (Number(n.rows[0]!.n) !== expected) throw new Error(`raw baseline stored ${n.rows[0]!.n} rows, expected ${expected}`);
    await this.pg.query(`drop table bench_raw.${this.table}`);
  }
}

async function main(): Promise<void> {
  console.log(`catalog upsert bench: ${TOTAL} products, batches of ${BATCH}, catalog server ${MODE === 'process' ? 'in its own process' : 'in the bench process'}, gRPC over loopback`);
  const db = await createTestDatabase('hs_bench_catalog');
  let server: { url: string; pid?: number; stop(): Promise<void> } | undefined;
  const pg = new PgClient({ connectionString: db.url });
  try {
    server = await startServer(db.url);
    await pg.connect();
    const client: Client<typeof catalog.CatalogService> = testClient(catalog.CatalogService, server.url, { timeoutMs: 120_000 }); // signs as the orchestrator, as deployed
    const specs = makeSpecs(TOTAL);
    const inputs = chunks(specs.map(toInput), BATCH);
    const send = async (batch: catalog.ProductInput[], runId: string) => client.upsertProducts({ products: batch, runId });
    // warm-up (JIT, connection pools) on codes outside the measured set, removed afterwards
    for (let w = 0; w < 3; w++) await send(makeSpecs(BATCH).map((s) => toInput({ ...s, code: `WARM${w}-${s.code}` })), 'warm-up');
    await pg.query(`alter table catalog.change_log disable trigger change_log_append_only`);
    await pg.query(`delete from catalog.change_log where product_code like 'WARM%'; delete from catalog.product where code like 'WARM%'`);
    await pg.query(`alter table catalog.change_log enable trigger change_log_append_only`);
    await pg.query(`vacuum analyze`);

    const checks: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok) throw new Error(`bench check failed: ${what}`);
      checks.push(what);
    };

    // (a) and (d) run interleaved batch by batch, so both see the same machine load
    console.log('');
    const raw = new RawBaseline(pg, 'product', true);
    const rawNoFk = new RawBaseline(pg, 'product_nofk', false);
    await raw.setup();
    await rawNoFk.setup();
    const specBatches = chunks(specs, BATCH);
    const rawBackend = (await pg.query<{ pid: number }>(`select pg_backend_pid() as pid`)).rows[0]!.pid;
    const probe = new CpuProbe(pg, rawBackend, server.pid);
    const meterA = new Meter(`(a) UpsertProducts, ${TOTAL} new (gRPC)`, TOTAL, probe.catalog);
    const meterD = new Meter('(d) raw unnest insert … on conflict (pg)', TOTAL, probe.raw);
    const meterD0 = new Meter('(d0) same, scratch table without foreign keys', TOTAL, probe.raw);
    let created = 0;
    for (let i = 0; i < inputs.length; i++) {
      await probe.refresh();
      created += (await meterA.time(() => send(inputs[i]!, 'bench-a'))).created;
      await raw.ids(specBatches[i]!);
      await rawNoFk.ids(specBatches[i]!);
      await meterD.time(() => raw.write(specBatches[i]!));
      await meterD0.time(() => rawNoFk.write(specBatches[i]!));
    }
    const a = meterA.result();
    const d = meterD.result();
    const d0 = meterD0.result();
    await raw.finish(TOTAL);
    await rawNoFk.finish(TOTAL);
    await pg.query(`drop schema bench_raw cascade`);
    const afterA = await counts(pg);
    check(created === TOTAL && afterA.products === TOTAL && afterA.log === TOTAL && afterA.versions === TOTAL, `(a) created ${TOTAL} products, ${TOTAL} change-log rows, every version 1`);
    await pg.query(`vacuum analyze`);

    await new Promise((r) => setTimeout(r, 11_000)); // backends flush statistics within 10 s when idle
    const tuplesBefore = await tupleWrites(pg);
    const xid = BigInt((await pg.query<{ x: string }>(`select txid_current()::text as x`)).rows[0]!.x);
    let unchanged = 0;
    const b = await timed(`(b) UpsertProducts, same ${TOTAL} unchanged`, inputs.length, TOTAL, async (i) => {
      unchanged += (await send(inputs[i]!, 'bench-b')).unchanged;
    }, probe.catalog);
    await new Promise((r) => setTimeout(r, 11_000));
    const afterB = await counts(pg);
    const tupleDelta = (await tupleWrites(pg)) - tuplesBefore;
    const written = await rowsWrittenSince(pg, xid);
    check(unchanged === TOTAL, `(b) all ${TOTAL} answered unchanged`);
    check(afterB.log === afterA.log && afterB.versions === afterA.versions && afterB.history === afterA.history, '(b) change log, price history and versions untouched');
    check(written === 0, `(b) 0 row versions written in schema catalog (xmin), got ${written}`);
    check(tupleDelta === 0, `(b) 0 tuples inserted/updated/deleted (pg_stat_user_tables), got ${tupleDelta}`);

    const changedSpecs = specs.map((s, i) => (i % CHANGED_EVERY === 0 ? { ...s, supply: `${s.supply.split('.')[0]}.99`, market: `${Number(s.market.split('.')[0]) + 1}.00` } : s));
    const changedInputs = chunks(changedSpecs.map(toInput), BATCH);
    const expectChanged = Math.ceil(TOTAL / CHANGED_EVERY);
    let updated = 0;
    const c = await timed('(c) UpsertProducts, 5% changed', changedInputs.length, TOTAL, async (i) => {
      updated += (await send(changedInputs[i]!, 'bench-c')).updated;
    }, probe.catalog);
    const afterC = await counts(pg);
    check(updated === expectChanged, `(c) ${expectChanged} updated`);
    check(afterC.log - afterB.log === expectChanged && afterC.versions - afterB.versions === expectChanged, `(c) one change-log row and one version bump per changed product`);

    const ratio = Math.round((a.productsPerSecond / d.productsPerSecond) * 100) / 100;
    const ratioNoFk = Math.round((a.productsPerSecond / d0.productsPerSecond) * 100) / 100;
    const ratioCpu = Math.round(((a.productsPerCpuSecond ?? 0) / (d.productsPerCpuSecond ?? 1)) * 100) / 100;
    console.log('');
    console.log(`  ratio (a)/(d) = ${ratio}  (target >= 0.5) ${ratio >= 0.5 ? 'MET' : 'BELOW TARGET'};  (a)/(d0) without foreign keys = ${ratioNoFk}`);
    console.log(`  by CPU time (load-independent): (a)/(d) = ${ratioCpu}`);
    console.log(`  (b) wrote 0 rows: ${written} row versions (xmin), ${tupleDelta} tuples (pg_stat), change log +${afterB.log - afterA.log}`);
    console.log(`  checks passed: ${checks.length}`);
    const figures = {
      bench: 'catalog-upsert',
      at: new Date().toISOString(),
      products: TOTAL,
      batch: BATCH,
      server: MODE,
      phases: [a, b, c, d, d0],
      interleaved: 'a, d and d0 alternate batch by batch',
      ratioAtoD: ratio,
      ratioAtoDWithoutForeignKeys: ratioNoFk,
      ratioAtoDByCpuTime: ratioCpu,
      loadAverage: (await import('node:os')).loadavg(),
      target: 0.5,
      unchangedWrites: { rowVersions: written, statTuples: tupleDelta, changeLogRows: afterB.log - afterA.log },
      changed: { expected: expectChanged, updated, changeLogRows: afterC.log - afterB.log, priceHistoryRows: afterC.history - afterB.history },
      checks,
    };
    const dir = join(__dirname, '..', '..', '..', 'bench-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `catalog-upsert-figures${MODE === 'inprocess' ? '-inprocess' : ''}.json`), JSON.stringify(figures, null, 2));
    console.log(JSON.stringify({ ratioAtoD: ratio, ratioAtoD0: ratioNoFk, ratioByCpu: ratioCpu, perSecond: Object.fromEntries(figures.phases.map((p) => [p.phase.split(' ')[0], p.productsPerSecond])) }));
  } finally {
    await pg.end().catch(() => undefined);
    await server?.stop();
    await db.drop();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
