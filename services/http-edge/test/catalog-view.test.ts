// The REST view of a catalog product is derived from catalog.Product: every field, snake_case,
// decimals as strings, int64 as numbers, times ISO UTC, unset optionals as null.
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { catalog } from '@haier-sync/contracts';
import { catalogProductSchema, productOut } from '../src/domain/catalog-view';

const at = new Date('2026-11-30T08:00:00.000Z');

describe('catalog product view', () => {
  test('renders every Product field but content_hash, and the schema describes exactly those', () => {
    const p = create(catalog.ProductSchema, {
      productCode: 'GA0SZC00U',
      productModel: 'EC6001-HT3',
      name: '海尔 电热水器',
      productImageUrl: 'https://img.example/a.jpg',
      productPageUrls: ['https://img.example/1.jpg'],
      supplyPrice: '1299.5',
      invoicePrice: '1200',
      rebateType: 'stock',
      isSales: true,
      displayPrice: '1299.5',
      category: '电热水器',
      brand: '海尔',
      stock: 12n,
      version: 3n,
      contentHash: 'abc',
      firstSeenAt: timestampFromDate(at),
      updatedAt: timestampFromDate(at),
      countyStock: [create(catalog.CountyStockSchema, { countyCode: '110101', quantity: 12n, bestSecCode: 'W1', hour: '24', updatedAt: timestampFromDate(at) })],
    });
    const out = productOut(p);
    expect(out).toMatchObject({
      product_code: 'GA0SZC00U',
      product_page_urls: ['https://img.example/1.jpg'],
      supply_price: '1299.5',
      market_price: null,
      pinned_price: null,
      rebate_type: 'stock',
      is_sales: true,
      stock: 12,
      version: 3,
      first_seen_at: '2026-11-30T08:00:00.000Z',
      delisted_at: null,
      county_stock: [{ county_code: '110101', quantity: 12, best_sec_code: 'W1', best_warehouse_grade: '', cut_time: '', achieve_user_order_cut: '', hour: '24', updated_at: '2026-11-30T08:00:00.000Z' }],
    });
    expect(out).not.toHaveProperty('content_hash');
    const expected = catalog.ProductSchema.fields.map((f) => f.name).filter((n) => n !== 'content_hash');
    expect(Object.keys(out)).toEqual(expected);
    const props = (catalogProductSchema as { properties: Record<string, { type: unknown }> }).properties;
    expect(Object.keys(props)).toEqual(expected);
    expect(props['supply_price']).toEqual({ type: ['string', 'null'] });
    expect(props['rebate_type']).toEqual({ type: 'string' });
    expect(props['stock']).toEqual({ type: ['integer', 'null'] });
    expect(props['version']).toEqual({ type: 'integer' });
    expect(props['updated_at']).toEqual({ type: ['string', 'null'] });
  });
});
