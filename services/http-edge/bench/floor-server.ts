// The read benchmark's floor (bench only, never deployed): a minimal Fastify server that runs the
// catalog's own SQL for the two reads on the same database through `pg`, and answers the rows as
// JSON. No auth, no audit, no gRPC hop, no schema serialization, no ETag: what a catalog read
// costs at the least over HTTP on this machine. reads.bench.ts starts it as its own process.
//
//   FLOOR_PORT=… DATABASE_URL=… node --import tsx services/http-edge/bench/floor-server.ts
//
// The SQL is copied (not imported: a service never imports another's code) from
// services/catalog/src/product-queries.ts — getProduct (the product, then its stock rows) and
// listProducts with a category filter, default sort (code ascending), delisted left out — with
// PRODUCT_SELECT / PRODUCT_FROM of services/catalog/src/sql.ts and STOCK_SELECT of
// services/catalog/src/stock.ts expanded as they are today. When those change, copy them again.
import Fastify from 'fastify';
import { Pool } from 'pg';

const PRODUCT_SELECT =
  "p.code as code, p.product_model as product_model, p.name as name, coalesce(c.name, '') as category, coalesce(b.name, '') as brand, p.product_image_url as product_image_url, p.product_page_urls as product_page_urls, p.is_sales as is_sales, p.no_sales_reason as no_sales_reason, p.supply_price::text as supply_price, p.invoice_price::text as invoice_price, p.market_price::text as market_price, p.stock_rebate::text as stock_rebate, p.rebate_money::text as rebate_money, p.rebate_type as rebate_type, p.price_reason as price_reason, p.display_price::text as display_price, p.pinned_price::text as pinned_price, p.stock::text as stock, p.version::text as version, p.content_hash as content_hash, p.first_seen_at as first_seen_at, p.last_synced_at as last_synced_at, p.delisted_at as delisted_at, p.updated_at as updated_at";
const PRODUCT_FROM = 'catalog.product p left join catalog.category c on c.id = p.category_id left join catalog.brand b on b.id = p.brand_id';
const STOCK_SELECT =
  's.product_code as code, s.county_code as county_code, s.quantity::text as quantity, s.best_sec_code as best_sec_code, s.best_warehouse_grade as best_warehouse_grade, s.cut_time as cut_time, s.achieve_user_order_cut as achieve_user_order_cut, s.hour as hour';

// getProduct
const PRODUCT_SQL = `select ${PRODUCT_SELECT} from ${PRODUCT_FROM} where p.code = $1`;
const STOCK_SQL = `select ${STOCK_SELECT}, s.updated_at from catalog.product_stock s where s.product_code = $1 order by s.county_code`;
// listProducts({ category, sort: 'code', descending: false, pageSize }): page_size + 1 rows (the extra one says another page follows)
const LIST_SQL = `select ${PRODUCT_SELECT}, (p.code)::text as sort_key from ${PRODUCT_FROM}
     where p.delisted_at is null and c.name = $1
     order by p.code asc, p.code asc limit $2`;

async function main(): Promise<void> {
  // the catalog's pool size (the runtime's initOrm default)
  const pool = new Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  const app = Fastify({ logger: false });

  app.get<{ Params: { code: string } }>('/product/:code', async (req, reply) => {
    const { rows } = await pool.query(PRODUCT_SQL, [req.params.code]);
    if (!rows[0]) return reply.status(404).send({ success: false });
    const stock = await pool.query(STOCK_SQL, [req.params.code]);
    return { success: true, data: { ...rows[0], stock: stock.rows } };
  });

  app.get<{ Querystring: { category?: string; page_size?: string } }>('/products', async (req) => {
    const size = Number(req.query.page_size ?? 50);
    const { rows } = await pool.query(LIST_SQL, [req.query.category ?? '', size + 1]);
    return { success: true, count: Math.min(size, rows.length), has_more: rows.length > size, results: rows.slice(0, size) };
  });

  const port = Number(process.env.FLOOR_PORT ?? 0);
  await app.listen({ port, host: '127.0.0.1' });
  process.stdout.write(`floor listening on ${port}\n`);
  const stop = () => void app.close().then(() => pool.end()).then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main().catch((err: unknown) => {
  process.stderr.write(`floor server failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
