import { createHash } from 'node:crypto';
import { contentHash, decide, mergeInput, type StoredState } from '../src/change-detection';
import { decodeCursor, encodeCursor } from '../src/cursor';
import { DecimalError, compareDecimals, decimalEquals, fromScaled, canonicalDecimal, toScaled } from '../src/stored-decimal';
import { displayPrice } from '../src/display-price';
import { BatchRejection, isFailure, normaliseProducts, type ProductInputData } from '../src/product-input';
import { aggregateStock } from '../src/stock';

function input(over: Partial<ProductInputData> = {}): ProductInputData {
  return {
    productCode: 'GA0SZC00U',
    productModel: 'EC6001-HT3',
    productName: '',
    productGroupName: '电热水器',
    productBrandName: '海尔',
    productImageUrl: 'https://img.example/a.jpg',
    productPageUrls: ['https://img.example/p1.jpg'],
    isSales: true,
    noSalesReason: '',
    supplyPrice: '1299.50',
    invoicePrice: '1200',
    hasPrices: true,
    pricesOnly: false,
    ...over,
  };
}

function stored(over: Partial<StoredState> = {}): StoredState {
  const [n] = normaliseProducts([input()]).items;
  const state = mergeInput(n!, null);
  return { ...state, code: 'GA0SZC00U', pinned_price: null, display_price: displayPrice(state, null), version: 3, content_hash: contentHash(state), ...over };
}

describe('decimal', () => {
  it('normalises by value and rejects what is not a decimal', () => {
    expect(canonicalDecimal('12.50')).toBe('12.5');
    expect(canonicalDecimal('0012.0000')).toBe('12');
    expect(canonicalDecimal('-0.0')).toBe('0');
    expect(canonicalDecimal('12345678901234.5678')).toBe('12345678901234.5678');
    expect(() => canonicalDecimal('1e3')).toThrow(DecimalError);
    expect(() => canonicalDecimal('12,5')).toThrow(DecimalError);
    expect(() => canonicalDecimal('.')).toThrow(DecimalError);
    expect(() => canonicalDecimal('1.23456')).toThrow(/decimal places/);
    expect(() => canonicalDecimal('12345678901234567')).toThrow(/too large/);
  });
  it('does exact scaled arithmetic', () => {
    expect(toScaled('0.1') + toScaled('0.2')).toBe(toScaled('0.3'));
    expect(fromScaled(toScaled('-1.05'))).toBe('-1.05');
    expect(decimalEquals('12.50', '12.5')).toBe(true);
    expect(decimalEquals(null, '0')).toBe(false);
    expect(compareDecimals('9.99', '10')).toBe(-1);
  });
});

describe('content hash', () => {
  it('a synced field added later (hashWhenSet) leaves the hash of products without it as it was', () => {
    const [n] = normaliseProducts([input()]).items;
    const state = mergeInput(n!, null);
    expect(state.price_reason).toBe('');
    // the hash as stored before price_reason existed: the 14 original synced fields in order
    const before = [state.product_model, state.name, state.category, state.brand, state.product_image_url, state.product_page_urls, state.is_sales,
      state.no_sales_reason, state.supply_price, state.invoice_price, state.market_price, state.stock_rebate, state.rebate_money, state.rebate_type];
    expect(contentHash(state)).toBe(createHash('sha256').update(JSON.stringify(before)).digest('hex'));
    expect(contentHash({ ...state, price_reason: '价格未生效' })).not.toBe(contentHash(state));
  });
});

describe('normaliseProducts', () => {
  it('maps name with fallbacks, blanks a bad image URL with a warning, truncates the reason', () => {
    const r = normaliseProducts([
      input({ productCode: 'A', productName: 'Named' }),
      input({ productCode: 'B', productImageUrl: 'ftp://x/y.jpg' }),
      input({ productCode: 'C', productModel: '', noSalesReason: 'x'.repeat(600) }),
    ]);
    expect(r.items.map((i) => i.name)).toEqual(['Named', 'EC6001-HT3', 'C']);
    expect(r.items[1]!.product_image_url).toBe('');
    expect([...r.warnings]).toEqual([['B', 'product_image_url is not an http(s) URL; stored as empty']]);
    expect(r.items[2]!.no_sales_reason).toHaveLength(500);
  });
  it('fails an empty code, a malformed decimal and every copy of a duplicate on their own, and rejects an oversized batch', () => {
    const r = normaliseProducts([
      input({ productCode: 'X1' }),
      input({ productCode: ' ' }),
      input({ productCode: 'X2', supplyPrice: '12.5.0' }),
      input({ productCode: 'D1' }),
      input({ productCode: 'X3' }),
      input({ productCode: 'D1' }),
    ]);
    expect(r.items.map((i) => i.code)).toEqual(['X1', 'X3']);
    expect(r.slots.filter(isFailure)).toEqual([
      { index: 1, code: '', reason: "item 1: product_code is empty; every product needs Haier's productCode" },
      { index: 2, code: 'X2', reason: expect.stringMatching(/^supply_price "12\.5\.0" is not a decimal number .*; fix the value in Haier's price answer or leave it unset/) },
      { index: 3, code: 'D1', reason: 'product_code "D1" is sent 2 times in this batch (items 3, 5); none of them was written: send each product once' },
      { index: 5, code: 'D1', reason: 'product_code "D1" is sent 2 times in this batch (items 3, 5); none of them was written: send each product once' },
    ]);
    expect(r.slots.map((s) => (isFailure(s) ? `!${s.index}` : s.code))).toEqual(['X1', '!1', '!2', '!3', 'X3', '!5']);
    expect(() => normaliseProducts(Array.from({ length: 1001 }, (_, i) => input({ productCode: `C${i}` })))).toThrow(BatchRejection);
    expect(() => normaliseProducts(Array.from({ length: 1001 }, (_, i) => input({ productCode: `C${i}` })))).toThrow(/limit of 1000/);
  });
});

describe('display price priority', () => {
  const none = { supply_price: null, invoice_price: null, market_price: null };
  it('pinned > supply > invoice > market', () => {
    expect(displayPrice({ supply_price: '10', invoice_price: '9', market_price: '12' }, '15')).toBe('15');
    expect(displayPrice({ supply_price: '10', invoice_price: '9', market_price: '12' }, null)).toBe('10');
    expect(displayPrice({ ...none, invoice_price: '9', market_price: '12' }, null)).toBe('9');
    expect(displayPrice({ ...none, market_price: '12' }, null)).toBe('12');
    expect(displayPrice(none, null)).toBeNull();
  });
});

describe('decide (change detection)', () => {
  it('same values (decimals by value) are unchanged', () => {
    const [n] = normaliseProducts([input({ supplyPrice: '1299.5000' })]).items;
    expect(decide(n!, stored())).toEqual({ outcome: 'unchanged', code: 'GA0SZC00U', version: 3 });
  });
  it('names exactly the changed field and bumps the version', () => {
    const [n] = normaliseProducts([input({ productImageUrl: 'https://img.example/b.jpg' })]).items;
    const d = decide(n!, stored());
    expect(d.outcome).toBe('updated');
    if (d.outcome !== 'updated') return;
    expect(d.fields).toEqual([{ field: 'product_image_url', before: '"https://img.example/a.jpg"', after: '"https://img.example/b.jpg"' }]);
    expect(d.kind).toBe('updated');
    expect(d.version).toBe(4);
  });
  it('a price-only change is price_changed and moves the display price', () => {
    const [n] = normaliseProducts([input({ supplyPrice: '1199' })]).items;
    const d = decide(n!, stored());
    expect(d.outcome === 'updated' && d.kind).toBe('price_changed');
    expect(d.outcome === 'updated' && d.fields.map((f) => f.field)).toEqual(['supply_price', 'display_price']);
  });
  it('has_prices=false keeps the stored prices; a pin is never overwritten', () => {
    const [n] = normaliseProducts([input({ hasPrices: false, supplyPrice: undefined, invoicePrice: undefined })]).items;
    expect(decide(n!, stored()).outcome).toBe('unchanged');
    const [m] = normaliseProducts([input({ supplyPrice: '1000' })]).items;
    const d = decide(m!, stored({ pinned_price: '1500', display_price: '1500' }));
    expect(d.outcome === 'updated' && d.display_price).toBe('1500');
    expect(d.outcome === 'updated' && d.fields.map((f) => f.field)).toEqual(['supply_price']);
  });
  it('has_prices=true with unset prices clears them', () => {
    const [n] = normaliseProducts([input({ supplyPrice: undefined, invoicePrice: undefined })]).items;
    const d = decide(n!, stored());
    expect(d.outcome === 'updated' && d.fields.map((f) => `${f.field}:${f.after}`)).toEqual(['supply_price:null', 'invoice_price:null', 'display_price:null']);
  });
});

describe('aggregateStock', () => {
  const w = (sec: string, q: bigint, county = '110101', code = 'P') => ({ productCode: code, countyCode: county, quantity: q, bestSecCode: sec, bestWarehouseGrade: '0', cutTime: '', achieveUserOrderCut: '', hour: '' });

  it('sums warehouses per product and county and keeps the best warehouse', () => {
    const r = aggregateStock([w('HFR1', 5n), w('HFR2', 30n), w('HFR3', 7n), w('X', 2n, '310101')]);
    expect(r.entries).toEqual([
      expect.objectContaining({ code: 'P', county_code: '110101', quantity: '42', best_sec_code: 'HFR2' }),
      expect.objectContaining({ code: 'P', county_code: '310101', quantity: '2', best_sec_code: 'X' }),
    ]);
    expect(r.failures.size).toBe(0);
  });

  it('fails a product with a bad entry alone (none of its counties kept) and keeps the others', () => {
    const r = aggregateStock([w('A1', 1n, '110101', 'A'), w('A2', -1n, '310101', 'A'), w('B1', 3n, '1101', 'B'), w('C1', 4n, '110101', 'C'), w('E', 1n, '110101', ' ')]);
    expect(r.entries.map((e) => [e.code, e.county_code, e.quantity])).toEqual([['C', '110101', '4']]);
    expect([...r.failures]).toEqual([
      ['A', 'item 1: quantity -1 is negative; check the stock Haier sent'],
      ['B', 'item 2: county_code "1101" is not a county code: 6 digits, the national county code (e.g. 110101); check the county the stock was asked for'],
      ['', "item 4: product_code is empty; every stock entry needs Haier's productCode"],
    ]);
  });

  it('rejects only a batch over the size limit as a whole', () => {
    expect(() => aggregateStock([w('A', 1n), w('B', 1n)], 1)).toThrow(/batch of 2 stock entries is larger than the limit of 1/);
  });
});

describe('cursor', () => {
  it('round-trips and refuses a cursor from another sort or garbage', () => {
    const c = encodeCursor({ sort: 'name', desc: false, key: '海尔 A', code: 'X' });
    expect(decodeCursor(c, 'name', false)).toEqual({ sort: 'name', desc: false, key: '海尔 A', code: 'X' });
    expect(() => decodeCursor(c, 'code', false)).toThrow(BatchRejection);
    expect(() => decodeCursor('!!notbase64', 'name', false)).toThrow(BatchRejection);
  });
});

describe('cursor: a tampered or foreign cursor is refused before it reaches SQL', () => {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url');
  test.each([
    ['display_price', ['display_price', false, 'abc', 'X'], 'not a price'],
    ['display_price', ['display_price', false, null, 'X'], 'missing'],
    ['stock', ['stock', false, '9223372036854775808', 'X'], 'not a stock count'],
    ['stock', ['stock', false, '1.5', 'X'], 'not a stock count'],
    ['updated_at', ['updated_at', false, '2026-02-30 10:00:00+00', 'X'], 'not a time'],
    ['updated_at', ['updated_at', false, 'yesterday', 'X'], 'not a time'],
    ['code', ['code', false, 'A\u0000', 'X'], 'no product has'],
    ['code', ['code', false, 'A', 'X\u0000'], 'no product has'],
  ])('%s cursor %j', (sort, content, why) => {
    let err: unknown;
    try {
      decodeCursor(b64(content), sort, false);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BatchRejection);
    expect((err as BatchRejection).message).toContain(why);
    expect((err as BatchRejection).field).toBe('cursor');
  });

  test('the keys the catalog writes pass', () => {
    for (const [sort, key] of [
      ['display_price', '1299.5000'],
      ['display_price', 'Infinity'],
      ['display_price', '-Infinity'],
      ['stock', '-9223372036854775808'],
      ['stock', '12'],
      ['updated_at', '2026-12-02 14:30:00.123456+00'],
      ['updated_at', '2026-12-02 14:30:00+05:30'],
      ['name', '海尔 冰箱'],
    ] as const) {
      const c = encodeCursor({ sort, desc: false, key, code: 'GA0SZC00U' });
      expect(decodeCursor(c, sort, false).key).toBe(key);
    }
  });
});
