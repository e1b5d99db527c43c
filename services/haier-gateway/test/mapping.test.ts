import { parse, LosslessNumber } from 'lossless-json';
import { mapBalances, mapLogistics, mapPrice, mapProduct, mapStock, matchBatch, MalformedRecord, toJsonValue } from '../src/mapping';
import { plainDecimal, parseWholeNumber } from '../src/haier-numbers';

const n = (t: string) => new LosslessNumber(t);

describe('decimals', () => {
  it('keeps a number token or a string verbatim and writes exponents out exactly', () => {
    expect(plainDecimal('12345678901234.5678')).toBe('12345678901234.5678');
    expect(plainDecimal(' +0.030 ')).toBe('0.030');
    expect(plainDecimal('1E+3')).toBe('1000');
    expect(plainDecimal('1.25e-3')).toBe('0.00125');
    expect(plainDecimal('-12.5E1')).toBe('-125');
    expect(plainDecimal('abc')).toBeUndefined();
    expect(plainDecimal('1.2.3')).toBeUndefined();
    expect(plainDecimal('')).toBeUndefined();
  });
  it('reads whole numbers for stock', () => {
    expect(parseWholeNumber('30')).toBe(30n);
    expect(parseWholeNumber('30.000')).toBe(30n);
    expect(parseWholeNumber('30.5')).toBeUndefined();
    expect(parseWholeNumber('many')).toBeUndefined();
  });
});

describe('mapProduct', () => {
  const good = {
    productCode: 'GA0SZC00U',
    productModel: 'EC6001-HT3',
    productGroupNamd: '电热水器',
    productBrandName: '海尔',
    productImageUrl: 'https://img.example/1.jpg',
    productLageUrls: ['https://img.example/a.jpg', 'https://img.example/b.jpg'],
    isSales: '1',
    noSalesReason: '',
  };
  it('maps every field, with the sic names', () => {
    const m = mapProduct(good);
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.value.productCode).toBe('GA0SZC00U');
    expect(m.value.productGroupName).toBe('电热水器');
    expect(m.value.productPageUrls).toEqual(good.productLageUrls);
    expect(m.value.productName).toBe('');
    expect(m.value.isSales).toBe(true);
  });
  it('accepts isSales as a number token, 0 and 1', () => {
    const one = mapProduct({ ...good, isSales: n('1') });
    const zero = mapProduct({ ...good, isSales: n('0'), noSalesReason: '商品已下市', productName: 'X' });
    expect(one.ok && one.value.isSales).toBe(true);
    expect(zero.ok && !zero.value.isSales && zero.value.noSalesReason === '商品已下市' && zero.value.productName === 'X').toBe(true);
  });
  it('reports malformed records with their code and reason', () => {
    const bad = [
      [{ ...good, isSales: 'x' }, /isSales/],
      [{ ...good, isSales: undefined }, /isSales is missing/],
      [{ ...good, productLageUrls: 'https://one' }, /productLageUrls .* expected a list/],
      [{ ...good, productLageUrls: [n('3')] }, /productLageUrls\[0\]/],
      [{ ...good, productModel: { a: 1 } }, /productModel/],
    ] as const;
    for (const [rec, reason] of bad) {
      const m = mapProduct(rec);
      expect(m.ok).toBe(false);
      if (m.ok) continue;
      expect(m.error.productCode).toBe('GA0SZC00U');
      expect(m.error.reason).toMatch(reason);
    }
    const noCode = mapProduct({ ...good, productCode: undefined });
    expect(!noCode.ok && noCode.error.reason).toBe('record has no productCode');
    expect(mapProduct('text').ok).toBe(false);
  });
});

describe('mapPrice', () => {
  it('keeps decimals exact from a lossless parse', () => {
    const raw = parse('{"productCode":"A1","supplyPrice":12345678901234.5678,"invoicePrice":"99.10","stockRebatePolicy":0.03,"rebateMoney":5,"isSales":1,"marketPrice":1E+3}');
    const m = mapPrice(raw);
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.value.supplyPrice).toBe('12345678901234.5678');
    expect(m.value.invoicePrice).toBe('99.10');
    expect(m.value.marketPrice).toBe('1000');
    expect(m.value.stockRebatePolicy).toBe('0.03');
    expect(m.value.rebateMoney).toBe('5');
    expect(m.value.rebateType).toBe('');
    expect(m.value.isSales).toBe(true);
  });
  it('leaves absent prices unset, defaults rebates to "0", reads a rebate type', () => {
    const m = mapPrice({ productCode: 'A2', isSales: '0', reason: '价格未生效', stockRebatePolicy: 'FHQ' });
    expect(m.ok).toBe(true);
    if (!m.ok) return;
    expect(m.value.supplyPrice).toBeUndefined();
    expect(m.value.invoicePrice).toBeUndefined();
    expect(m.value.stockRebatePolicy).toBe('0');
    expect(m.value.rebateType).toBe('FHQ');
    expect(m.value.rebateMoney).toBe('0');
    expect(m.value.reason).toBe('价格未生效');
  });
  it('rejects a non-numeric price as malformed', () => {
    const m = mapPrice({ productCode: 'A3', supplyPrice: 'abc', isSales: '1' });
    expect(!m.ok && m.error.productCode).toBe('A3');
    expect(!m.ok && m.error.reason).toMatch(/supplyPrice is "abc"/);
    const m2 = mapPrice({ productCode: 'A4', rebateMoney: true, isSales: '1' });
    expect(m2.ok).toBe(false);
  });
});

describe('matchBatch', () => {
  it('answers in the requested order and reports missing and malformed codes', () => {
    const records = [
      { productCode: 'C', isSales: '1' },
      { productCode: 'A', isSales: '1' },
      { productCode: 'B', isSales: 'maybe' },
      { productCode: 'Z', isSales: '1' },
    ];
    const r = matchBatch(['A', 'B', 'C', 'D'], records, mapProduct);
    expect(r.items.map((p) => p.productCode)).toEqual(['A', 'C']);
    expect(r.errors.map((e) => [e.productCode, e.reason.slice(0, 14)])).toEqual([
      ['B', 'malformed reco'],
      ['D', 'Haier returned'],
    ]);
    expect(r.errors[1]!.reason).toBe('Haier returned no record for this code');
  });
});

describe('mapStock', () => {
  it('sums warehouses, picks the best, reads isTranfer', () => {
    const s = mapStock('P1', '110101', [
      { secCode: 'HFR2', stock: '30', warehouseGrade: '0', timelinessData: { cutTime: '16:00', achieveUserOrderCut: '2026-01-02', hour: '24', isTranfer: '0' } },
      { secCode: 'HFR9', stock: '45', warehouseGrade: '1', timelinessData: { cutTime: '15:00', achieveUserOrderCut: '2026-01-03', hour: n('48'), isTranfer: '1' } },
      { secCode: 'HFR3', stock: n('45'), warehouseGrade: '0' },
    ]);
    expect(s.quantity).toBe(120n);
    expect(s.best?.secCode).toBe('HFR9');
    expect(s.best?.isTransfer).toBe(true);
    expect(s.best?.hour).toBe('48');
    expect(s.warehouses).toHaveLength(3);
    expect(mapStock('P1', '110101', []).best).toBeUndefined();
    expect(mapStock('P1', '110101', null).quantity).toBe(0n);
  });
  it('rejects a non-numeric stock', () => {
    expect(() => mapStock('P1', '110101', [{ secCode: 'X', stock: 'lots' }])).toThrow(MalformedRecord);
    expect(() => mapStock('P1', '110101', { stock: '3' })).toThrow(/expected a list of warehouses/);
  });
});

describe('balances and logistics', () => {
  it('maps balances with exact decimals', () => {
    const b = mapBalances(parse('[{"saleGroupCode":"S1","saleGroupName":"华北","payerAccountCode":"P","payerAccountName":"N","payerAccountBalance":1234567890.12}]'));
    expect(b[0]!.payerAccountBalance).toBe('1234567890.12');
    expect(() => mapBalances([{ payerAccountBalance: 'x' }])).toThrow(MalformedRecord);
  });
  it('maps the three logistics lists to JSON objects', () => {
    const l = mapLogistics(parse('{"getAllLogisticsInfoByOrderCode":[{"step":1,"big":12345678901234567890}],"getStockDeliveryLogisticsRecord":[],"getStockDeliveryLogisticsRecordThirdparty":null}'));
    expect(l.allLogisticsInfo).toEqual([{ step: 1, big: '12345678901234567890' }]);
    expect(l.thirdPartyRecords).toEqual([]);
    expect(toJsonValue(n('0.1'))).toBe(0.1);
  });
});
