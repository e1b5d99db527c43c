import { Catalog } from '../src/catalog';
import { codeBody, indexOfBody } from '../src/codes';
import { formatScaled, invoicePrice, parseDecimal, roundHalfUp } from '../src/price-math';
import { generateProduct } from '../src/generate';

describe('decimal', () => {
  it('rounds half up exactly, without floats', () => {
    expect(formatScaled(roundHalfUp(parseDecimal('1.005'), 2))).toBe('1.01');
    expect(formatScaled(roundHalfUp(parseDecimal('1.0049999'), 2))).toBe('1.00');
    expect(formatScaled(roundHalfUp(parseDecimal('-2.675'), 2))).toBe('-2.68');
    expect(formatScaled(roundHalfUp(parseDecimal('7'), 2))).toBe('7.00');
  });

  it('computes the invoice formula, treating a rebate type as rate 0', () => {
    expect(invoicePrice('1299.00', '0.03', '20')).toBe('1240.03'); // 1299 × 0.97 = 1260.03, − 20
    expect(invoicePrice('999.90', '0.025', '0')).toBe('974.90'); // 974.9025 → 974.90
    expect(invoicePrice('1000.10', '0.05', '0')).toBe('950.10'); // 950.095 → 950.10 (half up)
    expect(invoicePrice('1299.00', 'COM', '25.50')).toBe('1273.50');
    expect(invoicePrice('12345678901234.5678', '0', '0')).toBe('12345678901234.57');
  });

  it('refuses text that is not a decimal', () => {
    expect(() => parseDecimal('1e5')).toThrow(/not a plain decimal/);
    expect(() => parseDecimal('abc')).toThrow();
  });
});

describe('codes', () => {
  it('map an index to a 9-character Haier-looking code and back', () => {
    for (const i of [0, 1, 2, 4999, 123_456, 999_999, 5_000_000]) {
      const body = codeBody(42, i);
      expect(body).toMatch(/^[0-9A-Z]{7}$/);
      expect(indexOfBody(42, body)).toBe(i);
    }
    expect(codeBody(42, 7)).not.toBe(codeBody(43, 7));
  });
});

describe('catalog', () => {
  it('is deterministic: the same seed gives the same products, another seed others', () => {
    const a = new Catalog(42, 5000).products(0, 5000);
    const b = new Catalog(42, 5000).products(0, 5000);
    const c = new Catalog(7, 5000).products(0, 50);
    expect(b).toEqual(a);
    expect(c.map((p) => p.productCode)).not.toEqual(a.slice(0, 50).map((p) => p.productCode));
    expect(new Set(a.map((p) => p.productCode)).size).toBe(5000);
  });

  it('holds the invoice formula exactly for every product of a 5,000 catalog', () => {
    const products = new Catalog(42, 5000).products(0, 5000);
    let priced = 0;
    for (const p of products) {
      if (p.supplyPrice === undefined) {
        expect(p.invoicePrice).toBeUndefined();
        expect(p.reason === '价格未生效' || p.reason === '商品暂不可采').toBe(true);
        continue;
      }
      priced++;
      // independent check in integer arithmetic: supply and rebate in cents, rate in 1/1000
      const supplyCents = BigInt(p.supplyPrice.replace('.', ''));
      const rate = /^\d/.test(p.stockRebatePolicy) ? parseDecimal(p.stockRebatePolicy) : { units: 0n, scale: 3 };
      const rateMille = rate.units * 10n ** BigInt(3 - rate.scale);
      const rebateCents = parseDecimal(p.rebateMoney).units * 10n ** BigInt(2 - parseDecimal(p.rebateMoney).scale);
      const exactTimes1000 = supplyCents * (1000n - rateMille) - rebateCents * 1000n; // cents × 1000
      const rounded = (exactTimes1000 + 500n) / 1000n; // non-negative, so this is half up
      expect(p.invoicePrice).toBe(formatScaled({ units: rounded, scale: 2 }));
    }
    expect(priced).toBeGreaterThan(4500);
  });

  it('has the shares the brief asks for: names ~70%, not procurable 3-5%, quirks, rebate types, missing prices', () => {
    const products = new Catalog(42, 5000).products(0, 5000);
    const share = (f: (p: (typeof products)[number]) => boolean) => products.filter(f).length / products.length;
    expect(share((p) => p.productName !== undefined)).toBeGreaterThan(0.65);
    expect(share((p) => p.productName !== undefined)).toBeLessThan(0.75);
    expect(share((p) => p.isSales === '0')).toBeGreaterThan(0.03);
    expect(share((p) => p.isSales === '0')).toBeLessThan(0.05);
    expect(products.filter((p) => p.isSales === '0').every((p) => p.noSalesReason && p.reason === '商品暂不可采')).toBe(true);
    expect(share((p) => p.quirks.isSalesAsNumber)).toBeGreaterThan(0.05);
    expect(share((p) => p.quirks.decimalsAsStrings)).toBeGreaterThan(0.05);
    expect(share((p) => /^[A-Z]+$/.test(p.stockRebatePolicy))).toBeGreaterThan(0.02);
    expect(share((p) => p.reason === '价格未生效')).toBeGreaterThan(0.005);
    expect(share((p) => p.marketPrice !== undefined)).toBeGreaterThan(0.3);
    expect(new Set(products.map((p) => p.productGroupNamd)).size).toBeGreaterThanOrEqual(11);
    expect(new Set(products.map((p) => p.productBrandName))).toEqual(new Set(['海尔', '卡萨帝', '统帅', 'Leader', 'GE']));
    expect(products.every((p) => /^[A-Z]{2}[0-9A-Z]{7}$/.test(p.productCode))).toBe(true);
  });

  it('finds a product by code in O(1) and tells unknown and delisted codes apart', () => {
    const cat = new Catalog(42, 1000);
    const p = generateProduct(42, 500);
    expect(cat.lookup(p.productCode)).toEqual({ product: expect.objectContaining({ index: 500 }) });
    expect(cat.lookup(generateProduct(42, 1000).productCode)).toEqual({ missing: '商品编码不存在' }); // beyond size
    expect(cat.lookup('ZZ0000000')).toEqual({ missing: '商品编码不存在' });
    const { delisted } = cat.mutate({ delistShare: 0.01, seed: 1 });
    expect(delisted).toHaveLength(10);
    expect(cat.lookup(delisted[0]!)).toEqual({ missing: '商品已下市' });
    expect(cat.listedCount()).toBe(990);
  });

  it('lists in order, skipping delisted products, from any offset', () => {
    const cat = new Catalog(42, 300);
    const { delisted, added } = cat.mutate({ delistShare: 0.1, addCount: 5, seed: 3 });
    const all = cat.products(0, 10_000).map((p) => p.productCode);
    expect(all).toHaveLength(300 - 30 + 5);
    for (const code of delisted) expect(all).not.toContain(code);
    expect(all.slice(-5)).toEqual(added);
    for (const offset of [0, 1, 17, 100, 270, 274]) expect(cat.products(offset, 3).map((p) => p.productCode)).toEqual(all.slice(offset, offset + 3));
  });

  it('changes exactly the requested share of prices, each visibly', () => {
    const cat = new Catalog(42, 2000);
    const before = new Map(cat.products(0, 2000).map((p) => [p.productCode, p]));
    const { priceChanged } = cat.mutate({ priceChangeShare: 0.05, seed: 9 });
    expect(priceChanged).toHaveLength(100);
    const changed = new Set(priceChanged);
    for (const p of cat.products(0, 2000)) {
      const old = before.get(p.productCode)!;
      if (changed.has(p.productCode)) {
        expect(p.supplyPrice).not.toBe(old.supplyPrice);
        expect(p.invoicePrice).toBe(invoicePrice(p.supplyPrice!, p.stockRebatePolicy, p.rebateMoney));
      } else expect(p).toEqual(old);
    }
  });

  it('moves stock for the chosen products only', () => {
    const cat = new Catalog(42, 500);
    const today = new Date(Date.UTC(2025, 6, 1));
    const county = '110101';
    const before = cat.products(0, 500).map((p) => cat.stock(p.productCode, county, today));
    const { stockMoved } = cat.mutate({ stockMoveShare: 0.2, seed: 4 });
    expect(stockMoved).toHaveLength(100);
    const moved = new Set(stockMoved);
    cat.products(0, 500).forEach((p, i) => {
      const now = cat.stock(p.productCode, county, today);
      if (!moved.has(p.productCode) || now.length === 0) expect(now).toEqual(before[i]);
      else expect(now.map((w) => w.stock)).not.toEqual(before[i]!.map((w) => w.stock));
    });
  });

  it('moveStock moves one product\'s stock in every county by 37 a warehouse, and refuses an unknown code', () => {
    const cat = new Catalog(42, 100);
    const today = new Date(Date.UTC(2025, 6, 1));
    const [code, other] = cat
      .products(0, 100)
      .map((p) => p.productCode)
      .filter((c) => cat.stock(c, '110101', today).length > 0 && cat.stock(c, '310104', today).length > 0);
    const before = ['110101', '310104'].map((county) => cat.stock(code!, county, today).map((w) => Number(w.stock)));
    const untouched = cat.stock(other!, '110101', today);
    cat.moveStock(code!);
    const after = ['110101', '310104'].map((county) => cat.stock(code!, county, today).map((w) => Number(w.stock)));
    expect(after).toEqual(before.map((ws) => ws.map((q) => (q + 37) % 301)));
    expect(cat.stock(other!, '110101', today)).toEqual(untouched);
    expect(() => cat.moveStock('NOPE')).toThrow(/no product NOPE/);
  });

  it('writes setPrice values verbatim and recomputes the invoice price', () => {
    const cat = new Catalog(42, 100);
    const code = cat.products(10, 1)[0]!.productCode;
    cat.setPrice(code, { supplyPrice: '12345678901234.5678', stockRebatePolicy: '0', rebateMoney: '0' });
    expect(cat.productByCode(code)).toMatchObject({ supplyPrice: '12345678901234.5678', invoicePrice: '12345678901234.57' });
    cat.setPrice(code, { invoicePrice: '1.23' });
    expect(cat.productByCode(code)?.invoicePrice).toBe('1.23');
    expect(() => cat.setPrice(code, { supplyPrice: '12,5' })).toThrow(/decimal text/);
    expect(() => cat.setPrice('NOPE', { supplyPrice: '1' })).toThrow(/no product NOPE/);
  });
});
