// The freshness sweep's pure parts: its pace (one cap split over prices and low stock), its
// credit, its prices-only and stock merges, and its environment variables.
import { create } from '@bufbuild/protobuf';
import { catalog, gateway } from '@haier-sync/contracts';
import { ConfigError } from '@haier-sync/runtime';
import { loadSyncConfig } from '../src/config';
import { callsNeeded, capCallsPerSecond, earn, MAX_STEP_CALLS, msUntilNextCall, paceRefreshMs, splitCap, STEP_CALLS_LIMIT, stepCallsFor, targetAgeMs } from '../src/freshness/pacing';
import { mergePrices, toStockInputs } from '../src/runs/merge';

describe('pace', () => {
  it('aims at 90% of the max age, refreshes its pace every 5 s (a tenth of a short max age), and spends what the deadlines need within its share', () => {
    expect(targetAgeMs(600_000)).toBe(540_000);
    expect(targetAgeMs(30_000)).toBe(27_000);
    expect([paceRefreshMs(600_000), paceRefreshMs(30_000)]).toEqual([5_000, 3_000]);
    expect(capCallsPerSecond(0.1, 100)).toBe(10);
    expect(capCallsPerSecond(0.01, 5)).toBe(0.1); // at least a call every 10 s
    // 50,000 prices re-checked within 540 s: 92.6 checks/s = 4.63 calls/s, under a cap of 10
    const [steady] = splitCap([callsNeeded(50_000 / 540, 1 / 20)], 10);
    expect(steady!.capped).toBe(false);
    expect(steady!.callsPerSecond).toBeCloseTo(4.63, 2);
    expect(splitCap([callsNeeded(5_000, 1 / 20)], 10)).toEqual([{ callsPerSecond: 10, capped: true }]);
  });

  it('splits the one cap over prices and low stock: each gets what it needs under the cap, in proportion to its need over it', () => {
    // 1,000 low-stock products in 2 counties within 810 s (15 min × 0.9): 2.47 calls/s, beside the prices' 4.63
    const prices = callsNeeded(50_000 / 540, 1 / 20);
    const stock = callsNeeded(1_000 / 810, 2);
    expect(stock).toBeCloseTo(2.47, 2);
    const both = splitCap([prices, stock], 10);
    expect(both.map((p) => p.capped)).toEqual([false, false]);
    expect(both[1]!.callsPerSecond).toBeCloseTo(2.47, 2);
    // over the cap (3 calls/s for 7.1 needed): both slowed alike, together exactly the cap
    const tight = splitCap([prices, stock], 3);
    expect(tight.map((p) => p.capped)).toEqual([true, true]);
    expect(tight[0]!.callsPerSecond + tight[1]!.callsPerSecond).toBeCloseTo(3, 9);
    expect(tight[0]!.callsPerSecond / tight[1]!.callsPerSecond).toBeCloseTo(prices / stock, 9);
    expect(splitCap([0, 0], 3)).toEqual([{ callsPerSecond: 0, capped: false }, { callsPerSecond: 0, capped: false }]);
  });

  it('earns whole calls by the rate, banks at most a step (a second of the rate, 10 to 50 calls), and says when the next call is due', () => {
    expect(earn(0, 4, 250)).toBe(1);
    expect(earn(0.5, 4, 100)).toBeCloseTo(0.9);
    expect(earn(0, 4, 60_000)).toBe(MAX_STEP_CALLS); // a pause or a slow gateway banks no burst
    expect([stepCallsFor(0.5), stepCallsFor(22.2), stepCallsFor(90)]).toEqual([10, 23, STEP_CALLS_LIMIT]);
    expect(STEP_CALLS_LIMIT).toBe(50);
    expect(earn(5, 22.2, 1_000)).toBe(23); // a slow step at 22 calls/s keeps what it earned meanwhile
    expect(earn(2, 4, -5)).toBe(2);
    expect(msUntilNextCall(1.2, 4)).toBe(0);
    expect(msUntilNextCall(0.5, 4)).toBe(125);
    expect(msUntilNextCall(0.5, 0)).toBeNull();
  });
});

describe('mergePrices', () => {
  it('makes a prices-only input per answered code (Haier price rules as in a run) and fails a code with an error or no record', () => {
    const prices = [
      create(gateway.PriceSchema, { productCode: 'A1', supplyPrice: '100.5', invoicePrice: '', stockRebatePolicy: '0.05', rebateMoney: '', rebateType: '', reason: '' }),
      create(gateway.PriceSchema, { productCode: 'C3', reason: '价格未生效', rebateType: 'COM' }),
    ];
    const errors = [create(gateway.ItemErrorSchema, { productCode: 'B2', reason: 'not procurable' })];
    const r = mergePrices(['A1', 'B2', 'C3', 'D4'], prices, errors);
    expect(r.inputs.map((i) => [i.productCode, i.pricesOnly, i.hasPrices, i.supplyPrice, i.invoicePrice, i.stockRebate, i.priceReason, i.rebateType])).toEqual([
      ['A1', true, true, '100.5', undefined, '0.05', undefined, undefined],
      ['C3', true, true, undefined, undefined, undefined, '价格未生效', 'COM'],
    ]);
    expect(r.inputs[0]).toBeInstanceOf(Object);
    expect(r.inputs[0]!.$typeName).toBe(catalog.ProductInputSchema.typeName);
    expect([...r.failures]).toEqual([
      ['B2', 'price: not procurable'],
      ['D4', 'price: Haier returned no price record for this code'],
    ]);
  });
});

describe('toStockInputs', () => {
  it("makes a stock input per answer with the best warehouse's details, as every stock write sends them", () => {
    const stocks = [
      create(gateway.StockSchema, { productCode: 'A1', countyCode: '110101', quantity: 3n, best: { secCode: 'WH1', warehouseGrade: '0', cutTime: '15:00', achieveUserOrderCut: '2026-12-04', hour: '24' } }),
      create(gateway.StockSchema, { productCode: 'B2', countyCode: '310104', quantity: 0n }),
    ];
    expect(toStockInputs(stocks).map((i) => [i.$typeName, i.productCode, i.countyCode, i.quantity, i.bestSecCode, i.bestWarehouseGrade, i.cutTime, i.achieveUserOrderCut, i.hour])).toEqual([
      [catalog.StockInputSchema.typeName, 'A1', '110101', 3n, 'WH1', '0', '15:00', '2026-12-04', '24'],
      [catalog.StockInputSchema.typeName, 'B2', '310104', 0n, '', '', '', '', ''],
    ]);
  });
});

describe('SYNC_LOW_STOCK_MAX_AGE', () => {
  it('is off by default, takes a duration like SYNC_PRICE_MAX_AGE, and refuses one under 10 s naming the variable', () => {
    expect(loadSyncConfig({}).SYNC_LOW_STOCK_MAX_AGE).toBeUndefined();
    expect(loadSyncConfig({ SYNC_LOW_STOCK_MAX_AGE: '15m' }).SYNC_LOW_STOCK_MAX_AGE).toBe(900_000);
    expect(loadSyncConfig({ SYNC_LOW_STOCK_MAX_AGE: 'off' }).SYNC_LOW_STOCK_MAX_AGE).toBeUndefined();
    expect(() => loadSyncConfig({ SYNC_LOW_STOCK_MAX_AGE: '5s' })).toThrow(/SYNC_LOW_STOCK_MAX_AGE/);
  });
});

describe('SYNC_PRICE_MAX_AGE and SYNC_PRICE_SWEEP_SHARE', () => {
  it('default to off and 10%; take durations, shares and percents; refuse what is not one, naming the variable', () => {
    const base = loadSyncConfig({});
    expect([base.SYNC_PRICE_MAX_AGE, base.SYNC_PRICE_SWEEP_SHARE]).toEqual([undefined, 0.1]);
    expect(loadSyncConfig({ SYNC_PRICE_MAX_AGE: '10m', SYNC_PRICE_SWEEP_SHARE: '5%' })).toMatchObject({ SYNC_PRICE_MAX_AGE: 600_000, SYNC_PRICE_SWEEP_SHARE: 0.05 });
    expect(loadSyncConfig({ SYNC_PRICE_MAX_AGE: 'off', SYNC_PRICE_SWEEP_SHARE: '0.25' })).toMatchObject({ SYNC_PRICE_MAX_AGE: undefined, SYNC_PRICE_SWEEP_SHARE: 0.25 });
    for (const [name, value] of [
      ['SYNC_PRICE_MAX_AGE', 'soon'],
      ['SYNC_PRICE_MAX_AGE', '5s'],
      ['SYNC_PRICE_SWEEP_SHARE', '0'],
      ['SYNC_PRICE_SWEEP_SHARE', '150%'],
      ['SYNC_PRICE_SWEEP_SHARE', 'half'],
    ] as const) {
      let err: unknown;
      try {
        loadSyncConfig({ [name]: value });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variables).toEqual([name]);
      expect((err as Error).message).toContain(name);
    }
  });
});
