// The one description of the catalog.product row: every column once, in order, with its Postgres
// type and its role. The bulk SQL (reads, the batch write, the change-log snapshot), change
// detection, the content hash and the protobuf mapping all take their column lists from here;
// the row types below are derived from it. The wire shapes (ProductInput, Product) come from
// proto/haiersync/catalog/v1/catalog.proto; the table itself from the migrations.

/**
 * Roles: `listing` = what Haier's product listing says (synced); `price` = what Haier's price
 * answer says (synced; unset in an input without prices means "keep what is stored");
 * `derived` = computed from the synced fields; `operator` = set by an operator; `stock` = set by
 * UpdateStock; `image` = set by UpsertImages (the mirrored images); `meta` = bookkeeping.
 */
export type Role = 'key' | 'listing' | 'price' | 'derived' | 'operator' | 'stock' | 'image' | 'meta';
export type PgType = 'text' | 'varchar' | 'numeric' | 'jsonb' | 'boolean' | 'bigint' | 'timestamptz';

export interface Column {
  pg: PgType;
  role: Role;
  nullable?: true;
  /**
   * Hashed only when set (not '' / null): for a synced field added after products were stored,
   * so that adding it leaves the stored content hashes valid. Set it on every synced field you add.
   */
  hashWhenSet?: true;
  /** Stored as an id into this name table (category/brand), read back as the name. */
  nameTable?: 'category' | 'brand';
}

const c = <const T extends Column>(col: T): T => col;

/** catalog.product, in the order reads return it. */
export const PRODUCT_TABLE = {
  code: c({ pg: 'text', role: 'key' }),
  product_model: c({ pg: 'text', role: 'listing' }),
  name: c({ pg: 'text', role: 'listing' }),
  category: c({ pg: 'text', role: 'listing', nameTable: 'category' }),
  brand: c({ pg: 'text', role: 'listing', nameTable: 'brand' }),
  product_image_url: c({ pg: 'text', role: 'listing' }),
  product_page_urls: c({ pg: 'jsonb', role: 'listing' }),
  is_sales: c({ pg: 'boolean', role: 'listing' }),
  no_sales_reason: c({ pg: 'varchar', role: 'listing' }), // varchar(500): NO_SALES_REASON_MAX
  supply_price: c({ pg: 'numeric', role: 'price', nullable: true }),
  invoice_price: c({ pg: 'numeric', role: 'price', nullable: true }),
  market_price: c({ pg: 'numeric', role: 'price', nullable: true }),
  stock_rebate: c({ pg: 'numeric', role: 'price', nullable: true }),
  rebate_money: c({ pg: 'numeric', role: 'price', nullable: true }),
  rebate_type: c({ pg: 'text', role: 'price' }),
  price_reason: c({ pg: 'text', role: 'price', hashWhenSet: true }),
  display_price: c({ pg: 'numeric', role: 'derived', nullable: true }),
  pinned_price: c({ pg: 'numeric', role: 'operator', nullable: true }),
  stock: c({ pg: 'bigint', role: 'stock', nullable: true }),
  images: c({ pg: 'jsonb', role: 'image' }),
  version: c({ pg: 'bigint', role: 'meta' }),
  content_hash: c({ pg: 'text', role: 'meta' }),
  first_seen_at: c({ pg: 'timestamptz', role: 'meta' }),
  last_synced_at: c({ pg: 'timestamptz', role: 'meta', nullable: true }),
  delisted_at: c({ pg: 'timestamptz', role: 'meta', nullable: true }),
  updated_at: c({ pg: 'timestamptz', role: 'meta' }),
  /** Set by every write that carries prices, changed or not (upsert-products.ts). */
  price_checked_at: c({ pg: 'timestamptz', role: 'meta', nullable: true }),
  /** Set by every UpdateStock that carries the product's entries, changed or not (update-stock.ts). */
  stock_checked_at: c({ pg: 'timestamptz', role: 'meta', nullable: true }),
} as const satisfies Record<string, Column>;

type Table = typeof PRODUCT_TABLE;
export type ProductColumn = keyof Table;

/** How a column reads back through `query` (numeric and bigint as exact text). */
/** One entry of product.images (camelCase keys: the fields of catalog.ProductImage, as toProduct passes them on). */
export interface StoredProductImage {
  position: number;
  storageKey: string;
  sha256: string;
  contentType: string;
  bytes: number;
  width: number;
  height: number;
}

type ValueOf<C extends Column> = C['role'] extends 'image'
  ? StoredProductImage[]
  : C['pg'] extends 'numeric' | 'bigint'
  ? string | (C extends { nullable: true } ? null : never)
  : C['pg'] extends 'timestamptz'
    ? Date | string | (C extends { nullable: true } ? null : never)
    : C['pg'] extends 'boolean'
      ? boolean
      : C['pg'] extends 'jsonb'
        ? string[]
        : string;

type ColumnsWith<R extends Role> = { [K in ProductColumn]: Table[K]['role'] extends R ? K : never }[ProductColumn];
export type RowOf<K extends ProductColumn> = { [P in K]: ValueOf<Table[P]> };

/** A product as every read returns it (decimals and bigints as text). */
export type ProductRow = RowOf<ProductColumn>;
/** What Haier's listing says about a product (normalised). */
export type Descriptive = RowOf<ColumnsWith<'listing'>>;
/** What Haier's price answer says (normalised; decimals canonical). */
export type Prices = RowOf<ColumnsWith<'price'>>;

const names = Object.keys(PRODUCT_TABLE) as ProductColumn[];
const withRole = <R extends Role>(...roles: R[]) => names.filter((n) => (roles as Role[]).includes(PRODUCT_TABLE[n].role)) as ColumnsWith<R>[];

export const LISTING_FIELDS = withRole('listing');
export const PRICE_COLUMNS = withRole('price');
/** The fields a sync owns, in content-hash order. */
export const SYNCED_FIELDS = withRole('listing', 'price');
/** Every decimal column. */
export const DECIMAL_COLUMNS = names.filter((n) => PRODUCT_TABLE[n].pg === 'numeric');
/** Haier's decimal prices: recorded in price history when they change. */
export const PRICE_FIELDS = PRICE_COLUMNS.filter((n) => PRODUCT_TABLE[n].pg === 'numeric');
export const isHashedWhenSet = (n: ProductColumn): boolean => 'hashWhenSet' in PRODUCT_TABLE[n];

/** The select expression of a column, with `p` the product row (names through c and b). */
export function readExpr(n: ProductColumn, alias = 'p'): string {
  const col: Column = PRODUCT_TABLE[n];
  if (col.nameTable) return `coalesce(${col.nameTable === 'category' ? 'c' : 'b'}.name, '')`;
  return col.pg === 'numeric' || col.pg === 'bigint' ? `${alias}.${n}::text` : `${alias}.${n}`;
}

/** The stored column a synced field is written to (a name table's id column for category/brand). */
export const storedColumn = (n: ProductColumn): string => (PRODUCT_TABLE[n] as Column).nameTable ? `${n}_id` : n;
/** The Postgres type a field is written as (bigint ids for category/brand). */
export const writeType = (n: ProductColumn): string => ((PRODUCT_TABLE[n] as Column).nameTable ? 'bigint' : PRODUCT_TABLE[n].pg);

/** snake_case column -> the camelCase name protobuf-es gives the same proto field. */
export const protoName = (n: string): string => n.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
